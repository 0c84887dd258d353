"""Errors that pzmpi reports to the operator rather than as a traceback."""


class ConfigError(ValueError):
    """A configuration problem: the message names the key and the file."""


class InputFileError(RuntimeError):
    """A problem with one input file: it names the file (and the column) and sinks only that file."""

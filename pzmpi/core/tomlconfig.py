"""TOML configuration files checked against a declared schema, with errors that name the key and the file.

Every command's configuration (a photo-z run, a skinny table, a training set,
a publication) declares each key once, with its types, default and one line of
documentation; ``validate_sections`` reports an unknown key, a wrong type or a
missing required key with its full name (``estimator.nzbins``) and the file it
came from. This module imports no numpy, numba or MPI, so that a command can
read its configuration and pin thread counts before those libraries load.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pzmpi.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

NUMBER = (int, float)


@dataclass(frozen=True)
class Key:
    """One configuration key: accepted Python types, default, and its documentation line.

    A list key holds non-empty names (paths, bands, columns), or numbers when ``numbers`` is set.
    """

    types: tuple[type, ...]
    default: Any
    doc: str
    required: bool = False
    numbers: bool = False


def read_toml(path: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Parse a TOML configuration file and apply ``section.key=value`` overrides to it."""
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    for override in overrides or []:
        _apply_override(raw, override, path)
    return raw


def validate_sections(raw: dict[str, Any], schema: dict[str, dict[str, Key]], source: str) -> dict[str, dict[str, Any]]:
    """Check a parsed TOML document against ``schema``; return every key's value, defaults filled in.

    Unknown sections and keys, wrong types and missing required keys raise a
    ``ConfigError`` naming the key (``section.key``) and ``source``.
    """
    for section in raw:
        if section not in schema:
            raise ConfigError(f"{source}: unknown section [{section}] (known: {', '.join(schema)})")
    values: dict[str, dict[str, Any]] = {}
    for section, keys in schema.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{source}: '{section}' must be a table [{section}]")
        for key in given:
            if key not in keys:
                raise ConfigError(f"{source}: unknown key '{section}.{key}' (known: {', '.join(keys)})")
        values[section] = {}
        for key, spec in keys.items():
            full = f"{section}.{key}"
            if key not in given:
                if spec.required:
                    raise ConfigError(f"{source}: missing required key '{full}' ({spec.doc})")
                values[section][key] = _copy_default(spec.default)
                continue
            value = given[key]
            if isinstance(value, bool) and bool not in spec.types:
                raise ConfigError(f"{source}: '{full}' must be {_type_names(spec)}, got a boolean")
            if not isinstance(value, spec.types):
                raise ConfigError(f"{source}: '{full}' must be {_type_names(spec)}, got {type(value).__name__} {value!r}")
            if isinstance(value, list):
                for position, item in enumerate(value, start=1):
                    if spec.numbers and (isinstance(item, bool) or not isinstance(item, NUMBER)):
                        raise ConfigError(f"{source}: '{full}' entry {position} must be a number, "
                                          f"got {type(item).__name__} {item!r}")
                    if not spec.numbers and (not isinstance(item, str) or not item):
                        raise ConfigError(f"{source}: '{full}' entry {position} must be a non-empty string, "
                                          f"got {type(item).__name__} {item!r}")
                if spec.numbers:
                    value = [float(item) for item in value]
            values[section][key] = float(value) if spec.types == NUMBER else value
    return values


def resolve_path(base_dir: Path, value: str) -> str:
    """An absolute path for ``value``, read relative to ``base_dir`` (the configuration's folder); '' stays ''."""
    return os.path.normpath(base_dir / value) if value and not os.path.isabs(value) else value


def require_file(path: str, key: str, source: str) -> None:
    """Raise a ConfigError naming ``key`` when the file it points to does not exist."""
    if not path:
        raise ConfigError(f"{source}: '{key}' is not set")
    if not Path(path).is_file():
        raise ConfigError(f"{source}: '{key}' points to a missing file: {path}")


def require_dir(path: str, key: str, source: str) -> None:
    """Raise a ConfigError naming ``key`` when the folder it points to does not exist."""
    if not path:
        raise ConfigError(f"{source}: '{key}' is not set")
    if not Path(path).is_dir():
        raise ConfigError(f"{source}: '{key}' points to a missing folder: {path}")


def _apply_override(raw: dict[str, Any], override: str, source: Path) -> None:
    if "=" not in override or "." not in override.split("=", 1)[0]:
        raise ConfigError(f"override {override!r} must look like section.key=value")
    dotted, text = override.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text  # a bare word is taken as a string
    table = raw.setdefault(section, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: '{section}' must be a table to override {dotted}")
    table[key] = value


def _copy_default(value: Any) -> Any:
    return value.copy() if isinstance(value, (dict, list)) else value


def _type_names(spec: Key) -> str:
    if spec.types == NUMBER:
        return "a number"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list", dict: "a table"}
    return " or ".join(dict.fromkeys(names[t] for t in spec.types))


def dump_toml(raw: dict[str, Any]) -> str:
    """Serialise a (possibly overridden) configuration back to TOML, deterministically."""
    lines: list[str] = []

    def emit(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append(f"[{prefix}]")
        for key in sorted(scalars):
            lines.append(f"{_toml_key(key)} = {_toml_value(scalars[key])}")
        for key in sorted(tables):
            emit(f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key), tables[key])

    emit("", raw)
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value else "nan"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(value.items())) + "}"
    raise ConfigError(f"cannot write {value!r} as TOML")


def _toml_key(key: str) -> str:
    """A bare key when TOML allows it, else a quoted one (``"lephare.Z_STEP"`` must not become a table)."""
    return key if key and all(c.isalnum() or c in "_-" for c in key) else _toml_value(key)

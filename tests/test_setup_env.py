"""bin/setup-env, sourced in a user's interactive shell, leaves the shell's options as they were: a failing
command afterwards does not close the shell, and a failing set-up returns an error instead of exiting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SETUP = Path(__file__).resolve().parent.parent / "bin" / "setup-env"


def interactive_bash(lines: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """An interactive bash (no rc files) fed ``lines`` on its standard input."""
    script = "\n".join(lines + ["echo shell-still-open", "exit 0"]) + "\n"
    return subprocess.run(["bash", "--norc", "--noprofile", "-i"], input=script, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def test_sourcing_leaves_the_callers_shell_options_as_they_were():
    venv = str(Path(sys.prefix))  # the environment running these tests: nothing to install
    result = interactive_bash([f"source {SETUP}", "echo sourced:$?", "false", "echo after-false:$?",
                               "echo options:$-", "set -o | grep -E '^(errexit|nounset|pipefail) '",
                               "command -v pzmpi"], PZMPI_VENV=venv)
    out = result.stdout
    assert "sourced:0" in out and "after-false:1" in out and "shell-still-open" in out, result.stderr
    options = next(line for line in out.splitlines() if line.startswith("options:"))
    assert "e" not in options.removeprefix("options:") and "u" not in options.removeprefix("options:")
    assert all(line.split()[-1] == "off" for line in out.splitlines()
               if line.split()[:1] in (["errexit"], ["nounset"], ["pipefail"]))
    assert f"{venv}/bin/pzmpi" in out


def test_a_failed_set_up_returns_an_error_and_leaves_the_shell_open(tmp_path):
    result = interactive_bash([f"source {SETUP}", "echo sourced:$?"], PZMPI_VENV=str(tmp_path / "venv"),
                              PYTHON="false")
    assert "sourced:1" in result.stdout and "shell-still-open" in result.stdout
    assert "setting up" in result.stderr and "failed" in result.stderr

"""Atomic files: a file with its final name is always whole.

Everything pzmpi writes (pieces, skinny tables, manifests, the release record,
plans, profiles, reports) is written under a temporary name, flushed to storage
and only then renamed, so that a crash or a walltime kill never leaves a file
that looks finished and is not.
"""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".inprogress"


def temp_path_of(final: Path) -> Path:
    """Where ``final`` is written before it is whole."""
    return final.with_name(final.name + TEMP_SUFFIX)


def replace_durably(temp: Path, final: Path) -> None:
    """Flush ``temp`` to storage, then give it ``final``'s name.

    Without the flush a node crash soon after the rename can leave a file with
    the final name and lost blocks, which a re-run would then keep as finished.
    """
    descriptor = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temp, final)


def write_bytes_atomically(path: Path, content: bytes | memoryview) -> None:
    """Replace ``path`` with ``content``: readers see the old file or the new one, never half of one."""
    temp = temp_path_of(path)
    try:
        with open(temp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in UTF-8, as ``write_bytes_atomically``."""
    write_bytes_atomically(path, text.encode())

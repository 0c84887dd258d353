"""sha256 of files: whole, or a catalog file beside its decoding so that its bytes cross the file system once.

``pzmpi verify`` must checksum every byte of a file and decode every row group.
Hashing the whole file first and decoding it afterwards reads it from storage
twice whenever the file is larger than what the node's page cache keeps per
rank (DP0.2's tract files, dozens of ranks per node). Row groups lie in file
order, so verify hashes each row group's bytes just after decoding it, while
they are still in the page cache, and the footer at the end.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from types import TracebackType

BLOCK = 1 << 22


class SequentialHasher:
    """sha256 of one file, fed front to back in as many steps as the caller likes.

    A read error does not raise: it is kept in ``error`` and the digest is then None,
    so that the decoding beside it goes on and reports its own findings.
    """

    def __init__(self, path: str | Path) -> None:
        self._descriptor = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self._descriptor).st_size
        self._digest = hashlib.sha256()
        self.hashed = 0  # bytes [0, hashed) are in the digest
        self.seconds = 0.0
        self.error: OSError | None = None

    def hash_up_to(self, stop: int) -> None:
        """Add the bytes up to offset ``stop`` (clamped to the file) to the digest."""
        start = time.perf_counter()
        stop = min(stop, self.size)
        try:
            while self.hashed < stop and self.error is None:
                block = os.pread(self._descriptor, min(BLOCK, stop - self.hashed), self.hashed)
                if not block:
                    raise OSError(f"the file shrank to {self.hashed} bytes while it was read")
                self._digest.update(block)
                self.hashed += len(block)
        except OSError as error:
            self.error = error
        self.seconds += time.perf_counter() - start

    def hexdigest(self) -> str | None:
        """The sha256 of the whole file, or None when it could not all be read."""
        self.hash_up_to(self.size)
        return None if self.error else self._digest.hexdigest()

    def close(self) -> None:
        os.close(self._descriptor)

    def __enter__(self) -> SequentialHasher:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def sha256_of_file(path: str | Path) -> str:
    """The sha256 of a whole file; an unreadable file raises its OSError."""
    with SequentialHasher(path) as hasher:
        digest = hasher.hexdigest()
    if hasher.error is not None:
        raise hasher.error
    return digest

"""Process settings for long streaming runs: the C allocator and Python's garbage collector.

Every chunk allocates and frees arrays of megabytes. With glibc's defaults,
memory freed at the top of the heap beyond 128 KiB is handed back to the
kernel and every new array is faulted in and zeroed again, page by page.
``keep_freed_memory`` keeps up to TRIM_BYTES freed and serves arrays below
MMAP_BYTES from the heap, which bounds what a rank holds beyond its live data
by TRIM_BYTES. With both settings a skinny rank ran 1.0 to 1.1 times faster
(``bench/bench_skinny.py`` prints its rate with and without them).

``freeze_startup_objects`` moves the hundreds of thousands of objects that
imports create (numba, pyarrow, numpy) out of the collector's reach, so that
collections triggered by each chunk's small objects stop walking them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
TRIM_BYTES = 128 << 20
MMAP_BYTES = 32 << 20  # glibc's own ceiling for its adaptive threshold


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above; False (and nothing changed) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))


def freeze_startup_objects() -> None:
    """Collect once, then exempt every object alive now from later collections (they are never freed anyway)."""
    gc.collect()
    gc.freeze()


def settle_process() -> None:
    """Both settings; the commands call it once their modules are imported, before the first chunk."""
    keep_freed_memory()
    freeze_startup_objects()

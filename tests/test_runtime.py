"""pzmpi.core.runtime: the process settings every command applies before its first chunk take effect."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

PROBE = """
import gc, json
import numpy, pyarrow, numba  # what a rank has imported by its first chunk
from pzmpi.core import runtime
kept = runtime.keep_freed_memory()
runtime.freeze_startup_objects()
print(json.dumps({"kept": kept, "frozen": gc.get_freeze_count()}))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_allocator_keeps_freed_memory_and_startup_objects_leave_the_collector():
    """In a child process, so that pytest's own objects are not frozen."""
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    outcome = json.loads(result.stdout)
    assert outcome["kept"] is True
    assert outcome["frozen"] > 50_000  # the objects those imports made

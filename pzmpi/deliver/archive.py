"""The full-PDF archive of a package: each run piece again, in qp's layout, at a fraction of its size.

The PDFs keep 10 of float32's 23 mantissa bits (a relative error below 4.9e-4
of each value, far inside the fidelity targets that the compact PDF already
meets with 1/510 of the peak). They, and the ids and point estimates beside
them, are stored with HDF5's shuffle and gzip filters, which every HDF5 reader
has; ``qp.read`` opens each file as it opens a run's piece. The bytes an
object each code takes, and the fidelity, are measured by
``bench/compact_pdfs.py`` (docs/package.md).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from pzmpi.core.files import replace_durably, temp_path_of
from pzmpi.deliver.photoz_columns import trim_mantissa

ARCHIVE_MANTISSA_BITS = 10
GZIP_LEVEL = 4  # level 9 saved under 3% more on these PDFs, at twice the time
ROWS_PER_CHUNK = 4096


def archive_piece(source: Path, target: Path) -> int:
    """Write ``source`` (a run piece) as an archive piece at ``target``; returns its row count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_of(target)
    with h5py.File(source, "r") as inp, h5py.File(temp, "w") as out:
        for name in inp["meta"]:
            out.create_dataset(f"meta/{name}", data=inp["meta"][name][()], track_times=False)
        pdfs = inp["data/yvals"]
        rows, points = pdfs.shape
        layout = dict(chunks=(min(max(rows, 1), ROWS_PER_CHUNK), points), compression="gzip",
                      compression_opts=GZIP_LEVEL, shuffle=True) if rows else {}
        stored = out.create_dataset("data/yvals", shape=pdfs.shape, dtype=np.float32, track_times=False, **layout)
        for start in range(0, rows, ROWS_PER_CHUNK):
            stop = min(rows, start + ROWS_PER_CHUNK)
            stored[start:stop] = trim_mantissa(pdfs[start:stop].astype(np.float32), ARCHIVE_MANTISSA_BITS)
        for name in inp["ancil"]:
            values = inp["ancil"][name][()]
            filters = dict(compression="gzip", compression_opts=GZIP_LEVEL, shuffle=True) if rows else {}
            out.create_dataset(f"ancil/{name}", data=values, track_times=False, **filters)
        for key, value in inp.attrs.items():
            out.attrs[key] = value
        out.attrs["archive"] = f"PDFs with {ARCHIVE_MANTISSA_BITS} mantissa bits, gzip {GZIP_LEVEL} and shuffle"
    replace_durably(temp, target)
    return rows

"""Memory of verify's duplicate-id check per row, on one rank: peak bytes traced by tracemalloc.

    python bench/verify_duplicate_memory.py [--rows 4000000] [--files 16]

The check's inputs (12 bytes a row: int64 id, int32 file index) are made first;
then the peak of everything ``distributed_duplicates`` allocates on top of them
(exchange, sort, analysis) is printed per row, along with the inputs' own share.
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np

from pzmpi.acquire.verify import duplicates
from pzmpi.core import mpi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--files", type=int, default=16)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    per_file = args.rows // args.files
    tracemalloc.start()
    id_parts = [rng.permutation(per_file).astype(np.int64) + f * per_file for f in range(args.files)]
    id_parts[1][:1000] = id_parts[0][:1000]  # some duplicates across files, as a real check finds
    file_parts = [np.full(per_file, f, dtype=np.int32) for f in range(args.files)]
    inputs, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    comm = mpi.world().Dup()
    summary, _ = duplicates.distributed_duplicates(comm, id_parts, file_parts, args.files)
    _, peak = tracemalloc.get_traced_memory()
    comm.Free()
    rows = per_file * args.files
    print(f"{rows:,} rows, {summary['across_files']:,} ids in two files; inputs {inputs / rows:.1f} bytes/row; "
          f"peak during the check {peak / rows:.1f} bytes/row (inputs included, freed as they are taken)")


if __name__ == "__main__":
    main()

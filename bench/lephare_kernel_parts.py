"""What bounds native LePHARE's gridded fit: its two vectorised passes timed apart, per object.

    python bench/lephare_kernel_parts.py [--library full|minimal] [--objects 256]

Reads the library and the DC2 objects that ``bench/lephare_realistic.py`` prepared (run it
first with the same ``--library``), pinned to one core, and times on the same objects:

* the analytic chi2 pass alone (``_table_chi2`` over every block of rows, in the fit's blocks of objects);
* that pass and the PDF's sums (``_add_to_pdf``), the PDF pass being the difference;
* the whole fit (``fit_chunk_on_grid``): the rest is LePHARE's exact arithmetic near each
  decision, the stars, the source preparation and the bookkeeping.

Each time is the best of 5. Prints milliseconds per object and nanoseconds per model.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import h5py
import numba
import numpy as np
from common import LEPHARE_DATA

from pzmpi.estimators.native import lephare_gridded as gridded
from pzmpi.estimators.native.lephare_exact import GALAXY, QSO, source_scratch


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _passes(mags, errors, models, rules, tables, with_pdf):  # pragma: no cover - compiled
    """The gridded fit's analytic pass over every table row (and its PDF sums when ``with_pdf``), in the fit's
    blocks of objects and rows, without the decisions; returns a checksum so that nothing is optimised away."""
    n_objects, n_bands = mags.shape
    n_grid = models.pdf_grid.size
    block = gridded.OBJECT_BLOCK
    rows_per_block = max(1, gridded.BLOCK_MODELS // n_grid)
    values = np.empty(rows_per_block * n_grid)
    block_minimum = np.empty(n_grid)
    flux, error, used, terms = source_scratch(block, n_bands)
    total = np.empty(block)
    minimum = np.empty((block, 2, n_grid))
    pdf = np.zeros((block, n_grid))
    checksum = 0.0
    for first in range(0, n_objects, block):
        count = min(block, n_objects - first)
        for o in range(count):
            total[o] = gridded.source_terms(mags[first + o], errors[first + o], rules, flux[o], error[o], used[o],
                                            terms[o])
        minimum[:] = np.inf
        for t in (GALAXY, QSO):
            for top in range(0, tables.rows[t], rows_per_block):
                rows = min(tables.rows[t], top + rows_per_block) - top
                begin = tables.first_model[t] + top * n_grid
                for o in range(count):
                    block_minimum[:] = minimum[o, t]
                    gridded._table_chi2(terms[o], total[o], models, begin, rows, rules.limits_on[t], None, None,
                                        values, block_minimum)
                    if with_pdf and t == GALAXY:
                        gridded._add_to_pdf(values, rows, minimum[o, t], block_minimum, pdf[o])
                    minimum[o, t] = block_minimum
        checksum += minimum[:count, GALAXY].min() + pdf.sum()
    return checksum


def best_of(runs: int, work) -> float:
    """The shortest of ``runs`` timings of ``work()``, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", choices=("full", "minimal"), default="full")
    parser.add_argument("--objects", type=int, default=256)
    args = parser.parse_args()
    work = Path(__file__).parent / "results" / f"lephare-{args.library}"
    if not (work / "run-native.toml").is_file():
        raise SystemExit(f"{work}: no prepared library; run 'python bench/lephare_realistic.py --library "
                         f"{args.library}' first")
    os.sched_setaffinity(0, {0})  # one core, as the other benchmarks
    os.environ["LEPHAREDIR"] = str(LEPHARE_DATA)
    from pzmpi.estimators.config import load_config
    from pzmpi.estimators.native.lephare import NativeLephare

    native = NativeLephare(load_config(work / "run-native.toml"))
    if native.tables is None:
        raise SystemExit("the library is not fitted as tables on the grid: nothing to take apart")
    with h5py.File(work / "rail_input.hdf5") as handle:
        mags = np.column_stack([handle[f"photometry/mag_{b}_lsst"][:args.objects] for b in "ugrizy"])
        errors = np.column_stack([handle[f"photometry/mag_err_{b}_lsst"][:args.objects] for b in "ugrizy"])
    mags, errors = mags.astype(np.float64), errors.astype(np.float64)
    models, rules, tables = native.models, native.rules, native.tables
    n = mags.shape[0]
    table_models = int(tables.rows.sum()) * models.pdf_grid.size
    for with_pdf in (False, True):  # compile first
        _passes(mags[:1], errors[:1], models, rules, tables, with_pdf)
    native._run(mags[:1], errors[:1])
    analytic = best_of(5, lambda: _passes(mags, errors, models, rules, tables, False))
    with_pdf = best_of(5, lambda: _passes(mags, errors, models, rules, tables, True))
    whole = best_of(5, lambda: native._run(mags, errors))
    print(f"{n} DC2 objects, {table_models:,} models in the tables ({args.library} library), one core, best of 5")
    for name, seconds in (("analytic chi2 pass", analytic), ("PDF pass", with_pdf - analytic),
                          ("the rest (decisions, stars, sources)", whole - with_pdf), ("whole fit", whole)):
        print(f"{name:<38}{seconds / n * 1e3:8.3f} ms per object{seconds / n / table_models * 1e9:8.2f} ns per model")


if __name__ == "__main__":
    main()

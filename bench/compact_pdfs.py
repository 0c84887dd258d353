"""Which compact PDF the federated table keeps: fidelity against the full PDFs, and bytes on disk.

    python bench/compact_pdfs.py CATALOG RUN [RUN ...] [--truth redshift] [--mixture-objects 2000]

For each finished run (one per code) and each candidate representation, it
rebuilds the PDFs with qp from what the table would store and compares them
with the run's full PDFs (qp ``interp`` on the grid), on the targets of the
federated-table issue:

* the mean redshift of the stacked N(z), globally and in 5 tomographic bins
  (of the full PDF's mode), within 2e-4 (1 + z);
* each bin's N(z) width within 1%;
* the N(z) on the grid within 1e-2 (max |dN| / max N);
* PIT (from the true redshift in CATALOG's ``--truth`` column) within 0.01 for 99% of objects;
* CDE loss within 1%.

Bytes are those of the representation's parquet column(s), written with the
hats library's own settings (zstd, byte-stream-split floats, dictionaries),
per object. Candidates: qp ``quant`` (10, 20, 50 quantiles, qp's default
rebuild), qp ``packed_interp`` (256, 128, 64 levels, as pzmpi packs them),
qp ``mixmod`` (3 Gaussians, fitted by scikit-learn on the first
``--mixture-objects`` objects only: the fit is slow), one Gaussian (the
PDF's mean and standard deviation), and, for a run that kept it, the code's
own Gaussian (GPz's ``loc`` and ``scale``, as publish stores them).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import qp

from pzmpi.deliver.archive import archive_piece
from pzmpi.deliver.hats_catalog import write_kwargs
from pzmpi.deliver.photoz_columns import pack_pdfs, trim_mantissa
from pzmpi.io.run_folder import finished_pieces

TARGETS = {"mean": 2e-4, "bin_mean": 2e-4, "bin_width": 1e-2, "nz": 1e-2, "pit99": 1e-2, "cde": 1e-2}


def load_run(run: Path, catalog: Path, truth: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Grid, full PDFs (normalised on the grid), true redshifts, and the code's own Gaussian (loc, scale) if kept."""
    with h5py.File(run / "index.hdf5", "r") as index:
        grid = index["meta/xvals"][0]
        pdfs = index["data/yvals"][:].astype(np.float64)
        ids = index["ancil/objectId"][:]
        own = np.stack([index["ancil/loc"][:], index["ancil/scale"][:]]) if "ancil/scale" in index else None
    table = pq.read_table(catalog, columns=["objectId", truth]).to_pandas().set_index("objectId")
    return grid, normalised(grid, pdfs), table.loc[ids, truth].to_numpy(np.float64), own


def normalised(grid: np.ndarray, pdfs: np.ndarray) -> np.ndarray:
    pdfs = np.nan_to_num(pdfs)
    area = np.trapezoid(pdfs, grid, axis=1)
    return pdfs / np.where(area > 0, area, 1.0)[:, None]


def cdf_at(grid: np.ndarray, pdfs: np.ndarray, z: np.ndarray) -> np.ndarray:
    cumulative = np.concatenate([np.zeros((len(pdfs), 1)),
                                 np.cumsum(0.5 * (pdfs[:, 1:] + pdfs[:, :-1]) * np.diff(grid), axis=1)], axis=1)
    j = np.clip(np.searchsorted(grid, z) - 1, 0, grid.size - 2)
    frac = np.clip((z - grid[j]) / (grid[j + 1] - grid[j]), 0, 1)
    rows = np.arange(len(pdfs))
    return cumulative[rows, j] + frac * (cumulative[rows, j + 1] - cumulative[rows, j])


def moments(grid: np.ndarray, nz: np.ndarray) -> tuple[float, float]:
    area = np.trapezoid(nz, grid)
    mean = np.trapezoid(grid * nz, grid) / area
    return mean, float(np.sqrt(np.trapezoid((grid - mean) ** 2 * nz, grid) / area))


def fidelity(grid: np.ndarray, full: np.ndarray, compact: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """How far the compact PDFs' N(z), PIT and CDE loss are from the full PDFs' (module docstring)."""
    result = {}
    nz_full, nz_compact = full.mean(axis=0), compact.mean(axis=0)
    result["nz"] = float(np.abs(nz_full - nz_compact).max() / nz_full.max())
    mean_full, _ = moments(grid, nz_full)
    result["mean"] = abs(mean_full - moments(grid, nz_compact)[0]) / (1 + mean_full)
    modes = grid[np.argmax(full, axis=1)]
    worst_mean = worst_width = 0.0
    edges = np.linspace(grid[0], grid[-1], 6)
    for low, high in zip(edges[:-1], edges[1:]):
        chosen = (modes >= low) & (modes < high)
        if chosen.sum() < 10:
            continue
        (m_full, w_full), (m_compact, w_compact) = (moments(grid, full[chosen].mean(axis=0)),
                                                    moments(grid, compact[chosen].mean(axis=0)))
        worst_mean = max(worst_mean, abs(m_full - m_compact) / (1 + m_full))
        worst_width = max(worst_width, abs(w_full - w_compact) / w_full)
    result["bin_mean"], result["bin_width"] = worst_mean, worst_width
    result["pit99"] = float(np.quantile(np.abs(cdf_at(grid, full, truth) - cdf_at(grid, compact, truth)), 0.99))
    rows = np.arange(len(full))
    j = np.clip(np.searchsorted(grid, truth) - 1, 0, grid.size - 2)
    frac = np.clip((truth - grid[j]) / (grid[j + 1] - grid[j]), 0, 1)

    def cde_loss(p: np.ndarray) -> float:
        at_truth = p[rows, j] + frac * (p[rows, j + 1] - p[rows, j])
        return float(np.mean(np.trapezoid(p ** 2, grid, axis=1)) - 2 * np.mean(at_truth))

    loss_full = cde_loss(full)
    result["cde"] = abs(loss_full - cde_loss(compact)) / abs(loss_full)
    return result


def column_bytes(columns: dict[str, pa.Array]) -> float:
    """Bytes per row of ``columns`` in a parquet file written with hats's settings."""
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **write_kwargs(table.schema, []))
    return sink.getvalue().size / table.num_rows


def fixed_list(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), type=arrow_type), values.shape[1])


def quantiles(count: int) -> Callable:
    levels = (np.arange(count) + 0.5) / count

    def make(grid: np.ndarray, pdfs: np.ndarray) -> tuple[np.ndarray, float]:
        cumulative = np.concatenate([np.zeros((len(pdfs), 1)),
                                     np.cumsum(0.5 * (pdfs[:, 1:] + pdfs[:, :-1]) * np.diff(grid), axis=1)], axis=1)
        locs = np.array([np.interp(levels, c / c[-1], grid) for c in cumulative]).astype(np.float32)
        ensemble = qp.Ensemble(qp.quant, data=dict(quants=levels, locs=locs.astype(np.float64)))
        return np.nan_to_num(ensemble.pdf(grid)), column_bytes({"q": fixed_list(locs, pa.float32())})
    return make


def packed(levels: int) -> Callable:
    def make(grid: np.ndarray, pdfs: np.ndarray) -> tuple[np.ndarray, float]:
        data, scale = pack_pdfs(pdfs, levels)
        ensemble = qp.Ensemble(qp.packed_interp, data=dict(xvals=grid, ypacked=data, ymax=scale.reshape(-1, 1)))
        return ensemble.pdf(grid), column_bytes({"p": fixed_list(data, pa.uint8()), "m": pa.array(scale)})
    return make


def gaussian(grid: np.ndarray, pdfs: np.ndarray) -> tuple[np.ndarray, float]:
    mean = np.trapezoid(grid * pdfs, grid, axis=1)
    sigma = np.sqrt(np.maximum(np.trapezoid((grid - mean[:, None]) ** 2 * pdfs, grid, axis=1), 1e-8))
    ensemble = qp.Ensemble(qp.stats.norm, data=dict(loc=mean.reshape(-1, 1), scale=sigma.reshape(-1, 1)))
    return ensemble.pdf(grid), column_bytes({"m": pa.array(mean.astype(np.float32)),
                                             "s": pa.array(sigma.astype(np.float32))})


def own_gaussian(gaussian: np.ndarray) -> Callable:
    """The code's own Gaussian, kept by the run (GPz's loc and scale), as publish stores it."""
    def make(grid: np.ndarray, pdfs: np.ndarray) -> tuple[np.ndarray, float]:
        loc, scale = (trim_mantissa(values.astype(np.float32)) for values in gaussian[:, :len(pdfs)])
        ensemble = qp.Ensemble(qp.stats.norm, data=dict(loc=loc.reshape(-1, 1).astype(np.float64),
                                                        scale=scale.reshape(-1, 1).astype(np.float64)))
        return ensemble.pdf(grid), column_bytes({"m": pa.array(loc), "s": pa.array(scale)})
    return make


def mixture(grid: np.ndarray, pdfs: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    means, sigmas, weights = (np.empty((len(pdfs), 3)) for _ in range(3))
    for row, pdf in enumerate(pdfs):
        draws = rng.choice(grid, size=400, p=pdf / pdf.sum()) + rng.uniform(-0.005, 0.005, 400)
        fit = GaussianMixture(3, random_state=0).fit(draws.reshape(-1, 1))
        means[row], sigmas[row], weights[row] = fit.means_[:, 0], np.sqrt(fit.covariances_[:, 0, 0]), fit.weights_
    ensemble = qp.Ensemble(qp.mixmod, data=dict(means=means, stds=sigmas, weights=weights))
    stored = {name: fixed_list(values.astype(np.float32), pa.float32())
              for name, values in (("m", means), ("s", sigmas), ("w", weights))}
    return ensemble.pdf(grid), column_bytes(stored)


def archived(run: Path, grid: np.ndarray) -> tuple[np.ndarray, float]:
    """The run's PDFs as the package's archive stores them, and the archive's bytes per object."""
    pdfs, size = [], 0
    with tempfile.TemporaryDirectory() as folder:
        for piece in finished_pieces(run):
            target = Path(folder) / piece.file.name
            archive_piece(piece.file, target)
            size += target.stat().st_size
            with h5py.File(target, "r") as handle:
                pdfs.append(handle["data/yvals"][:].astype(np.float64))
    stacked = np.concatenate(pdfs)
    return stacked, size / len(stacked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalog", type=Path, help="the runs' input catalog (parquet folder) with true redshifts")
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--truth", default="redshift")
    parser.add_argument("--mixture-objects", type=int, default=2000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    candidates: list[tuple[str, Callable, bool]] = [
        *((f"quant {n}", quantiles(n), False) for n in (10, 20, 50)),
        *((f"packed {levels}", packed(levels), False) for levels in (256, 128, 64)),
        ("normal", gaussian, False),
        ("mixmod 3", mixture, True),
    ]
    print(f"{'run':16s} {'representation':14s} {'B/obj':>6s} " + " ".join(f"{k:>9s}" for k in TARGETS) + "  pass")
    for run in args.runs:
        grid, full, truth, own = load_run(run, args.catalog, args.truth)
        for name, make, subsample in candidates + ([("norm (own)", own_gaussian(own), False)] if own is not None
                                                   else []):
            rows = slice(0, args.mixture_objects) if subsample else slice(None)
            start = time.perf_counter()
            compact, size = make(grid, full[rows])
            scores = fidelity(grid, full[rows], normalised(grid, compact), truth[rows])
            verdict = all(scores[k] <= TARGETS[k] for k in TARGETS)
            print(f"{run.name:16s} {name:14s} {size:6.1f} " + " ".join(f"{scores[k]:9.2e}" for k in TARGETS)
                  + f"  {'yes' if verdict else 'no'}  ({time.perf_counter() - start:.0f} s"
                  + (f", {len(compact)} objects)" if subsample else ")"), flush=True)
        compact, size = archived(run, grid)
        scores = fidelity(grid, full, normalised(grid, compact), truth)
        verdict = all(scores[k] <= TARGETS[k] for k in TARGETS)
        print(f"{run.name:16s} {'archive':14s} {size:6.1f} " + " ".join(f"{scores[k]:9.2e}" for k in TARGETS)
              + f"  {'yes' if verdict else 'no'}", flush=True)


if __name__ == "__main__":
    main()

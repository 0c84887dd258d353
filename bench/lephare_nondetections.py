"""LePHARE with non-detections given as 99 (RAIL's convention) or NaN (pzmpi's default): fits and metrics.

Runs the benchmark's LePHARE model over RAIL's 20,449-object validation sample twice with
mpiexec -n 2, then scores zmode against the true redshift (bias, sigma_NMAD, |dz|/(1+z) > 0.15)
overall and for the u-band non-detections. Needs bench_throughput.py's LePHARE work folder:

    python bench/bench_throughput.py --replicas 1 --files 4 --estimators lephare
    python bench/lephare_nondetections.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
from common import timed

from pzmpi.datasets.dc2_sample import DC2_VALIDATION, rail_sample_path, read_rail_table

WORK = Path("bench/results/throughput-lephare-x1-f4").resolve()


def main() -> None:
    config = WORK / "lephare-n2.toml"
    if not config.is_file():
        sys.exit(f"run bench_throughput.py for LePHARE first (no {config})")
    truth = read_rail_table(rail_sample_path(DC2_VALIDATION))
    z = truth["redshift"]
    u_nondetected = truth["mag_u_lsst"] == 99.0
    print(f"{'given as':<9}{'objects':<16}{'fitted':>8}{'unfit':>7}{'bias':>9}{'sigma_NMAD':>12}{'outliers':>10}")
    for label, override in (("99", ["--set", "cleaning.nondetect_val=99.0"]), ("NaN", [])):
        folder = f"run-nondetect-{label}"
        timed(["mpiexec", "-n", "2", sys.executable, "-m", "pzmpi", "run", str(config),
               "--set", f"output.folder={folder!r}".replace("'", '"'), *override], cwd=WORK)
        with h5py.File(WORK / folder / "index.hdf5") as index:
            zmode = index["ancil/zmode"][()]
        for name, chosen in (("all", np.ones(z.size, bool)), ("u non-detected", u_nondetected)):
            dz = (zmode[chosen] - z[chosen]) / (1 + z[chosen])
            fitted = dz[np.isfinite(dz)]
            nmad = 1.4826 * np.median(np.abs(fitted - np.median(fitted)))
            print(f"{label:<9}{name:<16}{fitted.size:>8,}{dz.size - fitted.size:>7,}{np.median(fitted):>+9.4f}"
                  f"{nmad:>12.4f}{np.mean(np.abs(fitted) > 0.15):>10.3f}")


if __name__ == "__main__":
    main()

"""How closely a native implementation gives RAIL's PDFs: the figure the tests bound by 1e-6.

    python bench/native_agreement.py ESTIMATOR MODEL.pkl [--params '{"no_prior": true}']

Runs RAIL's own estimate() and the native implementation on RAIL's 20,449 DC2
validation objects with the same model (the comparison of tests/native_check.py,
which this imports), and prints the worst |delta p| / max p and how many zmodes differ.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from native_check import native_estimate, rail_reference  # noqa: E402

GRID = np.linspace(0.0, 3.0, 301)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("estimator", choices=("flexzboost", "bpz", "tpz", "gpz"))
    parser.add_argument("model", type=Path)
    parser.add_argument("--params", default="{}", help="estimator parameters, as JSON")
    args = parser.parse_args()
    params = json.loads(args.params)
    with tempfile.TemporaryDirectory() as folder:
        reference, reference_mode = rail_reference(args.estimator, args.model.resolve(), GRID,
                                                   Path(folder) / "rail.hdf5", **params)
        native, native_mode, _ = native_estimate(args.estimator, args.model.resolve(), Path(folder), params=params)
    peak = reference.max(axis=1, keepdims=True)
    worst = (np.abs(native - reference) / np.where(peak > 0, peak, 1.0)).max()
    print(f"{args.estimator} {params}: max |delta p| / max p = {worst:.1e} over {len(native):,} objects; "
          f"{int((native_mode != reference_mode).sum())} zmodes differ")


if __name__ == "__main__":
    main()

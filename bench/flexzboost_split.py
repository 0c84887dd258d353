"""Where native FlexZBoost's estimate time goes, on one core: features, regressors, basis expansion, post-processing.

    taskset -c 0 python bench/flexzboost_split.py [--work bench/results/throughput-x1-f4] [--repeats 3]

Uses the model ``bench/bench_throughput.py`` trains (the same ``pzmpi train`` settings),
and 10,000-row chunks of RAIL's DC2 validation sample, as ``pzmpi run`` feeds them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import prepare, write_config

from pzmpi.core.threads import pin_threads
from pzmpi.datasets.dc2_sample import DC2_VALIDATION, rail_sample_path, read_rail_table
from pzmpi.estimators.config import load_config
from pzmpi.estimators.factory import make_estimator
from pzmpi.estimators.native.flexzboost import expand

CHUNK_ROWS = 10000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("bench/results/throughput-x1-f4"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pin_threads(1)
    work = args.work.resolve()
    prepare(work, replicas=1, files=4, estimators=["flexzboost"])
    estimator = make_estimator(load_config(write_config(work / "split.toml", "flexzboost", work, "unused")))
    estimator.compile()
    table = read_rail_table(rail_sample_path(DC2_VALIDATION))
    columns = {name: values[:CHUNK_ROWS] for name, values in table.items() if name.startswith("mag_")}
    seconds = dict.fromkeys(("features", "regressors", "expansion", "post-processing"), 0.0)
    for _ in range(args.repeats):
        marks = [time.perf_counter()]
        features = estimator.features(columns)
        marks.append(time.perf_counter())
        coefs = np.asarray([regressor.predict(features) for regressor in estimator.regressors]).T
        marks.append(time.perf_counter())
        cdes = expand(coefs, estimator.basis_t)
        marks.append(time.perf_counter())
        estimator.post_process(cdes)
        marks.append(time.perf_counter())
        for name, start, stop in zip(seconds, marks, marks[1:]):
            seconds[name] += stop - start
    total = sum(seconds.values())
    print(f"native FlexZBoost estimate, {CHUNK_ROWS:,}-row chunks x {args.repeats}: "
          f"{args.repeats * CHUNK_ROWS / total:,.0f} obj/s; {len(estimator.regressors)} regressors")
    for name, value in seconds.items():
        print(f"  {name:<16}{value / total:>6.0%}")


if __name__ == "__main__":
    main()

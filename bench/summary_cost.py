"""What accumulating the results report costs a run: native BPZ with ``summary.enabled`` off and on (target: <= 3%).

    python bench/summary_cost.py [--replicas 10] [--repeats 5] [--estimator bpz] [--tomography uniform]

The sample repeated ``--replicas`` times (bench/common.py), one rank pinned to
CPU 0, the two settings alternating. Printed: each run's busy time (setup,
compile, read, clean, estimate, summary, write: profile.json), the median of
the paired ratios of busy time (on over off), and the ``summary`` stage's share
of the busy time of the runs with it on.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from common import prepare, pzmpi_run, write_config

TARGET = 1.03


def busy(profile: dict) -> float:
    return sum(value["median"] for name, value in profile["stages"].items() if name not in ("plan", "wait"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=10, help="copies of the 20,449-row sample")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--estimator", default="bpz")
    parser.add_argument("--tomography", default="uniform", choices=("uniform", "equal_count"))
    parser.add_argument("--work", type=Path, default=Path("bench/results/summary"))
    args = parser.parse_args()
    work = args.work.resolve()
    prepare(work, args.replicas, 4, [args.estimator])
    configs = {}
    for enabled in (False, True):
        config = write_config(work / f"run-{enabled}.toml", args.estimator, work, f"run-{enabled}")
        text = config.read_text() + f"\n[summary]\nenabled = {str(enabled).lower()}\ntomography = \"{args.tomography}\"\n"
        config.write_text(text)
        configs[enabled] = config
    pzmpi_run(configs[True], 1)  # warm-up: numba's cache, the page cache
    times: dict[bool, list[float]] = {False: [], True: []}
    shares = []
    for repeat in range(args.repeats):
        for enabled in ((False, True) if repeat % 2 == 0 else (True, False)):
            _, profile = pzmpi_run(configs[enabled], 1)
            times[enabled].append(busy(profile))
            if enabled:
                shares.append(profile["stages"]["summary"]["median"] / busy(profile))
    ratios = [on / off for on, off in zip(times[True], times[False])]
    rows = 20449 * args.replicas
    print(f"{args.estimator}, {rows:,} rows, one rank on CPU 0, tomography {args.tomography}, {args.repeats} pairs")
    for enabled in (False, True):
        print(f"  summary {'on ' if enabled else 'off'}: busy s {', '.join(f'{t:.2f}' for t in times[enabled])}")
    ratio = statistics.median(ratios)
    print(f"busy time on / off: median {ratio:.3f} (range {min(ratios):.3f}-{max(ratios):.3f}); the summary stage: "
          f"{statistics.median(shares):.2%} of the busy time (median)")
    print(f"target: at most {TARGET - 1:.0%} more: {'met' if ratio <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()

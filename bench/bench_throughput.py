"""RAIL's estimate() against pzmpi run, one core each, same data and model, in one invocation.

Prints objects/s of both and their ratio, and pzmpi's parallel efficiency from
-n 1 to -n 2.  Usage (from the repository, after bin/setup-env):

    python bench/bench_throughput.py [--replicas 10] [--estimators flexzboost bpz] [--implementation native]
                                     [--lephare-library small|minimal|full] [--work bench/results/throughput]

LePHARE's library is by default the small one of the bundled configuration. ``--lephare-library
minimal`` or ``full`` measures native LePHARE on a realistic library instead (issue 16's
targets), through ``lephare_realistic.measure``: RAIL and ``pzmpi run`` on 2,000 DC2 objects
each, per object apart from the library reading, with the floor of the two matrix products
printed beside the fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import prepare, pzmpi_run, rail_estimate, write_config
from lephare_realistic import measure as measure_lephare_on_a_realistic_library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=10, help="copies of the 20,449-row DC2 sample")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--estimators", nargs="+", default=["flexzboost", "bpz"])
    parser.add_argument("--implementation", choices=("native", "rail"), default="native",
                        help="pzmpi's estimator.implementation (native where it has one)")
    parser.add_argument("--lephare-library", choices=("small", "minimal", "full"), default="small",
                        help="LePHARE's library: the bundled configuration's, or a realistic one (lephare_realistic)")
    parser.add_argument("--work", type=Path, default=Path("bench/results/throughput"))
    args = parser.parse_args()
    realistic = args.lephare_library != "small" and "lephare" in args.estimators
    if realistic:
        args.estimators = [name for name in args.estimators if name != "lephare"]
    if args.estimators:
        throughput_table(args)
    if realistic:
        print(f"\nlephare, native, on the realistic library '{args.lephare_library}':", flush=True)
        measure_lephare_on_a_realistic_library(2000, args.lephare_library, prior=False)


def throughput_table(args: argparse.Namespace) -> None:
    """RAIL against pzmpi on the replicated sample, one row per estimator."""
    work = args.work.resolve()
    work = work.with_name(f"{work.name}-x{args.replicas}-f{args.files}")  # a sample of its own per size
    models = prepare(work, args.replicas, args.files, args.estimators)
    rows = 20449 * args.replicas
    print(f"{rows:,} objects in {args.files} files ({work}); pzmpi implementation: {args.implementation}.")
    print("RAIL: seconds of estimate() (model load, read, estimate, write). pzmpi busy: the same scope, from its "
          "profile (setup, compile, read, clean, estimate, write). pzmpi wall: the whole mpiexec command, "
          "Python start-up and imports included. Parallel efficiency, -n 2 against twice -n 1: 'run' from the "
          "profiles' objects/s (plan to index, interpreter start-up left out), 'wall' from the commands.")
    header = (f"{'estimator':<11}{'RAIL obj/s':>11}{'RAIL RSS':>10}{'pzmpi busy':>11}{'ratio':>7}{'pzmpi wall':>11}"
              f"{'ratio':>7}{'pzmpi RSS':>11}{'-n2 wall':>10}{'eff.run':>8}{'eff.wall':>9}")
    print(header)
    for name in args.estimators:
        rail = rail_estimate(name, models[name], work / "rail_input.hdf5", work / f"rail_{name}.hdf5")
        one, profile_one = pzmpi_run(write_config(work / f"{name}-n1.toml", name, work, f"run-{name}-n1",
                                                         args.implementation), 1)
        assert profile_one["total_rows"] == rows, f"{work} holds {profile_one['total_rows']:,} rows, not {rows:,}"
        two, profile_two = pzmpi_run(write_config(work / f"{name}-n2.toml", name, work, f"run-{name}-n2",
                                                  args.implementation), 2)
        run_efficiency = profile_two["objects_per_second"] / (2 * profile_one["objects_per_second"])
        rail_rate, one_rate, two_rate = rows / rail["seconds"], rows / one, rows / two
        busy_rate = profile_one["per_rank"][0]["objects_per_second"]
        print(f"{name:<11}{rail_rate:>11,.0f}{rail['peak_rss_bytes'] / 2**30:>9.2f}G{busy_rate:>11,.0f}"
              f"{busy_rate / rail_rate:>7.2f}{one_rate:>11,.0f}{one_rate / rail_rate:>7.2f}"
              f"{profile_one['peak_rss_bytes_max'] / 2**30:>10.2f}G{two_rate:>10,.0f}{run_efficiency:>8.2f}"
              f"{two_rate / (2 * one_rate):>9.2f}",
              flush=True)


if __name__ == "__main__":
    main()

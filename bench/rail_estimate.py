"""RAIL's own estimate() on one core, as the reference: prints JSON with seconds and peak RSS.

Run as a separate process so that its memory is its own:
    python bench/rail_estimate.py flexzboost MODEL INPUT.hdf5 OUTPUT.hdf5
"""

import json
import os
import resource
import sys
import time

from rail.core.data import TableHandle

from pzmpi.estimators import estimator_class_path, import_class


def main() -> None:
    name, model, source, output = sys.argv[1:5]
    if name == "lephare":  # read when RAIL's stage (re)loads lephare
        from common import LEPHARE_DATA

        os.environ["LEPHAREDIR"] = str(LEPHARE_DATA)
    stage_class = import_class(estimator_class_path(name))
    stage = stage_class.make_stage(name=f"bench_{name}", model=model, hdf5_groupname="photometry",
                                   chunk_size=10000, output=output)
    start = time.perf_counter()
    stage.estimate(TableHandle("input", path=source))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()

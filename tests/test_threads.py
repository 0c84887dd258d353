"""Thread pinning reaches the libraries that would otherwise use every core of the node."""

import os
import subprocess
import sys

CHECK = """
from pzmpi.core.threads import pin_threads
pin_threads(1)
import joblib, numba, threadpoolctl
from joblib import Parallel, delayed
assert joblib.cpu_count() == 1, joblib.cpu_count()
assert numba.get_num_threads() == 1
assert all(pool["num_threads"] == 1 for pool in threadpoolctl.threadpool_info()), threadpoolctl.threadpool_info()
# what sklearn's MultiOutputRegressor(n_jobs=-1) does inside RAIL's FlexZBoost model
import os
pids = Parallel(n_jobs=-1)(delayed(os.getpid)() for _ in range(4))
assert set(pids) == {os.getpid()}, pids
print("pinned")
"""


def test_pinning_reaches_blas_numba_and_joblib():
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_NUM_THREADS", "_CPU_COUNT"))}
    result = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pinned" in result.stdout

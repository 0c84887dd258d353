"""Thread pinning: N ranks on a node must use N cores, not N times every library's pool.

``pin_threads`` sets the environment variables that BLAS, OpenMP, numba, numexpr,
Arrow and joblib read, so the command line calls it before importing them; for
libraries already loaded it also resizes their pools.  joblib matters: RAIL's
FlexZBoost model is a scikit-learn ``MultiOutputRegressor(n_jobs=-1)``, which
otherwise starts one worker process per core of the node on every rank.
"""

from __future__ import annotations

import os
import sys

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS", "LOKY_MAX_CPU_COUNT")


def pin_threads(threads: int) -> None:
    """Cap every known thread pool of this process at ``threads``."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if "pyarrow" in sys.modules:
        import pyarrow

        pyarrow.set_cpu_count(threads)
        pyarrow.set_io_thread_count(max(1, threads))
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if "threadpoolctl" in sys.modules or "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)

"""The versions of Python and of every package that decides pzmpi's numbers, for provenance records."""

from __future__ import annotations

import platform
from importlib import metadata

TRACKED_DISTRIBUTIONS = ("pzmpi", "numpy", "scipy", "numba", "pyarrow", "h5py", "mpi4py", "astropy", "hpgeom",
                         "healsparse", "qp-prob", "tables-io", "ceci", "scikit-learn", "xgboost", "flexcode",
                         "desc-bpz", "lephare")


def package_versions() -> dict[str, str]:
    """Versions of Python, pzmpi's stack and every installed RAIL package."""
    names = set(TRACKED_DISTRIBUTIONS)
    names.update(d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"].startswith("pz-rail"))
    versions = {"python": platform.python_version()}
    for name in sorted(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions

"""pzmpi: photo-z tables from LSST Object catalogs with RAIL estimators, under MPI.

Modules follow the data flow: ``config`` -> ``plan`` -> ``reader`` -> ``cleaning``
-> ``estimators`` -> ``point_estimates`` -> ``writer`` -> ``profiling``;
``engine`` drives them on every rank, ``mpi`` holds all MPI calls, ``cli`` is
the command line.  Importing the package loads nothing heavy.
"""

__version__ = "0.1.0"

"""pzmpi: photo-z tables from LSST Object catalogs with RAIL estimators, under MPI.

The package shows the mission's four stages over one foundation:

* ``core``: MPI, threads, profiling, atomic files, checksums, configuration
  schemas, sharding and the release record;
* ``io``, ``photometry``, ``estimators``: catalogs in and pieces out, fluxes
  to magnitudes and dust, the photo-z codes;
* ``acquire`` (Stage I), ``train`` (Stage II), ``compute`` (Stage III),
  ``deliver`` (Stage IV): each uses the foundation, never another stage's
  internals; what passes between stages is a file or the release record;
* ``cli``: the ``pzmpi`` command, a thin face over the stages.

Importing the package loads nothing heavy.
"""

__version__ = "0.1.0"

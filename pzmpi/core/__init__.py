"""The foundation every stage stands on: MPI, threads, process settings, progress,
profiling, atomic files, checksums, configuration schemas, sharding and the release record.

Nothing here knows about photometry, estimators or a particular stage.
"""

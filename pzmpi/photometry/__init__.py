"""Photometry: the LSST bands, nJy fluxes to AB magnitudes, and E(B-V) from dust maps.

Pure science with no knowledge of files, ranks or estimators: the compiled
kernels here are shared by ``pzmpi skinny`` (Stage I), training (Stage II) and
the run's cleaning (Stage III).
"""

"""Stage III, computing: the MPI engine that estimates every object's p(z) and point estimates.

Plan (``plan``), then on every rank read, clean, estimate and write its pieces
(``engine``), stamped with their provenance (``provenance``), then profile.
"""

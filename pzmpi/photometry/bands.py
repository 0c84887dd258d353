"""The LSST bands and the constants every conversion of their photometry uses (REFERENCE.md section 2)."""

from __future__ import annotations

import math

LSST_BANDS = ("u", "g", "r", "i", "z", "y")

# The magnitude columns of a skinny table, by band: what 'pzmpi skinny' writes and a release's later stages read.
SKINNY_MAGNITUDE = "mag_{band}"
SKINNY_MAGNITUDE_ERROR = "magerr_{band}"

# A_b / E(B-V) for the LSST bands (pz-compute's coefficients).
LSST_EXTINCTION = {"u": 4.81, "g": 3.64, "r": 2.70, "i": 2.06, "z": 1.58, "y": 1.31}

# RAIL's default 5-sigma limiting magnitudes (rail/core/common_params.py).
LSST_MAG_LIMITS = {"u": 27.79, "g": 29.04, "r": 29.06, "i": 28.62, "z": 27.98, "y": 27.05}

# AB zero point for fluxes in nJy: 2.5 log10(3631e9) = 31.40007 (AB flux 3631 Jy, as Rubin's afw defines it).
ZP_NJY = 2.5 * math.log10(3631e9)

# sigma_m = (2.5 / ln 10) sigma_f / f
MAG_ERR_PER_FRACTIONAL_FLUX = 2.5 / math.log(10.0)

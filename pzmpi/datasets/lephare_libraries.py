"""LePHARE template libraries to test and benchmark on, as RAIL's training parameters.

Both are built from the COSMOS galaxy templates that RAIL's LePHARE defaults use, with
its QSO library and the star list shipped in LePHARE's auxiliary data, on the redshift
grid of the run (z = 0 to 3 in steps of 0.01 for ``nzbins = 301``):

* ``"full"``: RAIL's default galaxy library: 4 extinction laws (SMC on templates 18-26,
  three Calzetti variants on 26-33), 10 E(B-V) values, 5 emission-line strengths.
  448,625 models; ``pzmpi train`` built it in 1,389 s on one core.
* ``"minimal"``: the smallest library issue 16 calls realistic: 3 laws, 5 E(B-V) values,
  one line strength. ``pzmpi train`` built it in 142 s on one core.
"""

from __future__ import annotations

from pathlib import Path

LIBRARIES = {
    "full": {"gal.EXTINC_LAW": "SMC_prevot.dat,SB_calzetti.dat,SB_calzetti_bump1.dat,SB_calzetti_bump2.dat",
             "gal.MOD_EXTINC": "18,26,26,33,26,33,26,33",
             "gal.EB_V": "0.,0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5",
             "gal.EM_DISPERSION": "0.5,0.75,1.,1.5,2."},
    "minimal": {"gal.EXTINC_LAW": "SMC_prevot.dat,SB_calzetti.dat,SB_calzetti_bump1.dat",
                "gal.MOD_EXTINC": "18,26,26,33,26,33",
                "gal.EB_V": "0.,0.1,0.2,0.3,0.4",
                "gal.EM_DISPERSION": "1."},
}


def cosmos_library_params(data_dir: Path, size: str) -> dict[str, str]:
    """RAIL's training parameters (``training.params``) for the ``size`` library of LIBRARIES."""
    if size not in LIBRARIES:
        raise ValueError(f"LePHARE library size {size!r}: choose one of {', '.join(LIBRARIES)}")
    stars = str(data_dir / "sed/STAR/STAR_MOD.list")  # the default star list is not shipped: the one that is
    return {"lephare.STAR_SED": stars, "star.STAR_SED": stars,
            "gal.GAL_SED": str(data_dir / "sed/GAL/COSMOS_SED/COSMOS_MOD.list"),
            "gal.LIB_ASCII": "NO", "star.LIB_ASCII": "NO", "qso.LIB_ASCII": "NO", **LIBRARIES[size]}

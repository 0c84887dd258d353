"""The README of a delivery package: how to open what it holds, and what each column means."""

from __future__ import annotations

from typing import Any

from pzmpi.deliver.photoz_columns import FLAG_MASS_OUTSIDE_GRID, FLAG_NO_PDF, MASS_OUTSIDE_LIMIT, NONDETECTION_SHIFT

COLUMN_MEANINGS = {
    "z_median": "where the PDF's cumulative distribution reaches 0.5",
    "z_mean": "the PDF's mean, sum(z p) / sum(p) on the grid",
    "z_mode": "the grid point of the PDF's peak",
    "z_err68_low": "lower end of the central 68% interval: where the cumulative distribution reaches 0.16",
    "z_err68_high": "upper end of the central 68% interval: where it reaches 0.84",
    "z_err95_low": "lower end of the central 95% interval: where it reaches 0.025",
    "z_err95_high": "upper end of the central 95% interval: where it reaches 0.975",
    "flags": f"bit 0 ({FLAG_NO_PDF}): no PDF (NaN or no mass); bit 1 ({FLAG_MASS_OUTSIDE_GRID}): more than "
             f"{MASS_OUTSIDE_LIMIT:.0%} of the PDF outside the grid; bits {NONDETECTION_SHIFT} and up: band b of "
             f"the code's bands was a non-detection",
    "pdf_packed": "the compact PDF: the PDF on the code's grid, one byte per grid point, p = byte / 255 * "
                  "pdf_ymax (qp's packed_interp)",
    "pdf_ymax": "the compact PDF's scale: the largest value of the PDF on the grid",
    "pdf_loc": "for a code that keeps its own Gaussian (GPz), in place of pdf_packed: its mean (qp's norm loc)",
    "pdf_scale": "and its standard deviation (qp's norm scale)",
}


def package_readme(metadata: dict[str, Any]) -> str:
    """Markdown for the package's README.md, from its metadata."""
    codes = list(metadata["codes"])
    catalog = next(iter(name for name in metadata["table"] if not name.endswith("_objectId_index")), "object_photoz")
    properties = metadata["table"].get(catalog, {})
    release = metadata.get("release") or {}
    lines = [
        f"# Photo-z delivery: {release.get('name') or catalog}",
        "",
        f"Codes: {', '.join(codes)}. Objects: {properties.get('hats_nrows', '?')}. Made by pzmpi "
        f"{metadata['versions'].get('pzmpi', '')} on {metadata['created']}.",
        "",
        "## What is here",
        "",
        "| path | content |",
        "|---|---|",
        "| `table/` | the photo-z table: a HATS collection, one row per objectId, with an objectId index |",
        "| `archive/<code>/` | every object's full PDF on the code's grid, one HDF5 file per piece (qp's layout) "
        "and `index.hdf5` over them all |",
        "| `reports/` | the results report of each run, the validation and training-set reports that exist |",
        "| `configs/<code>.toml` | each run's configuration, as it ran |",
        "| `metadata.json` | release, codes, models and their checksums, training sets, package versions, "
        "the release's Stage I history |",
        "| `MANIFEST.sha256` | the sha256 of every other file: `sha256sum -c MANIFEST.sha256`, or "
        "`mpiexec -n N pzmpi verify-package .` |",
        "",
        "## Open the table with lsdb",
        "",
        "```python",
        "import lsdb",
        "photoz = lsdb.open_catalog(\"table\")",
        "one = photoz.id_search(values={\"objectId\": 1234}).compute()   # through the objectId index",
        "# beside a HATS Object catalog, joined on objectId:",
        "both = objects.join(photoz, left_on=\"objectId\", right_on=\"objectId\", suffixes=(\"\", \"_pz\"),",
        "                    suffix_method=\"overlapping_columns\").compute()",
        "```",
        "",
        "## Columns",
        "",
        "`objectId`, `coord_ra`, `coord_dec` (degrees, copied from the input catalog), `_healpix_29` "
        "(HATS's spatial index), then for each code, `{code}_` followed by:",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {meaning} |" for name, meaning in COLUMN_MEANINGS.items()]
    lines += [
        "",
        "A code's columns are null for an object that code has no row for. Point columns are float32, computed "
        "from the code's PDF on its grid (`pzmpi_<code>_grid` in `table/*/hats.properties`: first, last, points).",
        "",
        "## A compact PDF as a qp ensemble",
        "",
        "```python",
        "import numpy as np, qp",
        f"code = \"{codes[0] if codes else 'code'}\"",
        "first, last, points = (float(v) for v in properties[f\"pzmpi_{code}_grid\"].split())  # hats.properties",
        "ensemble = qp.Ensemble(qp.packed_interp, data=dict(",
        "    xvals=np.linspace(first, last, int(points)),",
        "    ypacked=np.stack(frame[f\"{code}_pdf_packed\"].to_numpy()),",
        "    ymax=frame[f\"{code}_pdf_ymax\"].to_numpy().reshape(-1, 1)))",
        "# a code stored as its own Gaussian (pzmpi_<code>_pdf = norm loc scale):",
        "gaussian = qp.Ensemble(qp.stats.norm, data=dict(loc=frame[\"gpz_pdf_loc\"].to_numpy()[:, None],",
        "                                                scale=frame[\"gpz_pdf_scale\"].to_numpy()[:, None]))",
        "```",
        "",
        "## The full PDFs",
        "",
        "```python",
        "import qp",
        f"ensemble = qp.read(\"archive/{codes[0] if codes else 'code'}/pieces/<piece>.hdf5\")   "
        "# ancil holds objectId and the point estimates",
        "```",
        "",
    ]
    return "\n".join(lines)

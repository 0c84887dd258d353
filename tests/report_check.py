"""Shared by the report tests: every image of an HTML report decodes, and every number it shows from the JSON
is the JSON's; and qp's own metrics of a run, the reference of ``pzmpi evaluate``."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import qp
from matplotlib import image as mpimg
from qp.metrics.concrete_metric_classes import BrierMetric, CDELossMetric
from qp.metrics.pit import PIT
from qp.metrics.point_estimate_metric_classes import PointBias, PointOutlierRate, PointSigmaIQR, PointSigmaMAD

from pzmpi.core.reports import formatted


class ReportPage(HTMLParser):
    """The images and the JSON-backed values of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.values: list[tuple[str, str, str]] = []  # (path, format, text)
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
        if "data-json" in found:
            self._open = (found["data-json"] or "", found.get("data-format") or "")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == "span":
            self.values.append((*self._open, "".join(self._text)))
            self._open = None


def lookup(document: dict[str, Any], path: str) -> Any:
    found: Any = document
    for key in path.split("."):
        found = found[int(key)] if isinstance(found, list) else found[key]
    return found


def check_report(html_path: Path, json_path: Path, least_images: int) -> int:
    """Assert that the page's images decode and its numbers are the JSON's; returns how many numbers it shows."""
    document = json.loads(json_path.read_text())
    page = ReportPage()
    page.feed(html_path.read_text())
    assert len(page.images) >= least_images
    for source in page.images:
        assert source.startswith("data:image/png;base64,")
        picture = mpimg.imread(io.BytesIO(base64.b64decode(source.split(",", 1)[1])), format="png")
        assert picture.ndim == 3 and picture.shape[0] > 100 and picture.shape[1] > 100
    assert page.values
    for path, style, text in page.values:
        assert text == formatted(lookup(document, path), style), (path, text)
    return len(page.values)


def qp_reference(index: Path, catalog: Path, point: str = "zmode") -> dict[str, float]:
    """qp's metrics of a run's PDFs (read whole through ``qp.read``) against the catalog's true redshifts."""
    ensemble = qp.read(str(index))
    truth: dict[int, float] = {}
    for path in sorted(catalog.glob("*.parquet")):
        table = pq.read_table(path, columns=["objectId", "redshift"])
        truth.update(zip(table["objectId"].to_pylist(), table["redshift"].to_pylist()))
    z_true = np.array([truth[i] for i in ensemble.ancil["objectId"]])
    z_point = np.asarray(ensemble.ancil[point], dtype=np.float64)
    pit = PIT(ensemble, z_true)
    return {"bias": PointBias().evaluate(z_point, z_true), "sigma_iqr": PointSigmaIQR().evaluate(z_point, z_true),
            "sigma_nmad": PointSigmaMAD().evaluate(z_point, z_true),
            "outlier_rate": PointOutlierRate().evaluate(z_point, z_true),
            "pit_outlier_rate": pit.evaluate_PIT_outlier_rate(), "pit_qq": np.quantile(pit.pit_samps,
                                                                                      np.linspace(0, 1, 100)),
            "ks": pit.evaluate_PIT_KS().statistic, "cvm": pit.evaluate_PIT_CvM().statistic,
            "ad": pit.evaluate_PIT_anderson_ksamp().statistic,
            "cde_loss": CDELossMetric().evaluate(ensemble, z_true), "brier": BrierMetric().evaluate(ensemble, z_true)}


EXACT = ("bias", "sigma_iqr", "sigma_nmad", "outlier_rate", "pit_outlier_rate")
CLOSE = ("ks", "cvm", "ad", "cde_loss", "brier")


def assert_metrics_are_qps(metrics: dict[str, Any], pit: dict[str, Any], reference: dict[str, Any]) -> None:
    """Point metrics and the PIT exactly, the other statistics to 1e-10 relative; qp's NaN is the report's null."""
    for key in EXACT + CLOSE:
        if np.isnan(reference[key]):
            assert metrics[key] is None, key
        elif key in EXACT:
            assert metrics[key] == reference[key], key
        else:
            assert abs(metrics[key] - reference[key]) <= 1e-10 * abs(reference[key]), key
    np.testing.assert_array_equal(pit["qq_data"], reference["pit_qq"])

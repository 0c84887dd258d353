"""pzmpi.core.reports: compact, strict JSON, and HTML values that name their JSON path."""

import json
import math

import pytest

from pzmpi.core.reports import finite_or_none, to_json, value


def test_report_json_keeps_number_lists_on_one_line_and_refuses_nan():
    text = to_json({"a": [1, 2, 3], "b": [[1, 2], [3]], "c": [{"x": 1.5}], "d": [], "e": ["s"]})
    assert '"a": [1,2,3]' in text and "[1,2]" in text
    assert json.loads(text) == {"a": [1, 2, 3], "b": [[1, 2], [3]], "c": [{"x": 1.5}], "d": [], "e": ["s"]}
    with pytest.raises(ValueError):
        to_json({"a": [1.0, math.nan]})
    assert finite_or_none(math.inf) is None and finite_or_none(2) == 2.0


def test_a_shown_value_names_its_path_and_is_formatted_from_the_json():
    document = {"metrics": {"bias": -0.00123456, "rows": [10, 12345]}}
    assert value(document, "metrics.bias", ".3g") == "<span data-json='metrics.bias' data-format='.3g'>-0.00123</span>"
    assert ">12,345<" in value(document, "metrics.rows.1")

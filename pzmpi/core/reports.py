"""What every report of pzmpi shares: a JSON file with every number, and one self-contained HTML page.

The HTML embeds its plots as base64 PNGs, so that one file can be mailed,
archived or opened on a login node without a server. A number the page shows
from the JSON is wrapped by ``value`` in an element that names its JSON path
(``data-json="metrics.bias"``), so that a test can check that what a reader sees
is what the JSON holds.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from pzmpi.core.files import write_text_atomically

HTML_ROWS = 2000  # rows of an HTML table at most; the JSON always has everything

STYLE = ("body{font-family:sans-serif;margin:1.5em auto;max-width:84em;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;"
         "text-align:left;font-size:90%}th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}"
         ".fail{background:#f8d0d0}.warn{background:#fbeec0}.pass{background:#d4f0d4}img{max-width:100%}"
         "h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}pre{background:#f7f7f7;"
         "padding:0.6em;overflow-x:auto;font-size:85%}.note{color:#555;font-size:90%}")


def to_json(document: dict[str, Any]) -> str:
    """Indented JSON in which every list of numbers stays on one line (histograms stay readable).

    Non-finite floats are refused: a report says "null" for what it does not know.
    """
    packed: dict[str, str] = {}

    def pack(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: pack(item) for key, item in value.items()}
        if isinstance(value, list):
            if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
                token = f"\x00{len(packed)}"
                packed[token] = json.dumps(value, separators=(",", ":"), allow_nan=False)
                return token
            return [pack(item) for item in value]
        return value

    text = json.dumps(pack(document), indent=1, allow_nan=False)
    for token, compact in packed.items():
        text = text.replace(json.dumps(token), compact, 1)
    return text + "\n"


def finite_or_none(value: float) -> float | None:
    """A float for JSON: None where it is NaN or infinite."""
    value = float(value)
    return value if math.isfinite(value) else None


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def formatted(number: Any, style: str = "") -> str:
    """How a report prints a JSON number: integers with thousands separators, floats with ``style``."""
    if number is None:
        return "n/a"
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return str(number)
    if isinstance(number, int):
        return f"{number:,}"
    return format(number, style or ".4g")


def value(document: dict[str, Any], path: str, style: str = "") -> str:
    """The JSON value at ``path`` (dot-separated keys), printed in an element that names the path."""
    found: Any = document
    for key in path.split("."):
        found = found[int(key)] if isinstance(found, list) else found[key]
    return f"<span data-json='{escape(path)}' data-format='{escape(style)}'>{escape(formatted(found, style))}</span>"


def table(header: list[str], rows: list[list[Any]], raw_columns: tuple[int, ...] = ()) -> str:
    """An HTML table; cells in ``raw_columns`` are already HTML, numbers are right-aligned."""
    def cell(i: int, content: Any) -> str:
        if i in raw_columns:
            return f"<td>{content}</td>"
        if isinstance(content, (int, float)) and not isinstance(content, bool):
            return f"<td class='n'>{escape(formatted(content))}</td>"
        return f"<td>{escape(content)}</td>"

    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows[:HTML_ROWS])
    more = f"<p>... and {len(rows) - HTML_ROWS} more rows in the JSON report.</p>" if len(rows) > HTML_ROWS else ""
    return f"<table><tr>{''.join(f'<th>{escape(h)}</th>' for h in header)}</tr>{body}</table>{more}"


def status(verdict: str) -> str:
    """'pass', 'warn' or 'fail' as a coloured label."""
    return f"<span class='{verdict}'>{verdict.upper()}</span>"


def image(figure: Any, alt: str) -> str:
    """A matplotlib Figure as an embedded PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"


def page(title: str, parts: list[str]) -> str:
    """A whole HTML page with no external resource."""
    head = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>")
    return "\n".join([head, *parts, "</body></html>"]) + "\n"


def write_report(folder: Path, stem: str, document: dict[str, Any], html_text: str) -> tuple[Path, Path]:
    """Write ``stem.json`` and ``stem.html`` into ``folder``, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
    write_text_atomically(json_path, to_json(document))
    write_text_atomically(html_path, html_text)
    return json_path, html_path

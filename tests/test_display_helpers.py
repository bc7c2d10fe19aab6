"""The one HTML table builder, the one number formatter and the one JSON-safe converter (issue 20),
and the checks that keep them the only ones."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from mlops_magic.display.html import Cell, Html, Row, esc, fmt_number, html_table
from mlops_magic.entities import RunStatus, json_safe

PACKAGE = Path(__file__).resolve().parents[1] / "mlops_magic"
HOSTILE = "<img src=x onerror=alert(1)>"


def _sources() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts]


# -- html_table ----------------------------------------------------------------------------------------
def test_table_escapes_every_header_and_cell_that_is_not_html() -> None:
    table = html_table([HOSTILE, "n"], [[HOSTILE, 3], [None, 'a "quoted" & <b>']])
    assert "<img" not in table and "<b>" not in table
    assert table.count("&lt;img src=x onerror=alert(1)&gt;") == 2
    assert "&quot;quoted&quot; &amp; &lt;b&gt;" in table
    assert '<td style="text-align:left;padding:2px 8px"></td>' in table  # None is an empty cell


def test_table_keeps_markup_built_from_escaped_parts() -> None:
    badge = Html(f"<span class='badge'>{esc(HOSTILE)}</span>")
    table = html_table(["status"], [[badge], [esc("a<b")]])
    assert "<span class='badge'>&lt;img" in table and "a&lt;b" in table and "&amp;lt;" not in table


def test_a_plain_string_with_markup_is_text_not_markup() -> None:
    """The rule that makes a forgotten escape harmless: only Html passes, a str is escaped."""
    table = html_table(["x"], [["<script>alert(1)</script>"]])
    assert "<script>" not in table and "&lt;script&gt;" in table


def test_table_cell_and_row_styles() -> None:
    table = html_table(["p", "verdict"], [Row([Cell(0.5, "white-space:nowrap"), "ok"], "mlops-drifted", "x:y")],
                       css_class="t", style=None, cell_style="", head_style="white-space:nowrap")
    assert table == ('<table class="t"><thead><tr><th style="white-space:nowrap">p</th>'
                     '<th style="white-space:nowrap">verdict</th></tr></thead><tbody>'
                     '<tr class="mlops-drifted" style="x:y"><td style="white-space:nowrap">0.5</td><td>ok</td></tr>'
                     "</tbody></table>")
    assert isinstance(table, Html)


def test_attribute_values_are_escaped_too() -> None:
    table = html_table(["a"], [Row(["1"], css_class='x" onclick="alert(1)')])
    assert 'onclick="' not in table and "x&quot; onclick=&quot;alert(1)" in table


# -- fmt_number ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "kwargs", "text"), [
    (0.873123456, {}, "0.8731"),
    (0.873123456, {"digits": 6}, "0.873123"),
    (2.7123e-05, {}, "2.712e-05"),
    (1234567.0, {}, "1.235e+06"),
    (-0.0, {}, "0"),
    (0.0, {"sign": True}, "+0"),
    (0.05, {"sign": True}, "+0.05"),
    (-0.02, {"sign": True}, "-0.02"),
    (3, {"sign": True}, "+3"),
    (float("nan"), {}, "nan"),
    (float("inf"), {}, "inf"),
    (float("-inf"), {}, "-inf"),
    (None, {}, "—"),
    (None, {"missing": "(absent)"}, "(absent)"),
    (12, {}, "12"),
    (True, {}, "True"),
    ("nan", {}, "nan"),
    (np.float32(0.873123456), {}, "0.8731"),
    (np.int64(7), {}, "7"),
])
def test_fmt_number(value: object, kwargs: dict[str, object], text: str) -> None:
    assert fmt_number(value, **kwargs) == text  # type: ignore[arg-type]


# -- json_safe -----------------------------------------------------------------------------------------
def test_json_safe_gives_what_json_accepts_without_nan() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    value = {"when": when, "status": RunStatus.FAILED, "metrics": {"auc": np.float64(0.9), "loss": float("nan")},
             "shape": (2, np.int64(3)), "array": np.array([1.5, np.inf]), "label": np.str_("yes"), "flag": np.bool_(1)}
    safe = json_safe(value)
    assert safe == {"when": "2026-01-02T03:04:05+00:00", "status": "failed", "metrics": {"auc": 0.9, "loss": "nan"},
                    "shape": [2, 3], "array": [1.5, "inf"], "label": "yes", "flag": True}
    assert type(safe["label"]) is str and type(safe["metrics"]["auc"]) is float and type(safe["shape"][1]) is int
    json.dumps(safe, allow_nan=False)


def test_json_safe_can_send_non_finite_numbers_as_null() -> None:
    assert json_safe({"band": (float("nan"), 1.0)}, non_finite="null") == {"band": [None, 1.0]}


# -- one of each ---------------------------------------------------------------------------------------
def test_html_tables_are_built_in_one_place() -> None:
    """Seven modules built tables by hand; html_table escapes what they forgot to."""
    builders = [str(p.relative_to(PACKAGE)) for p in _sources()
                if re.search(r"<t(able|r|d|h)[ >]", p.read_text()) and p != PACKAGE / "display" / "html.py"]
    assert builders == []


def test_numbers_are_formatted_in_one_place() -> None:
    """A number shown to people goes through fmt_number (``{x:.4g}`` written elsewhere was a second rule)."""
    spec = re.compile(r"\{[^{}]*:\+?\.\d+g\}|format\([^)]*\.\d+g")
    found = [f"{p.relative_to(PACKAGE)}:{n}" for p in _sources() if p != PACKAGE / "display" / "html.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if spec.search(line)]
    assert found == []


"""Text, Markdown and HTML views of drift and quality reports.

Every user string (column names, categories, messages) is HTML-escaped. The overlaid
reference/current distribution is a small inline SVG drawn here: no network, no plotting
library, so the same markup works in a notebook, a static run report and the lab panel.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from .html import DRIFT_ROW_STYLE, NOWRAP, Cell, Html, Row, fmt_number, html_table, ink
from .markdown import md_cell

if TYPE_CHECKING:
    from ..monitoring.drift import ColumnDrift, DriftReport
    from ..monitoring.quality import QualityReport

_HEAD = ("column", "kind", "test", "statistic", "p-value", "effect size", "threshold", "drifted")
_NUMERIC = {3, 4, 5, 6}  # cells that must not wrap mid-number (``2.71e-`` / ``93``)
_REF, _CUR = "#7aa6d6", "#e8743b"


def _cells(c: ColumnDrift) -> list[str]:
    return [c.column, c.kind, c.test or "—", fmt_number(c.statistic), fmt_number(c.p_value, 3),
            fmt_number(c.effect_size), fmt_number(c.threshold, 3), "yes" if c.drifted else ("no" if c.test else "—")]


def drift_text(report: DriftReport) -> str:
    rows = [list(_HEAD)] + [_cells(c) for c in report.columns]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD))]
    lines = [report.verdict, ""] + ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines += [f"  {c.column}: {c.note}" for c in report.columns if c.note]
    if report.quality.issues:
        lines += ["", quality_text(report.quality)]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    """One line, with HTML special characters escaped: Markdown renderers pass raw HTML through."""
    return html.escape(text.replace("\n", " "), quote=False)


def drift_markdown(report: DriftReport) -> str:
    lines = [f"**{_one_line(report.verdict)}**", "", "| " + " | ".join(_HEAD) + " |",
             "|" + "---|" * len(_HEAD)]
    lines += ["| " + " | ".join(md_cell(v) for v in _cells(c)) + " |" for c in report.columns]
    notes = [f"- {_one_line(c.column)}: {_one_line(c.note)}" for c in report.columns if c.note]
    notes += [f"- {i.severity}: {_one_line(i.message)}" for i in report.quality.issues]
    return "\n".join(lines + (["", *notes] if notes else []))


def drift_html(report: DriftReport) -> str:
    e = html.escape
    if report.insufficient_data:
        colour = "color:#5f6368;color:var(--jp-content-font-color2, #5f6368)"  # no verdict: neither green nor alarm
    elif report.drifted:
        colour = ink("--jp-error-color1", "#b3261e")
    elif report.drifted_columns:
        colour = ink("--jp-warn-color1", "#8a5a00")
    else:
        colour = ink("--jp-success-color1", "#1e6b34")
    rows = []
    for c in report.columns:
        cells = [Cell(v, NOWRAP) if i in _NUMERIC else v for i, v in enumerate(_cells(c))]
        chart = Html(distribution_svg(c.chart, c.column)) if c.chart else ""
        rows.append(Row([*cells, chart, c.note], "mlops-drifted", DRIFT_ROW_STYLE) if c.drifted
                    else [*cells, chart, c.note])
    legend = (f'<span style="color:{_REF}">■</span> reference '
              f'<span style="color:{_CUR}">□</span> current')
    table = html_table([*_HEAD, "distribution", "note"], rows, css_class="mlops-drift-table", style=None,
                       cell_style="", head_style=NOWRAP)
    out = (f'<div class="mlops-drift"><p style="{colour};font-weight:bold">{e(report.verdict)}</p>{table}'
           f'<p style="font-size:smaller">{legend} · α = {report.alpha:g}; a column drifts when '
           f"p &lt; α and its effect size ≥ its threshold</p>")
    if report.quality.issues:
        out += _issues_html(report.quality)
    return out + "</div>"


def _issues_html(q: QualityReport) -> str:
    items = "".join(f"<li><b>{html.escape(i.severity)}</b> {html.escape(i.message)}</li>" for i in q.issues)
    return f"<p>{html.escape(q.verdict)}</p><ul class=\"mlops-quality\">{items}</ul>"


def quality_text(q: QualityReport) -> str:
    return "\n".join([q.verdict] + [f"  [{i.severity}] {i.message}" for i in q.issues])


def quality_markdown(q: QualityReport) -> str:
    return "\n".join([f"**{_one_line(q.verdict)}**", ""] +
                     [f"- {i.severity}: {_one_line(i.message)}" for i in q.issues])


def quality_html(q: QualityReport) -> str:
    return f'<div class="mlops-quality">{_issues_html(q)}</div>'


def distribution_svg(chart: dict[str, Any], title: str = "", width: int = 140, height: int = 36) -> str:
    """Reference shares as filled bars, current shares as outlined bars over them."""
    ref, cur = chart.get("reference") or [], chart.get("current") or []
    if not ref:
        return ""
    top = max(max(ref), max(cur, default=0.0)) or 1.0
    step = width / len(ref)
    labels = chart.get("labels")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img"><title>{html.escape(title)}: reference vs current'
             "</title>"]
    for i, (r, c) in enumerate(zip(ref, cur)):
        x = i * step
        rh, ch = r / top * (height - 1), c / top * (height - 1)
        tip = (f"<title>{html.escape(str(labels[i]))}: {r:.1%} → {c:.1%}</title>"
               if labels else "")
        parts.append(f'<g>{tip}<rect x="{x + 0.5:.1f}" y="{height - rh:.1f}" width="{max(step - 1, 0.5):.1f}" '
                     f'height="{rh:.1f}" fill="{_REF}" fill-opacity="0.7"/>'
                     f'<rect x="{x + 0.5:.1f}" y="{height - ch:.1f}" width="{max(step - 1, 0.5):.1f}" '
                     f'height="{ch:.1f}" fill="{_CUR}" fill-opacity="0.15" stroke="{_CUR}" '
                     f'stroke-width="1"/></g>')
    return "".join(parts) + "</svg>"

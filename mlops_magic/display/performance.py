"""Performance reports as text and escaped HTML: per window, realized beside estimated, and the verdict."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .charts import line_chart
from .html import NOWRAP, Cell, esc, fmt_number, html_table, ink

if TYPE_CHECKING:
    from ..monitoring.performance import PerformanceReport, WindowPerformance

VERDICT_STYLE = {"ok": ink("--jp-success-color1", "#2e7d32"), "drop": ink("--jp-error-color1", "#c62828")}


def _band(w: WindowPerformance, metric: str) -> str:
    band = w.band.get(metric)
    return f"[{fmt_number(band[0])}, {fmt_number(band[1])}]" if band else ""


def _when(w: WindowPerformance) -> str:
    if w.start is None:
        return "batch"
    start = datetime.fromtimestamp(w.start, timezone.utc).strftime("%Y-%m-%d %H:%M")
    return f"from {start}"


def headline(report: PerformanceReport) -> str:
    latest = report.latest
    if latest is None or latest.value is None:
        return f"{report.model} v{report.version}: {report.verdict} for {report.metric}"
    sign = "<" if report.verdict == "drop" and report.metric not in ("mae", "rmse") else ">"
    judged = f"{report.metric} {fmt_number(latest.value)} ({latest.source})"
    if report.verdict == "drop":
        return f"{report.model} v{report.version}: performance drop: {judged} {sign} bar {fmt_number(report.bar)}"
    return f"{report.model} v{report.version}: {judged}, bar {fmt_number(report.bar)}: ok"


def performance_text(report: PerformanceReport) -> str:
    m = report.metric
    lines = [headline(report)]
    if report.note:
        lines.append(f"note: {report.note}")
    lines.append(f"{'window':22} {'rows':>7} {'labelled':>8} {'realized':>9} {'estimated':>9} {'band':>17}  verdict")
    for w in report.windows:
        lines.append(f"{_when(w):22} {w.rows:>7} {w.labelled:>8} {fmt_number(w.realized.get(m)):>9} "
                     f"{fmt_number(w.estimated.get(m)):>9} {_band(w, m):>17}  {w.verdict}")
    lines.append(f"reference {m} {fmt_number(report.reference.get(m))}; bar {fmt_number(report.bar)}")
    return "\n".join(lines)


def performance_html(report: PerformanceReport) -> str:
    m = report.metric
    rows = [[_when(w), w.rows, w.labelled, fmt_number(w.realized.get(m)), fmt_number(w.estimated.get(m)),
             Cell(_band(w, m), NOWRAP), Cell(w.verdict, VERDICT_STYLE.get(w.verdict, "color:inherit"))]
            for w in report.windows]
    points = [(w.start or float(i), w.value) for i, w in enumerate(report.windows) if w.value is not None]
    chart = line_chart(points, title=f"{m} per window (bar {fmt_number(report.bar)})") if len(points) > 1 else ""
    note = f"<p><i>{esc(report.note)}</i></p>" if report.note else ""
    table = html_table(["window", "rows", "labelled", f"realized {m}", f"estimated {m}", "band", "verdict"], rows,
                       css_class=None, style=None, cell_style="")
    return (f"<div class='mlops-performance'><b>{esc(headline(report))}</b>{note}{chart}{table}"
            f"<small>reference {esc(m)} {esc(fmt_number(report.reference.get(m)))}; bar {esc(fmt_number(report.bar))}"
            "; the estimate assumes no concept drift</small></div>")

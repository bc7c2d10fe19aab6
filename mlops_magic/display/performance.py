"""Performance reports as text and escaped HTML: per window, realized beside estimated, and the verdict."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .charts import line_chart
from .html import NOWRAP, esc, ink

if TYPE_CHECKING:
    from ..monitoring.performance import PerformanceReport, WindowPerformance

VERDICT_STYLE = {"ok": ink("--jp-success-color1", "#2e7d32"), "drop": ink("--jp-error-color1", "#c62828")}


def _num(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


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
    judged = f"{report.metric} {latest.value:.4g} ({latest.source})"
    if report.verdict == "drop":
        return f"{report.model} v{report.version}: performance drop: {judged} {sign} bar {report.bar:.4g}"
    return f"{report.model} v{report.version}: {judged}, bar {report.bar:.4g}: ok"


def performance_text(report: PerformanceReport) -> str:
    m = report.metric
    lines = [headline(report)]
    if report.note:
        lines.append(f"note: {report.note}")
    lines.append(f"{'window':22} {'rows':>7} {'labelled':>8} {'realized':>9} {'estimated':>9} {'band':>17}  verdict")
    for w in report.windows:
        band = w.band.get(m)
        band_text = f"[{_num(band[0])}, {_num(band[1])}]" if band else ""
        lines.append(f"{_when(w):22} {w.rows:>7} {w.labelled:>8} {_num(w.realized.get(m)):>9} "
                     f"{_num(w.estimated.get(m)):>9} {band_text:>17}  {w.verdict}")
    lines.append(f"reference {m} {_num(report.reference.get(m))}; bar {_num(report.bar)}")
    return "\n".join(lines)


def performance_html(report: PerformanceReport) -> str:
    m = report.metric
    rows = []
    for w in report.windows:
        band = w.band.get(m)
        colour = VERDICT_STYLE.get(w.verdict, "color:inherit")
        rows.append(
            f"<tr><td>{esc(_when(w))}</td><td>{w.rows}</td><td>{w.labelled}</td>"
            f"<td>{esc(_num(w.realized.get(m)))}</td><td>{esc(_num(w.estimated.get(m)))}</td>"
            f"<td style='{NOWRAP}'>{esc(f'[{_num(band[0])}, {_num(band[1])}]') if band else ''}</td>"
            f"<td style='{colour}'>{esc(w.verdict)}</td></tr>")
    points = [(w.start or float(i), w.value) for i, w in enumerate(report.windows) if w.value is not None]
    chart = line_chart(points, title=f"{m} per window (bar {report.bar:.4g})") if len(points) > 1 else ""
    note = f"<p><i>{esc(report.note)}</i></p>" if report.note else ""
    return (f"<div class='mlops-performance'><b>{esc(headline(report))}</b>{note}{chart}"
            f"<table><thead><tr><th>window</th><th>rows</th><th>labelled</th><th>realized {esc(m)}</th>"
            f"<th>estimated {esc(m)}</th><th>band</th><th>verdict</th></tr></thead><tbody>{''.join(rows)}</tbody>"
            f"</table><small>reference {esc(m)} {esc(_num(report.reference.get(m)))}; bar {esc(_num(report.bar))}"
            "; the estimate assumes no concept drift</small></div>")

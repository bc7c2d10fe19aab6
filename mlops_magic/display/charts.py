"""Small inline SVG charts: no matplotlib import, no network, every label escaped.

They follow the page's colours: no background (transparent), text and axes in ``currentColor`` (the
theme's text in JupyterLab, the report's ``color`` in a static page). One value is a value, not a
one-point line: :func:`line_chart` draws a single finite point as :func:`value_card`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ..entities import RunStatus
from .html import fmt_number

STATUS_COLOURS: dict[str, str] = {
    RunStatus.SUCCEEDED: "#2e7d32", RunStatus.FAILED: "#c62828", RunStatus.KILLED: "#6a1b9a",
    RunStatus.TIMED_OUT: "#ef6c00", RunStatus.SKIPPED: "#9e9e9e", RunStatus.RUNNING: "#1565c0",
    RunStatus.QUEUED: "#5c6bc0"}


LINE = "#1e88e5"  # readable on white and on JupyterLab's dark page (non-text contrast > 3:1 on both)
_SVG = 'xmlns="http://www.w3.org/2000/svg" fill="currentColor" style="background:transparent;overflow:visible"'


def value_card(value: float, *, title: str = "", label: str = "", width: int = 180, height: int = 64) -> str:
    """One metric value as a value: its name above, the number large, where it came from below."""
    aria = escape(f"{title} {fmt_number(value)}")
    out = [f'<svg {_SVG} width="{width}" height="{height}" role="img" aria-label="{aria}"'
           ' class="chart value-card">',
           f'<text x="8" y="14" font-size="11" font-weight="bold">{escape(title)}</text>',
           f'<text x="8" y="{height - 22}" font-size="22">{escape(fmt_number(value))}</text>']
    if label:
        out.append(f'<text x="8" y="{height - 6}" font-size="10" fill-opacity="0.75">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(points: Sequence[tuple[float, float]], *, title: str = "", width: int = 360, height: int = 140,
               labels: Sequence[str] | None = None, connect: bool = True) -> str:
    """A polyline of (x, y) points with min/max labels; NaN and inf points are left out. ``connect=False``
    draws the points alone (a scatter: an objective against one parameter of a sweep).

    A single finite point is drawn as :func:`value_card` (a line through one point says nothing).
    """
    finite = [i for i, (x, y) in enumerate(points) if math.isfinite(x) and math.isfinite(y)]
    pts = [points[i] for i in finite]
    labels = [labels[i] if i < len(labels) else "" for i in finite] if labels else None
    if len(pts) == 1:
        return value_card(pts[0][1], title=title, label=labels[0] if labels else "")
    pad_l, pad_r, pad_t, pad_b = 48, 10, 20, 20
    out = [f'<svg {_SVG} width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(title)}" class="chart">',
           f'<text x="{pad_l}" y="13" font-size="11" font-weight="bold">{escape(title)}</text>']
    if not pts:
        out.append(f'<text x="{pad_l}" y="{height // 2}" font-size="11" fill-opacity="0.75">no finite values</text>'
                   "</svg>")
        return "".join(out)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - (abs(y0) or 1) * 0.05, y1 + (abs(y1) or 1) * 0.05
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (x - x0) / (x1 - x0) * w

    def sy(y: float) -> float:
        return pad_t + h - (y - y0) / (y1 - y0) * h

    out.append(f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" '
               'stroke="currentColor" stroke-opacity="0.25"/>')
    out.append(f'<text x="{pad_l - 4}" y="{pad_t + 9}" font-size="10" text-anchor="end">{fmt_number(y1)}</text>')
    out.append(f'<text x="{pad_l - 4}" y="{pad_t + h}" font-size="10" text-anchor="end">{fmt_number(y0)}</text>')
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
    if connect:
        out.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="1.5" points="{path}"/>')
    for i, (x, y) in enumerate(pts):
        tip = f"{labels[i]}: " if labels and labels[i] else ""
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{LINE}">'
                   f"<title>{escape(tip)}{fmt_number(y)}</title></circle>")
    out.append("</svg>")
    return "".join(out)


def timeline(stages: Sequence[dict[str, object]], *, width: int = 640) -> str:
    """Horizontal bars per stage attempt: offset and duration from the run start, coloured by status."""
    if not stages:
        return '<p class="muted">no stages recorded</p>'
    row, pad_l = 22, 140
    t0 = min(float(s["start"]) for s in stages)  # type: ignore[arg-type]
    t1 = max(float(s["end"]) for s in stages)  # type: ignore[arg-type]
    span = max(t1 - t0, 1e-3)
    w = width - pad_l - 60
    height = row * len(stages) + 10
    out = [f'<svg {_SVG} width="{width}" height="{height}" class="timeline">']
    for i, s in enumerate(stages):
        y = 5 + i * row
        start, end = float(s["start"]) - t0, float(s["end"]) - t0  # type: ignore[arg-type]
        x = pad_l + start / span * w
        bw = max(2.0, (end - start) / span * w)
        colour = STATUS_COLOURS.get(str(s["status"]), "#607d8b")
        label = escape(str(s["label"]))
        out.append(f'<text x="{pad_l - 6}" y="{y + 14}" font-size="11" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{bw:.1f}" height="14" fill="{colour}" rx="2">'
                   f'<title>{label} {escape(str(s["status"]))} {end - start:.2f}s</title></rect>')
        out.append(f'<text x="{x + bw + 4:.1f}" y="{y + 14}" font-size="10">{end - start:.2f}s</text>')
    out.append("</svg>")
    return "".join(out)


def status_strip(statuses: Sequence[tuple[str, str]]) -> str:
    """One square per run (oldest first), coloured by status, with the run id as tooltip."""
    size = 12
    out = [f'<svg {_SVG} width="{max(1, len(statuses)) * (size + 2)}" '
           f'height="{size}" class="strip">']
    for i, (run_id, status) in enumerate(statuses):
        colour = STATUS_COLOURS.get(status, "#607d8b")
        out.append(f'<rect x="{i * (size + 2)}" y="0" width="{size}" height="{size}" fill="{colour}">'
                   f"<title>{escape(run_id[:8])} {escape(status)}</title></rect>")
    out.append("</svg>")
    return "".join(out)

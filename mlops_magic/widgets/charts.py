"""Metric charts as PNG images: matplotlib's Agg canvas, no pyplot state, no network, no server.

An image works everywhere a notebook is read (widget, static HTML, report);
10,000 points draw in well under a second because markers are only drawn for
short series.
"""

from __future__ import annotations

import base64
import io
import math
from itertools import pairwise
from typing import Any

from ..display.html import esc
from .data import Series

MARKER_LIMIT = 60  # draw point markers only for short series, so long ones stay fast and legible


def mpl_text(text: str) -> str:
    """A user string as literal matplotlib text: no mathtext (``$``), not hidden from the legend (``_``)."""
    text = str(text).replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def render_png(panels: list[tuple[str, list[Series]]], *, xlabel: str, ylabel: str | None = None,
               time_axis: bool = False, columns: int = 2, dpi: int = 100) -> bytes:
    """One subplot per (title, series) panel, every series a labelled line; returns PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = max(1, len(panels))
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(5.2 * cols, 3.4 * rows), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        if not panels:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            break
        title, series = panels[i]
        _draw(ax, title, series, xlabel=xlabel, ylabel=ylabel)
        if time_axis:
            for label in ax.get_xticklabels():
                label.set_rotation(30)
                label.set_horizontalalignment("right")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _draw(ax: Any, title: str, series: list[Series], *, xlabel: str, ylabel: str | None) -> None:
    drawn = 0
    for s in series:
        if not s.x:
            continue
        marker = "o" if len(s.x) <= MARKER_LIMIT else None
        ax.plot(s.x, s.y, marker=marker, markersize=3.5, linewidth=1.4, label=mpl_text(s.label))
        drawn += 1
    ax.set_title(mpl_text(title), fontsize=11)
    ax.set_xlabel(mpl_text(xlabel))
    ax.set_ylabel(mpl_text(ylabel if ylabel is not None else title))
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no values logged", ha="center", va="center", transform=ax.transAxes, color="#777")


def img_html(png: bytes, alt: str) -> str:
    """An inline ``<img>`` (data URI) with an escaped alt text: readable in any static copy."""
    data = base64.b64encode(png).decode("ascii")
    return f"<img class='mlops-chart' alt='{esc(alt)}' style='max-width:100%' src='data:image/png;base64,{data}'>"


def image_widget(png: bytes) -> Any:
    import ipywidgets as w

    return w.Image(value=png, format="png", layout=w.Layout(max_width="100%", height="auto"))


def render_distribution_png(chart: dict[str, Any], column: str, dpi: int = 100) -> bytes:
    """Reference vs current shares of one column (a drift report's ``chart``): filled vs outlined bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ref, cur = chart.get("reference") or [], chart.get("current") or []
    if chart.get("type") == "hist" and chart.get("edges"):
        edges = chart["edges"]
        lefts, widths = edges[:-1], [b - a for a, b in pairwise(edges)]
        ax.bar(lefts, ref, width=widths, align="edge", color="#7aa6d6", alpha=0.7, label="reference")
        ax.bar(lefts, cur, width=widths, align="edge", fill=False, edgecolor="#e8743b", linewidth=1.4,
               label="current")
        ax.set_xlabel(mpl_text(column))
    else:
        labels = [mpl_text(str(v)) for v in chart.get("labels") or range(len(ref))]
        xs = list(range(len(ref)))
        ax.bar(xs, ref, color="#7aa6d6", alpha=0.7, label="reference")
        ax.bar(xs, cur, fill=False, edgecolor="#e8743b", linewidth=1.4, label="current")
        ax.set_xticks(xs, labels, rotation=30, ha="right")
        ax.set_xlabel(mpl_text(column))
    ax.set_ylabel("share of rows")
    ax.set_title(mpl_text(f"{column}: reference vs current"), fontsize=11)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()

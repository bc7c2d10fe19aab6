"""Metric charts drawn by matplotlib (no pyplot state, no network, no server): inline SVG that follows the
theme, or PNG.

The notebook panels show :func:`render_svg`: a transparent background, and text, axes, ticks and grid in
``currentColor`` (the theme's text colour in JupyterLab, light or dark; the page's colour in a static copy),
so a chart is no bright white box in a dark notebook. Colours are drawn with sentinel values and replaced
in the SVG text; the comments matplotlib writes (they repeat the labels) are removed. :func:`render_png`
stays for callers that want an image (white background). 10,000 points draw in well under a second
because markers are only drawn for short series.

A panel whose every series has one point is a bar per series with its value written on it, not a line
through a single dot.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

from ..display.html import esc, fmt_number
from .data import Series

MARKER_LIMIT = 60  # draw point markers only for short series, so long ones stay fast and legible
_INK, _PAPER = "#010203", "#040506"  # sentinels: the theme's text colour, the theme's page (legend box)
#: Text in the colour the chart inherits (the output area's, the page's); the legend box in the theme's page
#: colour where there is a theme, else see-through (a fixed white would hide light text in a dark page).
_SVG_COLOURS = {_INK: "currentColor", _PAPER: "var(--jp-layout-color1, transparent)"}


def mpl_text(text: str) -> str:
    """A user string as literal matplotlib text: no mathtext (``$``), not hidden from the legend (``_``)."""
    text = str(text).replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


@contextmanager
def _themed(themed: bool) -> Iterator[None]:
    """matplotlib settings for a themed SVG (sentinel colours, no backgrounds), or the defaults."""
    import matplotlib

    if not themed:
        with matplotlib.rc_context({"svg.hashsalt": "mlops"}):
            yield
        return
    with matplotlib.rc_context({
        "text.color": _INK, "axes.labelcolor": _INK, "axes.edgecolor": _INK, "xtick.color": _INK,
        "ytick.color": _INK, "grid.color": _INK, "legend.edgecolor": _INK, "legend.facecolor": _PAPER,
        "figure.facecolor": "none", "axes.facecolor": "none", "savefig.facecolor": "none",
        "savefig.edgecolor": "none", "svg.hashsalt": "mlops",
    }):
        yield


def _svg_text(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r"<style type=\"text/css\">.*?</style>", "", svg, flags=re.S)  # a global `*{}` rule
    for sentinel, css in _SVG_COLOURS.items():
        svg = svg.replace(sentinel, css)
    width = re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', svg)
    px = round(float(width.group(1)) * 4 / 3) if width else 520
    svg = re.sub(r'(<svg[^>]*?) width="[\d.]+pt" height="[\d.]+pt"',
                 rf'\1 style="width:100%;max-width:{px}px;height:auto;background:transparent"', svg, count=1)
    return re.sub(r">\s+<", "><", svg).strip()


def render_svg(panels: list[tuple[str, list[Series]]], *, xlabel: str, ylabel: str | None = None,
               time_axis: bool = False, columns: int = 2) -> str:
    """Like :func:`render_png`, as inline SVG in the theme's colours (see the module docstring)."""
    with _themed(True):
        fig = _figure(panels, xlabel=xlabel, ylabel=ylabel, time_axis=time_axis, columns=columns, dpi=72)
        return _svg_text(fig)


def render_png(panels: list[tuple[str, list[Series]]], *, xlabel: str, ylabel: str | None = None,
               time_axis: bool = False, columns: int = 2, dpi: int = 100) -> bytes:
    """One subplot per (title, series) panel, every series a labelled line; returns PNG bytes."""
    with _themed(False):
        fig = _figure(panels, xlabel=xlabel, ylabel=ylabel, time_axis=time_axis, columns=columns, dpi=dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _figure(panels: list[tuple[str, list[Series]]], *, xlabel: str, ylabel: str | None, time_axis: bool,
            columns: int, dpi: int) -> Any:
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
        if single_values(series):
            _draw_values(ax, title, series)
            continue
        _draw(ax, title, series, xlabel=xlabel, ylabel=ylabel)
        if time_axis:
            for label in ax.get_xticklabels():
                label.set_rotation(30)
                label.set_horizontalalignment("right")
    return fig


def single_values(series: list[Series]) -> bool:
    """Whether a panel holds one value per series (then bars, not lines through single dots)."""
    return any(s.x for s in series) and all(len(s.x) <= 1 for s in series)


def _draw_values(ax: Any, title: str, series: list[Series]) -> None:
    """One horizontal bar per series with its value written beside it (NaN: written, no bar)."""
    shown = [s for s in series if s.x]
    values = [float(s.y[0]) for s in shown]
    finite = [v if math.isfinite(v) else 0.0 for v in values]
    ys = list(range(len(shown)))[::-1]
    colours = [f"C{i % 10}" for i in range(len(shown))]
    ax.barh(ys, finite, color=colours, height=0.6)
    ax.set_yticks(ys, [mpl_text(s.label) for s in shown])
    span = max((abs(v) for v in finite), default=0.0) or 1.0
    for y, v, f in zip(ys, values, finite):
        ax.text(f + span * 0.02 if f >= 0 else f - span * 0.02, y, fmt_number(v), va="center",
                ha="left" if f >= 0 else "right", fontsize=10)
    lo, hi = min(0.0, *finite), max(0.0, *finite)
    ax.set_xlim(lo - (span * 0.25 if lo < 0 else 0), hi + span * 0.25)
    ax.set_title(mpl_text(title), fontsize=11)
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


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
        ax.text(0.5, 0.5, "no values logged", ha="center", va="center", transform=ax.transAxes, alpha=0.75)


def img_html(png: bytes, alt: str) -> str:
    """An inline ``<img>`` (data URI) with an escaped alt text: readable in any static copy."""
    data = base64.b64encode(png).decode("ascii")
    return f"<img class='mlops-chart' alt='{esc(alt)}' style='max-width:100%' src='data:image/png;base64,{data}'>"


def chart_html(svg: str, alt: str) -> str:
    """An inline SVG chart in a wrapper that gives it the theme's text colour and an accessible name."""
    if not svg:
        return ""
    return (f"<div class='mlops-chart' role='img' aria-label='{esc(alt)}' "
            "style='background:transparent;max-width:100%'>" + svg + "</div>")


def chart_widget(svg: str, alt: str) -> Any:
    """The same chart as an ``ipywidgets.HTML`` (its ``value`` can be swapped to redraw)."""
    import ipywidgets as w

    return w.HTML(chart_html(svg, alt), layout=w.Layout(max_width="100%"))


def image_widget(png: bytes) -> Any:
    import ipywidgets as w

    return w.Image(value=png, format="png", layout=w.Layout(max_width="100%", height="auto"))


def render_distribution_png(chart: dict[str, Any], column: str, dpi: int = 100) -> bytes:
    """Reference vs current shares of one column (a drift report's ``chart``): filled vs outlined bars."""
    with _themed(False):
        fig = _distribution_figure(chart, column, dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def render_distribution_svg(chart: dict[str, Any], column: str) -> str:
    """:func:`render_distribution_png` as themed inline SVG."""
    with _themed(True):
        return _svg_text(_distribution_figure(chart, column, 72))


def _distribution_figure(chart: dict[str, Any], column: str, dpi: int) -> Any:
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
    return fig

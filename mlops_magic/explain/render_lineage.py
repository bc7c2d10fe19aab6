"""A lineage graph as inline SVG: one column per layer, boxes stacked, links as curves; all text escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..display.html import esc

if TYPE_CHECKING:
    from .lineage import Lineage

_COL_W, _BOX_W, _BOX_H, _GAP, _TOP = 260, 220, 38, 14, 30
#: the layers, left to right (the same order as ``lineage.LAYERS``)
_FILL = {"data": "#e3f2fd", "run": "#f1f8e9", "version": "#fff8e1", "monitor": "#fce4ec"}
_TITLES = {"data": "data", "run": "runs", "version": "model versions", "monitor": "monitor runs"}


def _clip(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def lineage_svg(graph: Lineage) -> str:
    layers = [k for k in _TITLES if graph.layer(k)]
    pos: dict[str, tuple[float, float]] = {}
    height = _TOP
    for col, kind in enumerate(layers):
        for row, node in enumerate(graph.layer(kind)):
            pos[node.id] = (10 + col * _COL_W, _TOP + row * (_BOX_H + _GAP))
            height = max(height, _TOP + (row + 1) * (_BOX_H + _GAP))
    width = 20 + max(1, len(layers)) * _COL_W
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 10}" role="img" '
           f'aria-label="lineage of {esc(graph.ref)}" font-family="Helvetica, Arial, sans-serif">',
           '<defs><marker id="mlops-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
           'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>']
    for col, kind in enumerate(layers):
        out.append(f'<text x="{10 + col * _COL_W}" y="18" font-size="12" font-weight="bold">'
                   f"{esc(_TITLES[kind])}</text>")
    for e in graph.edges:
        if e.source not in pos or e.target not in pos:
            continue
        (x1, y1), (x2, y2) = pos[e.source], pos[e.target]
        sx, sy, tx, ty = x1 + _BOX_W, y1 + _BOX_H / 2, x2, y2 + _BOX_H / 2
        if tx <= sx:  # a link back or within a column: loop below the boxes
            sx, tx = x1 + _BOX_W / 2, x2 + _BOX_W / 2
            sy, ty = y1 + _BOX_H, y2 + _BOX_H
            mid = max(sy, ty) + 18
            d = f"M {sx:.0f} {sy:.0f} C {sx:.0f} {mid:.0f}, {tx:.0f} {mid:.0f}, {tx:.0f} {ty:.0f}"
            lx, ly = (sx + tx) / 2, mid
        else:
            cx = (sx + tx) / 2
            d = f"M {sx:.0f} {sy:.0f} C {cx:.0f} {sy:.0f}, {cx:.0f} {ty:.0f}, {tx:.0f} {ty:.0f}"
            lx, ly = cx, (sy + ty) / 2 - 3
        out.append(f'<path d="{d}" fill="none" stroke="#999" stroke-width="1.2" marker-end="url(#mlops-arrow)">'
                   f"<title>{esc(e.label)}</title></path>")
        out.append(f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="9" fill="#555" text-anchor="middle">'
                   f"{esc(_clip(e.label, 24))}</text>")
    for node in graph.nodes.values():
        if node.id not in pos:
            continue
        x, y = pos[node.id]
        stroke = ' stroke="#e65100" stroke-width="2.5"' if node.focus else ' stroke="#90a4ae"'
        out.append(f'<g><title>{esc(node.label)} {esc(node.detail)}</title>'
                   f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="5" '
                   f'fill="{_FILL[node.kind]}"{stroke}/>'
                   f'<text x="{x + 6}" y="{y + 15}" font-size="11">{esc(_clip(node.label))}</text>'
                   f'<text x="{x + 6}" y="{y + 30}" font-size="9" fill="#555">{esc(_clip(node.detail, 40))}</text></g>')
    out.append("</svg>")
    return "".join(out)

"""A sweep's report: its points in one table and the objective against each swept parameter.

The same page parts as a run's report (``report/html.py``: the page, badges, tables; ``display/charts.py``:
the SVG chart), so a sweep's page looks like a run's and opens offline. A text summary of the same data
(:func:`sweep_text`) is what ``mlops sweep`` and ``mlops runs --sweep`` print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..display.charts import line_chart
from ..display.html import Html, esc, fmt_number, fmt_param
from ..tracking.sweeps import sweep_detail
from . import _write, default_report_path
from .html import _badge, _page, _table


def objective_points(detail: dict[str, Any]) -> tuple[str | None, dict[str, list[tuple[float, float, str]]]]:
    """The objective metric, and for each swept parameter the (x, objective, point label) of each point that
    has one; a parameter of text values is placed by the order its values first appear."""
    rule = detail["sweep"].get("select_rule") or ""
    metric = rule.split()[1] if len(rule.split()) > 1 else None
    out: dict[str, list[tuple[float, float, str]]] = {}
    for name in detail["sweep"]["space"]:
        order: dict[str, int] = {}
        pts = []
        for p in detail["points"]:
            value, y = p["params"].get(name), p["metrics"].get(metric) if metric else None
            if y is None:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                x = float(value)
            else:
                x = float(order.setdefault(fmt_param(value), len(order)))
            pts.append((x, float(y), f"{p['id'][:8]} {name}={fmt_param(value)}"))
        out[name] = sorted(pts)
    return metric, out


def sweep_html(detail: dict[str, Any]) -> str:
    run, row = detail["run"], detail["sweep"]
    metric, charts = objective_points(detail)
    names = list(row["space"])
    best = row.get("best_run_id")
    rows = [[Html(f"<code>{esc(p['id'][:8])}</code>" + (" ★" if p["id"] == best else "")), _badge(p["status"]),
             *[fmt_param(p["params"].get(n)) for n in names],
             fmt_number(p["metrics"].get(metric), 6) if metric else ""] for p in detail["points"]]
    svg = "".join(line_chart([(x, y) for x, y, _ in pts], title=f"{metric} vs {name}", connect=False,
                             labels=[lab for _, _, lab in pts]) for name, pts in charts.items() if pts)
    space = ", ".join(f"{n}: {s}" for n, s in row["space"].items())
    head = [f"<h1>sweep {esc(run.id[:8])} of {esc(run.notebook or '')} {_badge(run.status)}</h1>",
            f'<p class="muted">{esc(row["method"])} over {esc(space)} · {row["points"]} points'
            + (f" · seed {row['seed']}" if row.get("seed") is not None else "")
            + (f" · select <code>{esc(row['select_rule'])}</code>" if row.get("select_rule") else "") + "</p>"]
    if best:
        head.append(f"<p>best: run <code>{esc(best[:8])}</code> {esc(metric or '')} = "
                    f"{esc(fmt_number(row['best_value'], 6))}</p>")
    if run.error:
        head.append(f'<div class="error">{esc(run.error)}</div>')
    body = [*head, "<h2>Objective against each parameter</h2>",
            f'<div class="charts">{svg}</div>' if svg else '<p class="muted">no point has the objective</p>',
            "<h2>Points</h2>", _table(["run", "status", *names, metric or "objective"], rows)]
    return _page(f"sweep {run.id[:8]} — {run.notebook or ''}", "".join(body))


def sweep_text(detail: dict[str, Any]) -> str:
    """The points as a plain table, the best marked ``*``: for a terminal."""
    metric, _ = objective_points(detail)
    names = list(detail["sweep"]["space"])
    best = detail["sweep"].get("best_run_id")
    header = ["run", "status", *names, metric or "objective"]
    rows = [[p["id"][:8] + ("*" if p["id"] == best else ""), str(p["status"]),
             *[fmt_param(p["params"].get(n)) for n in names],
             fmt_number(p["metrics"].get(metric), 6) if metric else ""] for p in detail["points"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *rows])


def write_sweep_report(store: Any, ref: str, path: str | os.PathLike[str] | None = None) -> Path:
    detail = sweep_detail(store, ref)
    target = Path(path) if path else default_report_path(store, detail["run"].id)
    _write(target, sweep_html(detail))
    return target

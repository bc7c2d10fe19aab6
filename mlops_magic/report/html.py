"""Self-contained HTML reports: one page per run, and an index across runs.

Everything is inline (CSS, SVG charts, the executed notebook rendered by
nbconvert in an ``iframe srcdoc``), so a report opens offline, from a CI
artifact or an e-mail. Every string that came from a user is escaped.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..display.charts import STATUS_COLOURS, line_chart, status_strip, timeline, value_card
from ..display.html import Html, esc, fmt_number, fmt_param, fmt_size, html_table
from ..display.runs import cached_metric_note, cached_note, fmt_system
from ..entities import RunStatus, result_metrics

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #eee}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #e3e3e3;padding:3px 8px;text-align:left}
th{background:#fafafa} .muted{color:#777} .status{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px}
.error{background:#fff3f3;border-left:3px solid #c62828;padding:6px 10px;white-space:pre-wrap;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:12px} iframe{width:100%;height:900px;border:1px solid #ddd}
code{font-size:12px}
"""


def _badge(status: str) -> Html:
    return Html(f'<span class="status" style="background:{STATUS_COLOURS.get(status, "#607d8b")}">{esc(status)}</span>')


def _json(v: Any) -> Html:
    return Html(f"<code>{esc(json.dumps(v, default=str))}</code>")


def _value(v: Any) -> str | Html:
    """A metric at 6 significant digits; a structure as compact JSON."""
    return _json(v) if isinstance(v, (dict, list)) else fmt_number(v, 6)


def _param(v: Any) -> str | Html:
    """A parameter as it was given (``0.1``, ``1e-05``), not rounded like a metric."""
    return _json(v) if isinstance(v, (dict, list)) else fmt_param(v)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    """The page's tables take their look from :data:`CSS`; no rows is one muted word."""
    return html_table(headers, rows, css_class=None, style=None, cell_style="") if rows else '<p class="muted">none</p>'


def _code(text: str) -> Html:
    return Html(f"<code>{esc(text)}</code>")


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>")


def notebook_html(text: str | None) -> str:
    """The executed notebook (its JSON text) rendered by nbconvert, without any script that would need the
    network."""
    if not text:
        return '<p class="muted">no executed notebook was kept for this run</p>'
    try:
        import nbformat
        from nbconvert import HTMLExporter

        nb = nbformat.reads(text, as_version=4)
        body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    except Exception as exc:  # a report without the notebook beats no report
        return f'<p class="muted">the notebook could not be rendered: {esc(str(exc))}</p>'
    body = re.sub(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", "", body)
    body = re.sub(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", "", body)
    return (f'<iframe sandbox="allow-same-origin" title="executed notebook" '
            f'srcdoc="{esc(body)}"></iframe>')


def run_html(d: dict[str, Any], *, include_notebook: bool = True) -> str:
    stages = d.get("stages", [])
    bars = []
    for s in stages:
        from datetime import datetime

        start = datetime.fromisoformat(s["started"]).timestamp()
        end = start + (s.get("duration") or 0.0)
        label = s["name"] + (f" #{s['attempt']}" if s.get("attempt", 1) > 1 else "")
        bars.append({"label": label, "start": start, "end": end, "status": s["status"]})
    stage_rows = [[s["name"], s["kind"], s["attempt"], Html(_badge(s["status"]) + esc(cached_note(s))),
                   f"{s['duration']:.2f}s" if s.get("duration") is not None else "",
                   f"{s['error_type']}: {s['error_message']}" if s.get("error_type") else "",
                   ", ".join(v["name"] for v in s.get("variables", []))] for s in stages]
    history = d.get("metric_history", {})
    charts = "".join(line_chart([(float(step), float(v)) for step, v in pts], title=key)
                     for key, pts in history.items() if len(pts) > 1)
    metric_rows = [[k, f"{fmt_number(v['value'], 6)}{cached_metric_note(v)}", v["step"], v["points"]]
                   for k, v in result_metrics(d.get("metrics_latest", {})).items()]  # numbers (nan as "nan")
    system = fmt_system(d.get("system"), d.get("duration"))
    artifacts = [[a["name"], Html(f'<span title="{a["size"]:,} bytes">{esc(fmt_size(a["size"]))}</span>'),
                  _code(a["digest"][:12])] for a in d.get("artifacts", [])]
    fps = [[f.get("name"), f.get("role"), f["kind"], f.get("rows"), _code(f["digest"][:16])]
           for f in d.get("fingerprints", [])]
    gates = [[_code(g["expression"]), _badge(RunStatus.SUCCEEDED if g["passed"] else RunStatus.FAILED),
              "soft" if g["soft"] else "hard", _value(g["clauses"])] for g in d.get("gates", [])]
    params = [[k, _param(v)] for k, v in d.get("params", {}).items()]
    error = f'<div class="error">{esc(d["error"])}</div>' if d.get("error") else ""
    duration = f"{d['duration']:.1f}s" if d.get("duration") is not None else str(RunStatus.RUNNING)
    sections = [
        f"<h1>{esc(d.get('notebook') or d['id'])} {_badge(d['status'])}</h1>",
        f'<p class="muted">run <code>{esc(d["id"])}</code> · trigger {esc(d["trigger"])} · started '
        f"{esc(d['started'][:19].replace('T', ' '))} UTC · {duration}"
        + (f" · commit <code>{esc(d['code_version'][:10])}</code>" if d.get("code_version") else "")
        + (f" · schedule <code>{esc(d['schedule_id'])}</code>" if d.get("schedule_id") else "") + "</p>",
        f'<p class="muted">system: {esc(system)}</p>' if system else "",
        error,
        "<h2>Stages</h2>", timeline(bars),
        _table(["stage", "kind", "attempt", "status", "duration", "error", "variables"], stage_rows),
        "<h2>Parameters</h2>", _table(["name", "value"], params),
        "<h2>Metrics</h2>", _table(["metric", "last value", "step", "points"], metric_rows),
        f'<div class="charts">{charts}</div>' if charts else "",
        "<h2>Artifacts</h2>", _table(["name", "size", "digest"], artifacts),
        "<h2>Data fingerprints</h2>", _table(["name", "role", "kind", "rows", "digest"], fps),
    ]
    if gates:
        sections += ["<h2>Quality gates</h2>", _table(["gate", "result", "kind", "clauses"], gates)]
    if d.get("drift_reports"):
        sections += ["<h2>Drift</h2>", *(r._repr_html_() for r in d["drift_reports"])]
    if d.get("performance_reports"):
        sections += ["<h2>Performance</h2>", *(r._repr_html_() for r in d["performance_reports"])]
    if include_notebook:
        sections += ["<h2>Executed notebook</h2>", notebook_html(d.get("executed_notebook"))]
    return _page(f"run {d['id'][:8]} — {d.get('notebook') or ''}", "".join(sections))


def index_html(data: dict[str, Any], link: Any = None) -> str:
    """Status history and metric trends per notebook; ``link(run_id)`` gives each run's page."""
    link = link or (lambda run_id: None)
    parts = [f"<h1>mlops runs</h1><p class='muted'>{data['count']} runs</p>"]
    for notebook, runs in data["notebooks"].items():
        parts.append(f"<h2>{esc(notebook)}</h2>")
        parts.append(status_strip([(r["id"], r["status"]) for r in runs]))
        keys = sorted({k for r in runs for k in r["metrics"]})
        charts = []
        for key in keys:
            measured = [r for r in runs
                        if isinstance(r["metrics"].get(key), float) and math.isfinite(r["metrics"][key])]
            if len(measured) == 1:  # one run has it: a value, not a line through one dot
                only = measured[0]
                charts.append(value_card(only["metrics"][key], title=key, label=f"run {only['id'][:8]}"))
            elif measured:
                charts.append(line_chart([(r["ts"], r["metrics"][key]) for r in measured], title=key,
                                         labels=[r["id"][:8] for r in measured]))
        if charts:
            parts.append(f'<div class="charts">{"".join(charts)}</div>')
        rows = []
        for r in reversed(runs[-50:]):
            href = link(r["id"])
            rid = Html(f'<a href="{esc(href)}">{esc(r["id"][:8])}</a>') if href else r["id"][:8]
            metrics = ", ".join(f"{k}={fmt_number(v)}" for k, v in list(r["metrics"].items())[:4])
            rows.append([rid, _badge(r["status"]), r["trigger"], r["started"][:19].replace("T", " "),
                         f"{r['duration']:.1f}s" if r["duration"] is not None else "", metrics,
                         (r["error"] or "")[:160]])
        parts.append(_table(["run", "status", "trigger", "started", "duration", "metrics", "error"], rows))
    return _page("mlops runs", "".join(parts))

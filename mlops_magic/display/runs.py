"""Rich displays for notebooks: a run and a lifecycle as escaped HTML and plain text.

Every user-controlled string (run names, params, metric names, errors) goes
through :func:`~mlops_magic.display.html.esc`; these views are also what headless notebooks and
reports keep, so they need no JavaScript.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..entities import RunStatus
from .html import STATUS_ICON, Html, esc, fmt_duration, fmt_number, fmt_param, fmt_size, html_table, ink, status_style

if TYPE_CHECKING:
    from ..tracking.queries import Lifecycle


WARN = ink("--jp-warn-color1", "#b45309")
ERROR = ink("--jp-error-color1", "#c62828")


def _status(status: str) -> Html:
    return Html(f'<span style="{status_style(status)}">{esc(STATUS_ICON.get(status, ""))} {esc(status)}</span>')


def lifecycle_html(view: Lifecycle) -> str:
    rows = []
    for s in view.stages:
        label = s.kind if s.name == s.kind else f"{s.kind} · {s.name}"
        notes = "; ".join(s.warnings)
        if s.error:
            notes = f"{s.error}" + (f"; {notes}" if notes else "")
        rows.append([label, _status(s.status), s.attempt or "", fmt_duration(s.duration),
                     Html(f"<span style='{WARN}'>{esc(notes)}</span>") if notes else ""])
    title = f"Lifecycle of run {esc(view.run_id[:8])}" if view.run_id else "Lifecycle"
    return f"<div class='mlops-lifecycle'><b>{title}</b>" + html_table(
        ["stage", "status", "attempt", "duration", "warnings"], rows) + "</div>"


def lifecycle_text(view: Lifecycle) -> str:
    lines = [f"Lifecycle of run {view.run_id[:8]}" if view.run_id else "Lifecycle"]
    for s in view.stages:
        label = s.kind if s.name == s.kind else f"{s.kind}:{s.name}"
        extra = "; ".join(([s.error] if s.error else []) + s.warnings)
        attempt = f"#{s.attempt}" if s.attempt else ""
        lines.append(f"  {STATUS_ICON.get(s.status, ' ')} {label:<18} {s.status:<10} {attempt:<4} "
                     f"{fmt_duration(s.duration):>9}  {extra}".rstrip())
    return "\n".join(lines)


class LifecycleView:
    """``%mlops status``: the six stages in order with status, attempt, duration and warnings."""

    def __init__(self, view: Lifecycle) -> None:
        self.view = view

    def _repr_html_(self) -> str:
        return lifecycle_html(self.view)

    def __repr__(self) -> str:
        return lifecycle_text(self.view)


def _autologged(detail: dict[str, Any], mark: str = "autolog") -> Any:
    """``marker(kind, key)``: ``mark`` for a value autolog recorded (docs/autolog.md), else ""."""
    marked = {(kind, key) for kind, keys in (detail.get("autologged") or {}).items() for key in keys}
    return lambda kind, key: mark if (kind, key) in marked else ""


class RunView:
    """``%mlops show``: one run's stages, params, metrics, artifacts and fingerprints."""

    def __init__(self, detail: dict[str, Any]) -> None:
        self.detail = detail

    def __getitem__(self, key: str) -> Any:
        return self.detail[key]

    def _repr_html_(self) -> str:
        d = self.detail
        parts = [f"<div class='mlops-run'><b>Run {esc(d['id'])}</b> {_status(d['status'])} · "
                 f"trigger {esc(d['trigger'])} · notebook {esc(d['notebook'] or '—')} · "
                 f"started {esc(d['started'][:19])} · {esc(fmt_duration(d['duration']))}"]
        if d.get("error"):
            parts.append(f"<div style='{ERROR}'>{esc(d['error'])}</div>")
        if d.get("code_version"):
            dirty = " (dirty)" if d.get("git_dirty") else ""
            parts.append(f"<div>git {esc(d['code_version'][:12])}{esc(dirty)}</div>")
        if _where(d):
            parts.append(f"<div>{esc(_where(d))}</div>")
        stages = [[s["kind"], s["name"], s["attempt"], Html(_status(s["status"]) + esc(cached_note(s))),
                   fmt_duration(s["duration"]),
                   f"{s['error_type']}: {s['error_message']}" if s.get("error_type") else "",
                   ", ".join(f"{v['name']}:{v['type']}" for v in s.get("variables") or [])]
                  for s in d["stages"]]
        if stages:
            parts.append("<h4>Stages</h4>" + html_table(
                ["kind", "name", "attempt", "status", "duration", "error", "variables"], stages))
        if d["lifecycle"]["warnings"]:
            parts.append(f"<div style='{WARN}'>" + "<br>".join(esc(w) for w in d["lifecycle"]["warnings"])
                         + "</div>")
        auto = _autologged(d)
        if d["params"]:
            parts.append("<h4>Parameters</h4>" + html_table(
                ["name", "value", ""], [[k, fmt_param(v), auto("params", k)] for k, v in d["params"].items()]))
        if d["metrics_latest"]:
            parts.append("<h4>Metrics</h4>" + html_table(
                ["name", "last value", "step", "points", ""],
                [[k, fmt_number(v["value"], 6) + cached_metric_note(v), v["step"], v["points"], auto("metrics", k)]
                 for k, v in d["metrics_latest"].items()]))
        if d["artifacts"]:
            parts.append("<h4>Artifacts</h4>" + html_table(
                ["name", "size", "digest", ""],
                [[a["name"], fmt_size(a["size"]), a["digest"][:12], auto("artifacts", a["name"])]
                 for a in d["artifacts"]]))
        if d["fingerprints"]:
            parts.append("<h4>Data fingerprints</h4>" + html_table(
                ["name", "role", "kind", "rows", "digest"],
                [[f["name"], f["role"], f["kind"], f["rows"], f["digest"][:16]] for f in d["fingerprints"]]))
        return "".join(parts) + "</div>"

    def __repr__(self) -> str:
        d = self.detail
        lines = [f"Run {d['id']}  {d['status']}  trigger={d['trigger']}  notebook={d['notebook'] or '-'}",
                 f"  started {d['started'][:19]}  duration {fmt_duration(d['duration']) or '-'}"]
        if d.get("code_version"):
            lines.append(f"  git {d['code_version'][:12]}{' (dirty)' if d.get('git_dirty') else ''}")
        if _where(d):
            lines.append(f"  {_where(d)}")
        if d.get("error"):
            lines.append(f"  error: {d['error']}")
        if d["stages"]:
            lines.append("Stages:")
            for s in d["stages"]:
                err = f"  {s['error_type']}: {s['error_message']}" if s.get("error_type") else ""
                lines.append(f"  {s['kind']:<9} {s['name']:<14} #{s['attempt']:<3} {s['status']:<10} "
                             f"{fmt_duration(s['duration']):>9}{err}{cached_note(s)}")
        for w in d["lifecycle"]["warnings"]:
            lines.append(f"  warning: {w}")
        auto = _autologged(d, "  (autolog)")
        if d["params"]:
            lines.append("Parameters:")
            lines.extend(f"  {k} = {fmt_param(v)}{auto('params', k)}" for k, v in d["params"].items())
        if d["metrics_latest"]:
            lines.append("Metrics (last value):")
            lines.extend(f"  {k} = {fmt_number(v['value'], 6)} (step {v['step']}, {v['points']} points"
                         f"{cached_metric_note(v)}){auto('metrics', k)}"
                         for k, v in d["metrics_latest"].items())
        if d["artifacts"]:
            lines.append("Artifacts:")
            lines.extend(f"  {a['name']}  {fmt_size(a['size'])}  {a['digest'][:12]}{auto('artifacts', a['name'])}"
                         for a in d["artifacts"])
        if d["fingerprints"]:
            lines.append("Data fingerprints:")
            lines.extend(f"  {f['name']} ({f['role']}, {f['kind']}, {f['rows']} rows)  {f['digest'][:16]}"
                         for f in d["fingerprints"])
        return "\n".join(lines)


def cached_note(stage: dict[str, Any]) -> str:
    """' (cached from run 8b3a30a0, saved 3.2 min)' for a stage the stage cache restored instead of running."""
    source = stage.get("cached_from")
    if not source:
        return ""
    return f" (cached from run {source['run_id'][:8]}, saved {fmt_duration(source['saved_seconds'])})"


def cached_metric_note(metric: dict[str, Any]) -> str:
    """', cached from run 8b3a30a0' for a metric a restored stage copied from the run that computed it."""
    return f", cached from run {metric['cached_from'][:8]}" if metric.get("cached_from") else ""


def _where(d: dict[str, Any]) -> str:
    """'executor dask://… · worker tcp://…' (or why a queued run waits) for runs sent to a cluster."""
    if not d.get("worker") and d.get("status") != RunStatus.QUEUED:
        return ""
    parts = [f"executor {d.get('executor') or '-'}"]
    if d.get("worker"):
        parts.append(f"worker {d['worker']}")
    if d.get("status") == RunStatus.QUEUED and d.get("waiting"):
        parts.append(f"waiting: {d['waiting']}")
    return " · ".join(parts)

"""Markdown summaries for CI job summaries (``$GITHUB_STEP_SUMMARY``) and pull requests."""

from __future__ import annotations

from typing import Any

from ..display.html import fmt_number
from ..display.markdown import md_cell as _cell
from ..display.markdown import md_code
from ..display.markdown import md_table as _table
from ..display.runs import cached_metric_note, cached_note
from ..entities import RunStatus


def _section(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [f"**{title}**", "", *_table(headers, rows)]


_ICON: dict[str, str] = {
    RunStatus.SUCCEEDED: "✅", RunStatus.FAILED: "❌", RunStatus.SKIPPED: "⏭️", RunStatus.TIMED_OUT: "⏱️",
    RunStatus.KILLED: "💀"}
#: The index's history strip; anything else (running, queued) is blue.
_SQUARE: dict[str, str] = {
    RunStatus.SUCCEEDED: "🟩", RunStatus.FAILED: "🟥", RunStatus.SKIPPED: "⬜", RunStatus.TIMED_OUT: "🟧",
    RunStatus.KILLED: "🟪"}


def run_markdown(d: dict[str, Any]) -> str:
    icon = _ICON.get(d["status"], "")
    lines = [f"### {icon} {md_code(d.get('notebook') or d['id'], table=False)} — {d['status']}", "",
             f"run `{d['id']}` · trigger {d['trigger']} · "
             + (f"{d['duration']:.1f}s" if d.get("duration") is not None else str(RunStatus.RUNNING)), ""]
    if d.get("error"):
        lines += [f"> {_cell(d['error'])}", ""]
    lines += _section("Stages", ["stage", "attempt", "status", "duration"], [
        [s["name"], s["attempt"], s["status"] + cached_note(s),
         f"{s['duration']:.2f}s" if s.get("duration") is not None else ""] for s in d.get("stages", [])])
    if d.get("params"):
        lines += _section("Parameters", ["name", "value"], [[k, v] for k, v in d["params"].items()])
    lines += _section("Metrics", ["metric", "value", "step"],
                      [[k, f"{fmt_number(v['value'], 6)}{cached_metric_note(v)}", v["step"]]
                       for k, v in d.get("metrics_latest", {}).items()])
    if d.get("gates"):
        lines += _section("Quality gates", ["gate", "passed"],
                          [[g["expression"], "yes" if g["passed"] else "no"] for g in d["gates"]])
    for report in d.get("drift_reports", []):
        lines += ["#### Drift", "", report._repr_markdown_(), ""]
    for perf in d.get("performance_reports", []):
        lines += ["#### Performance", "", "```", repr(perf), "```", ""]
    return "\n".join(lines)


def index_markdown(data: dict[str, Any]) -> str:
    lines = [f"## mlops runs ({data['count']})", ""]
    for notebook, runs in data["notebooks"].items():
        latest = runs[-1]
        history = "".join(_SQUARE.get(r["status"], "🟦") for r in runs[-20:])
        lines += [f"### `{_cell(notebook)}`", "", f"{history}  latest: {latest['status']} (`{latest['id'][:8]}`)", ""]
        keys = sorted({k for r in runs for k in r["metrics"]})
        rows = [[k] + [r["metrics"].get(k, "") for r in runs[-5:]] for k in keys]
        if rows:
            lines += _table(["metric"] + [r["id"][:8] for r in runs[-5:]], rows)
    return "\n".join(lines)

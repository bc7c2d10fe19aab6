"""Markdown summaries for CI job summaries (``$GITHUB_STEP_SUMMARY``) and pull requests."""

from __future__ import annotations

import json
from typing import Any

from ..display.html import fmt_number
from ..display.runs import fmt_system
from ..entities import result_metrics


def _cell(value: Any) -> str:
    """Table-safe text: no pipes, no newlines, no HTML."""
    if isinstance(value, float):
        value = fmt_number(value, 6)
    elif isinstance(value, (dict, list)):
        value = json.dumps(value, default=str)
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows], ""]


def _section(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [f"**{title}**", "", *_table(headers, rows)]


def run_markdown(d: dict[str, Any]) -> str:
    icon = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️", "timed-out": "⏱️", "killed": "💀"}.get(d["status"], "")
    lines = [f"### {icon} `{_cell(d.get('notebook') or d['id'])}` — {d['status']}", "",
             f"run `{d['id']}` · trigger {d['trigger']} · "
             + (f"{d['duration']:.1f}s" if d.get("duration") is not None else "running"), ""]
    if fmt_system(d.get("system"), d.get("duration")):
        lines += [f"system: {fmt_system(d.get('system'), d.get('duration'))}", ""]
    if d.get("error"):
        lines += [f"> {_cell(d['error'])}", ""]
    lines += _section("Stages", ["stage", "attempt", "status", "duration"], [
        [s["name"], s["attempt"], s["status"], f"{s['duration']:.2f}s" if s.get("duration") is not None else ""]
        for s in d.get("stages", [])])
    if d.get("params"):
        lines += _section("Parameters", ["name", "value"], [[k, v] for k, v in d["params"].items()])
    lines += _section("Metrics", ["metric", "value", "step"],
                      [[k, v["value"], v["step"]] for k, v in result_metrics(d.get("metrics_latest", {})).items()])
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
        history = "".join({"succeeded": "🟩", "failed": "🟥", "skipped": "⬜", "timed-out": "🟧",
                           "killed": "🟪"}.get(r["status"], "🟦") for r in runs[-20:])
        lines += [f"### `{_cell(notebook)}`", "", f"{history}  latest: {latest['status']} (`{latest['id'][:8]}`)", ""]
        keys = sorted({k for r in runs for k in r["metrics"]})
        rows = [[k] + [r["metrics"].get(k, "") for r in runs[-5:]] for k in keys]
        if rows:
            lines += _table(["metric"] + [r["id"][:8] for r in runs[-5:]], rows)
    return "\n".join(lines)

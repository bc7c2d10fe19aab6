"""The Markdown answer to a pull request: a pull-request comment and a ``$GITHUB_STEP_SUMMARY`` page.

A headline for the whole check, a table with one row per notebook, then a section per notebook that
ran (failed ones first): the stage-aware diff's headline, the metric deltas with their direction and a
small bar chart, the tolerances, the gates, the stages with what changed in each (code diffs folded),
alias moves refused, and where the runs and the executed notebooks are.

Every user string goes through ``display/markdown.py`` (escaped for Markdown and HTML; code in fences
no line can close). The page is bounded: ``max_chars`` (GitHub's comments hold 65,536), long lists and
diffs end in "… N more", and notebooks that do not fit are counted at the end.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..display.html import esc, fmt_number
from ..display.markdown import md_cell, md_code, md_fence, md_table, md_text
from ..errors import InvalidInputError
from ..explain.render import stage_lines
from ..registry.aliases import metric_direction

if TYPE_CHECKING:
    from ..registry.gates import GateResult
    from .outcome import CiResult, NotebookOutcome

MAX_CHARS = 60_000
#: The report's first line, invisible once rendered: how the workflow finds its own pull-request comment.
MARKER = "<!-- mlops ci report -->"
ROWS = 30  # table rows before "… N more"
DIFF_LINES = 40  # lines of one code diff
TEXT = 400  # characters of one error or note
BAR = 20  # width of the longest bar


def render_markdown(result: CiResult, *, max_chars: int = MAX_CHARS) -> str:
    head = _header(result)
    sections = [_section(n) for n in sorted(result.ran, key=lambda n: not n.failed)]
    out, used = head, len("\n".join(head))
    shown = 0
    for section in sections:
        size = len("\n".join(section)) + 1
        if used + size > max_chars - 200:
            break
        out += section
        used += size
        shown += 1
    if shown < len(sections):
        out += ["", f"… {len(sections) - shown} more notebook{'s' if len(sections) - shown != 1 else ''} not shown "
                    "here (the report's size is bounded); the JUnit file and `mlops runs --trigger ci` list them all"]
    return "\n".join(out).rstrip("\n") + "\n"


def _header(result: CiResult) -> list[str]:
    icon = "❌" if result.failed else ("✅" if result.ran else "⚪")
    where = (f"base {md_code(result.base_commit[:8], table=False)} ({md_text(result.base_ref)}) → head "
             f"{md_code(result.head_commit[:8], table=False)}"
             + (f" ({md_text(result.branch)})" if result.branch else ""))
    if result.job_url:
        where += f" · [CI job, with the executed notebooks]({_url(result.job_url)})"
    lines = [MARKER, f"## {icon} mlops ci: {md_text(result.summary())}", "", where, ""]
    if result.fail_on:
        lines += ["Tolerances (metric change, head − base; the check fails when one is true): "
                  + ", ".join(md_code(t, table=False) for t in result.fail_on), ""]
    rows = [[_mark(n), md_code(n.change.path), md_cell(_clip("; ".join(n.change.reasons()))),
             md_cell(_clip(n.verdict()))] for n in result.notebooks]
    return lines + _bounded_table(["", "notebook", "what changed", "result"], rows)


def _mark(n: NotebookOutcome) -> str:
    return "❌" if n.failed else ("✅" if n.ran else "⚪")


def _section(n: NotebookOutcome) -> list[str]:
    lines = [f"### {_mark(n)} {md_code(n.change.path, table=False)}", ""]
    lines += [f"**{md_text(_headline(n))}**", ""]
    run = f"run {md_code(n.run_id[:8] if n.run_id else '?', table=False)} ({md_text(n.status)}, {n.duration:.1f}s)"
    if n.executed:
        run += f", executed notebook {md_code(n.executed, table=False)}"
    lines += [run + "  ", _baseline_line(n), ""]
    if n.failure is not None:
        lines += [f"**Failed**: {md_text(_clip(n.failure.line()))}", ""]
        if n.failure.traceback:
            lines += [*md_fence(n.failure.traceback, "text"), ""]
    if n.baseline is not None and n.baseline.run is not None and not n.baseline.same_inputs:
        notes = [*n.baseline.input_changes, *n.baseline.param_changes]
        lines += ["**Inputs differ from the base's run**"
                  + ("" if n.compared else " (metrics not held to the tolerances; `--allow-changed-inputs` "
                                          "compares anyway)") + ":", ""]
        lines += [f"- {md_text(_clip(note))}" for note in notes[:ROWS]] + _more(len(notes)) + [""]
    if n.metrics:
        lines += _metrics(n)
    if n.tolerances:
        rows = [[md_code(t.expression), t.verdict, md_cell(_clip(t.reason or ", ".join(
            f"{c['metric']} {fmt_number(c['delta'], sign=True)}" for c in t.clauses)))] for t in n.tolerances]
        lines += ["**Tolerances**", "", *_bounded_table(["rule", "verdict", "why"], rows)]
    if n.gates:
        rows = [[md_code(g.expression), _gate_verdict(g),
                 md_cell(_clip(g.describe_failure() if not g.passed else
                               ", ".join(f"{c.metric} = {fmt_number(c.value)}" for c in g.clauses)))] for g in n.gates]
        lines += ["**Quality gates**", "", *_bounded_table(["gate", "verdict", "values"], rows)]
    if n.refusals:
        lines += ["**Aliases not moved** (runs made by `mlops ci` never move one):", ""]
        lines += [f"- {md_text(_clip(r))}" for r in n.refusals[:ROWS]] + _more(len(n.refusals)) + [""]
    if n.diff is not None and n.diff.stages:
        lines += _stages(n)
    return lines


def _headline(n: NotebookOutcome) -> str:
    """The diff's headline ("only the code of train changed; auc -0.004"), or, when the recorded stages
    cannot tell (setup code, a notebook without stages, no baseline), what the pull request changed."""
    if n.diff is not None and n.diff.causes:
        return n.diff.headline
    moves = n.diff.headline.partition("; ")[2] if n.diff is not None else ""
    changed = "; ".join(n.change.reasons())
    return f"changed: {changed}" + (f"; {moves}" if moves else "")


def _baseline_line(n: NotebookOutcome) -> str:
    b = n.baseline
    if b is None or b.run is None:
        return f"baseline: none ({md_text(_clip(b.note if b else 'no baseline'))})"
    text = f"baseline: run {md_code(b.run.id[:8], table=False)} ({md_text(b.run.status)}, {md_text(b.how)}"
    text += ", same inputs)" if b.same_inputs else ", other inputs)"
    return text


def _metrics(n: NotebookOutcome) -> list[str]:
    rows: list[list[str]] = []
    bars: list[tuple[str, float, float]] = []
    for key, m in n.metrics.items():
        a, b, delta = m.get("a"), m.get("b"), m.get("delta")
        rows.append([md_code(key), _num(a), _num(b), fmt_number(delta, sign=True, missing=""), _direction(key, delta)])
        if a is not None and b is not None and a != b and len(bars) < 6:
            bars.append((key, a, b))
    lines = ["**Metrics** (base → head)", "", *_bounded_table(["metric", "base", "head", "Δ", ""], rows)]
    if bars:
        lines += [*md_fence("\n".join(_bar_chart(bars)), "text"), ""]
    return lines


def _direction(key: str, delta: float | None) -> str:
    if delta is None or delta == 0 or math.isnan(delta):
        return ""
    try:
        higher = metric_direction(key)
    except InvalidInputError:
        return "▲" if delta > 0 else "▼"
    return ("▲ better" if delta > 0 else "▼ worse") if higher else ("▼ better" if delta < 0 else "▲ worse")


def _bar_chart(metrics: list[tuple[str, float, float]]) -> list[str]:
    """Base and head of each changed metric as bars, scaled to that metric's larger magnitude."""
    width = max(len(k) for k, _, _ in metrics)
    out = []
    for key, a, b in metrics:
        top = max(abs(a), abs(b)) if all(math.isfinite(v) for v in (a, b)) else 0.0
        for side, value in (("base", a), ("head", b)):
            filled = round(BAR * abs(value) / top) if top else 0
            label = key.ljust(width) if side == "base" else " " * width
            out.append(f"{label}  {side} {'█' * filled}{'·' * (BAR - filled)} {fmt_number(value)}")
    return out


def _stages(n: NotebookOutcome) -> list[str]:
    assert n.diff is not None
    rows, folds = [], []
    for d in n.diff.stages:
        status = " → ".join(dict.fromkeys(s or "absent" for s in d.status)) if d.kind != "run" else ""
        what = "; ".join(stage_lines(d)) if d.changed else "unchanged"
        rows.append([md_code(d.name), status, md_cell(_clip(what))])
        if d.code_diff:
            folds.append((d.name, d.code_diff))
    lines = ["**Stages** (what changed against the baseline)", "",
             *_bounded_table(["stage", "status", "what changed"], rows)]
    for name, text in folds[:ROWS]:
        diff_lines = text.rstrip("\n").split("\n")
        shown = diff_lines[:DIFF_LINES] + ([f"… {len(diff_lines) - DIFF_LINES} more lines"]
                                           if len(diff_lines) > DIFF_LINES else [])
        lines += [f"<details><summary>code of {esc(name)}</summary>", "", *md_fence("\n".join(shown), "diff"), "",
                  "</details>", ""]
    return lines


def _bounded_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    table = md_table(headers, rows[:ROWS], raw=True)
    if len(rows) > ROWS:
        table.insert(-1, f"| … {len(rows) - ROWS} more |" + " |" * (len(headers) - 1))
    return table


def _more(total: int) -> list[str]:
    return [f"- … {total - ROWS} more"] if total > ROWS else []


def _num(v: float | None) -> str:
    return fmt_number(v, 6, missing="")


def _clip(text: str) -> str:
    return text if len(text) <= TEXT else text[:TEXT - 1] + "…"


def _url(url: str) -> str:
    """A link target: only http(s), with the characters that would end it percent-encoded."""
    if not url.startswith(("https://", "http://")):
        return "#"
    for char in ' ()<>[]"`\\':
        url = url.replace(char, f"%{ord(char):02X}")
    return url


def _gate_verdict(gate: GateResult) -> str:
    if gate.passed:
        return "held"
    return "failed (soft)" if gate.soft else "failed"  # not a run status: a gate's verdict

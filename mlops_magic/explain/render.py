"""Text and HTML renderings of a run diff (every string that reaches HTML goes through ``esc``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..display.html import Html, Row, esc, fmt_number, fmt_param, html_table

if TYPE_CHECKING:
    from .diff import RunDiff, StageDiff


ABSENT = "(absent)"


def _param(v: Any) -> str:
    """A parameter as it was given (``0.1000001`` stays that, so a changed value never reads unchanged)."""
    return ABSENT if v is None else fmt_param(v)


def metric_line(key: str, m: dict[str, float | None]) -> str:
    delta = m["delta"]
    change = "" if delta is None else f" ({fmt_number(delta, sign=True)})"
    return f"{key}: {fmt_number(m['a'], 6, missing=ABSENT)} → {fmt_number(m['b'], 6, missing=ABSENT)}{change}"


def cached_lines(d: StageDiff) -> list[str]:
    """'b was restored from the cache of run 8b3a30a0 (its code did not run)' for each side that was."""
    return [f"{side} was restored from the cache of run {source['run_id'][:8]} (its code did not run)"
            for side, source in zip("ab", d.cached_from, strict=True) if source]


def stage_lines(d: StageDiff) -> list[str]:
    """The facts of one stage's comparison, one per line (shared by text and HTML)."""
    if not d.in_a:
        return ["only in b", *cached_lines(d)]
    if not d.in_b:
        return ["only in a", *cached_lines(d)]
    lines = []
    if len(set(d.status)) > 1:
        lines.append(f"status {d.status[0]} → {d.status[1]}")
    if d.kind != "run":
        lines.append("code changed" if d.code_changed else "code unchanged")
    if d.code_note:
        lines.append(d.code_note)
    lines += [f"parameter {k}: {_param(a)} → {_param(b)}" for k, (a, b) in d.params_changed.items()]
    lines += d.input_changes + d.output_changes
    lines += [metric_line(k, m) for k, m in d.changed_metrics.items()]
    lines += d.cell_output_changes
    return lines + cached_lines(d)


def describe_environment(env: dict[str, list[Any]]) -> list[str]:
    return [f"{name} {a or ABSENT} → {b or ABSENT}" for name, (a, b) in env.items()]


def diff_text(diff: RunDiff) -> str:
    a, b = diff.a, diff.b
    out = [diff.headline,
           f"a: {a['id'][:8]} {a['notebook'] or ''} ({a['trigger']}, {a['status']}, {a['started'][:19]})",
           f"b: {b['id'][:8]} {b['notebook'] or ''} ({b['trigger']}, {b['status']}, {b['started'][:19]})"]
    for d in diff.stages:
        label = d.name if d.name == d.kind or d.kind == "run" else f"{d.kind}:{d.name}"
        lines = stage_lines(d)
        if not d.changed:
            out.append(f"{label}: unchanged" + "".join(f"; {line}" for line in cached_lines(d)))
            continue
        out.append(f"{label}: {lines[0] if lines else 'changed'}")
        out += [f"  {line}" for line in lines[1:]]
        if d.code_diff:
            out += ["    " + line for line in d.code_diff.rstrip("\n").split("\n")]
        if d.output_diff:
            out += ["    " + line for line in d.output_diff.rstrip("\n").split("\n")]
    if diff.environment:
        out.append("environment: " + "; ".join(describe_environment(diff.environment)))
    else:
        out.append("environment: unchanged")
    return "\n".join(out)


_CSS = ("<style>.mlops-diff table{border-collapse:collapse}.mlops-diff td,.mlops-diff th{padding:2px 8px;"
        "text-align:left;vertical-align:top;border-bottom:1px solid #ddd}.mlops-diff pre{margin:2px 0;"
        "font-size:12px}.mlops-diff .add{color:#2e7d32}.mlops-diff .del{color:#c62828}"
        ".mlops-diff .same{color:#777}</style>")


def _udiff_html(text: str) -> str:
    rows = []
    for line in text.rstrip("\n").split("\n"):
        cls = "add" if line.startswith("+") and not line.startswith("+++") else \
              "del" if line.startswith("-") and not line.startswith("---") else "same"
        rows.append(f'<span class="{cls}">{esc(line)}</span>')
    return "<pre>" + "\n".join(rows) + "</pre>"


def diff_html(diff: RunDiff) -> str:
    a, b = diff.a, diff.b
    parts = [f'<div class="mlops-diff">{_CSS}<p><b>{esc(diff.headline)}</b></p>',
             f"<p>a: <code>{esc(a['id'][:8])}</code> {esc(a['notebook'])} ({esc(a['trigger'])}, "
             f"{esc(a['status'])}) &nbsp; b: <code>{esc(b['id'][:8])}</code> {esc(b['notebook'])} "
             f"({esc(b['trigger'])}, {esc(b['status'])})</p>"]
    rows: list[Row] = []
    for d in diff.stages:
        body = "<br>".join(esc(line) for line in stage_lines(d)) or "unchanged"
        if d.code_diff:
            body += _udiff_html(d.code_diff)
        if d.output_diff:
            body += _udiff_html(d.output_diff)
        rows.append(Row([f"{d.kind}:{d.name}", Html(body)], css_class="" if d.changed else "same"))
    rows.append(Row(["environment", "; ".join(describe_environment(diff.environment)) or "unchanged"]))
    parts.append(html_table(["stage", "what changed"], rows, css_class=None, style=None, cell_style=""))
    return "".join(parts) + "</div>"

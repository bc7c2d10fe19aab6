"""``mlops models card REF``: a model card written from what the lifecycle recorded.

Intended use, success metric, owner and limitations come from the problem stage the user wrote
(the problem cell's comments, the markdown above it, what it printed): lines that start with
``Success metric:``, ``Owner:`` or ``Limitation(s):`` fill those fields, the rest is the intended use,
and a markdown heading ``Limitations`` starts a limitations section. Training data, evaluation and
gates come from the version; lineage, alias history and drift history from the store. Every user
string is escaped in both formats (a Markdown viewer renders raw HTML too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..display.html import CELL_STYLE, esc, fmt_number, html_table
from ..entities import utc_from_ts
from ..registry.aliases import history
from ..registry.versions import get_version
from ..store import Store
from ..store import monitoring as monitoring_tables
from ..tracking.queries import notebook_file
from ..tracking.stages import read_notebook_json
from .lineage import lineage
from .notebooks import StageCell, kept_notebook, stage_cells, text_outputs

_FIELD = re.compile(r"^\s*(success metrics?|owners?|limitations?|intended use|for whom|what)\s*[:：]\s*(.*)$", re.I)


@dataclass
class ProblemText:
    intended_use: list[str] = field(default_factory=list)
    success_metric: list[str] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)


def _comment_lines(code: str) -> list[str]:
    """The comments and docstring-ish strings of a problem cell (its prose), without the markers."""
    out = []
    for line in code.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#"):
            out.append(stripped.lstrip("#").strip())
        elif stripped and not stripped.startswith(("%", "import ", "from ")):
            text = stripped.strip("\"'")
            if text and text != stripped:
                out.append(text)
    return out


def parse_problem(cell: StageCell | None) -> ProblemText:
    """Split the problem stage's prose into the card's fields."""

    found = ProblemText()
    if cell is None:
        return found
    lines: list[str] = []
    in_limits = False
    for md in cell.markdown:
        for line in md.split("\n"):
            heading = re.match(r"^\s*#+\s*(.*)$", line)
            if heading:
                in_limits = heading.group(1).strip().lower().startswith("limitation")
                continue
            if in_limits and line.strip():
                found.limitations.append(line.strip().lstrip("-*").strip())
            elif line.strip():
                lines.append(line.strip())
    lines += _comment_lines(cell.body)
    outputs = [o for o in cell.outputs if o.get("output_type") == "stream"]
    if outputs:
        lines += [line.strip() for line in text_outputs(StageCell(cell.kind, cell.name, 0, "", outputs)).split("\n")
                  if line.strip()]
    for line in lines:
        match = _FIELD.match(line)
        if match is None:
            found.intended_use.append(line)
            continue
        key, value = match.group(1).lower(), match.group(2).strip()
        if not value:
            continue
        if key.startswith("success"):
            found.success_metric.append(value)
        elif key.startswith("owner"):
            found.owner.append(value)
        elif key.startswith("limitation"):
            found.limitations.append(value)
        else:
            found.intended_use.append(f"{match.group(1).strip()}: {value}")
    return found


@dataclass
class ModelCard:
    ref: str
    title: str
    sections: list[tuple[str, list[str | list[list[str]]]]]  # (heading, paragraphs or tables (rows))
    data: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        out = [f"# {_md(self.title)}", ""]
        for heading, blocks in self.sections:
            if out[-1] != "":
                out.append("")
            out += [f"## {_md(heading)}", ""]
            for block in blocks:
                if isinstance(block, list):
                    header, *rows = block
                    out.append("| " + " | ".join(_md(c) for c in header) + " |")
                    out.append("|" + "---|" * len(header))
                    out += ["| " + " | ".join(_md(c).replace("|", "\\|") for c in row) + " |" for row in rows]
                else:
                    out.append(_md(block))
                    if block.startswith("- "):
                        continue  # consecutive bullets form one list
                out.append("")
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        out = ['<div class="mlops-card" style="font-family:Helvetica,Arial,sans-serif;max-width:60em">',
               f"<h1>{esc(self.title)}</h1>"]
        for heading, blocks in self.sections:
            out.append(f"<h2>{esc(heading)}</h2>")
            for block in blocks:
                if isinstance(block, list):
                    header, *rows = block
                    out.append(html_table(header, rows, style="border-collapse:collapse", head_style=CELL_STYLE,
                                          cell_style=f"{CELL_STYLE};border-top:1px solid #ddd"))
                elif block.startswith("- "):
                    out.append(f"<ul><li>{esc(block[2:])}</li></ul>")
                else:
                    out.append(f"<p>{esc(block)}</p>")
        out.append("</div>")
        return "".join(out)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.markdown()

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "title": self.title, **self.data}


def _md(text: str) -> str:
    """User text for Markdown: ``&`` and ``<`` escaped, so no tag or entity renders (a Markdown viewer
    passes raw HTML through) while ``>=`` stays readable; line breaks become spaces."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ")


def _problem_cell(store: Store, run_id: str | None, notebook: str | None) -> StageCell | None:
    cells = stage_cells(kept_notebook(store, run_id)) if run_id else {}
    if not any(c.kind == "problem" for c in cells.values()) and notebook:
        file = notebook_file(store, notebook)
        if file is not None and file.exists():
            try:
                cells = stage_cells(read_notebook_json(file))
            except Exception:  # a notebook that no longer parses: the card says so below
                cells = {}
    return next((c for c in cells.values() if c.kind == "problem"), None)


def model_card(store: Store, ref: str) -> ModelCard:
    """The card of a model version (``NAME``, ``NAME@N``, ``NAME@ALIAS``)."""

    mv = get_version(store, ref)
    run = store.get_run(mv.run_id) if mv.run_id else None
    problem = parse_problem(_problem_cell(store, mv.run_id, run.notebook if run else None))
    none = "not written down in the problem stage"
    sections: list[tuple[str, list[Any]]] = []
    sections.append(("Intended use", [" ".join(problem.intended_use) or none]))
    sections.append(("Success metric", problem.success_metric or [none]))
    sections.append(("Owner", problem.owner or [none]))

    data_blocks: list[Any] = []
    fp = mv.data_fingerprint
    if fp:
        rows = f"{fp['rows']:,} rows" if fp.get("rows") is not None else "rows unknown"
        name = fp.get("name") or "training data"
        data_blocks.append(f"Frame registered with the version (`--input`) `{name}`: {rows}, "
                           f"fingerprint {fp['digest']}.")
    if mv.input_schema and mv.input_schema.get("columns"):
        data_blocks.append([["column", "dtype"]] + [[str(c["name"]), str(c.get("dtype") or "?")]
                                                     for c in mv.input_schema["columns"]])
    sources = [f for f in (store.list_fingerprints(run.id) if run else []) if f.role == "input"
               and f.kind in ("file", "files")]
    for f in sources:
        path = (f.schema or {}).get("path") or f.name
        data_blocks.append(f"- source `{path}` ({f.name}): {f.rows:,} lines, fingerprint {f.digest[:16]}"
                           if f.rows is not None else f"- source `{path}`: fingerprint {f.digest[:16]}")
    sections.append(("Training data", data_blocks or ["no training data was recorded with this version"]))

    eval_blocks: list[Any] = []
    if mv.metrics:
        eval_blocks.append([["metric", "value"]] + [[k, fmt_number(v)] for k, v in mv.metrics.items()])
    for g in mv.gates:
        eval_blocks.append(f"- gate `{g['expression']}`: {'passed' if g['passed'] else 'FAILED'}")
    if not mv.gates:
        eval_blocks.append("- no quality gate was checked before registration")
    sections.append(("Evaluation", eval_blocks or ["no metrics were recorded"]))

    graph = lineage(store, f"{mv.name}@{mv.version}")
    lin: list[Any] = []
    if run:
        lin.append(f"Trained by run {run.id} of {run.notebook or 'an unnamed notebook'} "
                   f"({run.trigger}, {run.status}, {run.started.isoformat()[:19]}).")
    lin += [f"- {n.label} ({n.detail})" if n.detail else f"- {n.label}" for n in graph.nodes.values()
            if n.kind in ("data", "monitor")]
    sections.append(("Lineage", lin or ["no lineage recorded"]))

    changes = history(store, mv.name)
    alias_rows = [["when", "alias", "change", "reason"]] + [
        [c.created.isoformat()[:19].replace("T", " "), c.alias, str(c), c.reason or ""] for c in changes]
    sections.append(("Alias history", [alias_rows] if changes else ["no alias has been set"]))

    checks = monitoring_tables.drift_checks_of_model(store.db, mv.name)
    drift_rows = [["checked", "version", "verdict", "drifted columns", "run"]] + [
        [_when(c[0]), f"v{c[2]}" if c[2] else "-", f"drift ({c[4]:.0%} of columns)" if c[3] else "no drift",
         ", ".join(c[5]), (c[1] or "")[:8]] for c in checks]
    sections.append(("Drift history", [drift_rows] if checks else ["no drift check has been recorded"]))
    sections.append(("Limitations", [f"- {x}" for x in problem.limitations] or [
        "none written down: add a `Limitations:` line to the problem stage"]))

    title = f"Model card: {mv.name} v{mv.version}" + (f" ({', '.join(mv.aliases)})" if mv.aliases else "")
    return ModelCard(ref=ref, title=title, sections=sections, data={
        "model": mv.name, "version": mv.version, "aliases": mv.aliases,
        "intended_use": problem.intended_use, "success_metric": problem.success_metric, "owner": problem.owner,
        "limitations": problem.limitations, "metrics": mv.metrics, "gates": mv.gates,
        "lineage": graph.to_dict()})


def _when(ts: float) -> str:
    value = utc_from_ts(ts)
    return value.isoformat()[:19].replace("T", " ") if value else ""

"""``mlops diff A B``: what changed between two runs, stage by stage, and a headline that says it.

Causes are told apart from effects. A stage's *causes* are its code (the code digest recorded
per stage, the cells of each run's kept notebook for the unified diff), its parameters and its
input fingerprints; the run's environment is a cause of every stage. *Effects* are its output
fingerprints, its metrics and its cell outputs. The headline names the causes that changed
("only the data changed") and the largest metric moves ("auc +0.007").
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..display.html import fmt_number
from ..entities import STAGE_KINDS, Fingerprint, Run, StageRun, json_safe
from ..store import Store
from ..store import autolog as autolog_table
from ..store import registry as registry_tables
from ..tracking.queries import cached_from
from .notebooks import StageCell, image_outputs, kept_notebook, stage_cells, text_outputs
from .render import describe_environment, diff_html, diff_text

RUN_LEVEL = "(run)"  # the pseudo stage for parameters and metrics logged outside any stage


@dataclass
class StageDiff:
    kind: str
    name: str
    in_a: bool = True
    in_b: bool = True
    status: list[str | None] = field(default_factory=list)
    code_changed: bool = False
    code_diff: str = ""
    code_note: str | None = None
    params_changed: dict[str, list[Any]] = field(default_factory=dict)
    inputs_changed: list[str] = field(default_factory=list)
    input_changes: list[str] = field(default_factory=list)
    outputs_changed: list[str] = field(default_factory=list)
    output_changes: list[str] = field(default_factory=list)
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    cell_output_changes: list[str] = field(default_factory=list)
    output_diff: str = ""
    cached_from: list[dict[str, Any] | None] = field(default_factory=lambda: [None, None])

    @property
    def changed_metrics(self) -> dict[str, dict[str, float | None]]:
        return {k: m for k, m in self.metrics.items() if not _same_number(m["a"], m["b"])}

    @property
    def changed(self) -> bool:
        return bool(not (self.in_a and self.in_b) or self.code_changed or self.params_changed
                    or self.inputs_changed or self.outputs_changed or self.output_changes or self.changed_metrics
                    or self.cell_output_changes or len(set(self.status)) > 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (:func:`~mlops_magic.entities.json_safe`): a NaN metric or parameter is ``"nan"``."""
        out: dict[str, Any] = json_safe({
            "kind": self.kind, "name": self.name, "in_a": self.in_a, "in_b": self.in_b, "status": self.status,
            "code_changed": self.code_changed, "code_diff": self.code_diff, "code_note": self.code_note,
            "params_changed": self.params_changed, "inputs_changed": self.inputs_changed,
            "input_changes": self.input_changes, "outputs_changed": self.outputs_changed,
            "output_changes": self.output_changes, "metrics": self.metrics,
            "cell_output_changes": self.cell_output_changes, "output_diff": self.output_diff,
            "cached_from": self.cached_from,
        })
        return out


@dataclass
class RunDiff:
    a: dict[str, Any]
    b: dict[str, Any]
    headline: str
    stages: list[StageDiff]
    environment: dict[str, list[Any]]
    causes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"headline": self.headline, "a": self.a, "b": self.b, "causes": self.causes,
                "environment": self.environment, "stages": [s.to_dict() for s in self.stages]}

    def text(self) -> str:
        return diff_text(self)

    def html(self) -> str:
        return diff_html(self)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


# -- the comparison ------------------------------------------------------------------------------------
def diff_runs(store: Store, ref_a: str, ref_b: str) -> RunDiff:
    """Compare two runs (ids, prefixes or 'latest') stage by stage, in lifecycle order."""
    run_a, run_b = store.get_run(ref_a), store.get_run(ref_b)
    stages_a, stages_b = _latest_attempts(store.list_stages(run_a.id)), _latest_attempts(store.list_stages(run_b.id))
    cells_a, cells_b = stage_cells(kept_notebook(store, run_a.id)), stage_cells(kept_notebook(store, run_b.id))
    params_a, params_b = _declared(store, run_a.id), _declared(store, run_b.id)
    timing = autolog_table.timing_metrics(store.db, [run_a.id, run_b.id])  # durations are not results
    metrics_a, metrics_b = ({k: v for k, v in store.latest_metrics_with_stages(r).items() if k not in timing}
                            for r in (run_a.id, run_b.id))
    stage_name_a: dict[int | None, str] = {s.id: s.name for s in store.list_stages(run_a.id)}
    stage_name_b: dict[int | None, str] = {s.id: s.name for s in store.list_stages(run_b.id)}

    made_a, made_b = _made_by(stages_a), _made_by(stages_b)
    cached = cached_from(store, run_ids=[run_a.id, run_b.id])
    names = _ordered_names(stages_a, stages_b)
    diffs: list[StageDiff] = []
    for name in names:
        sa, sb = stages_a.get(name), stages_b.get(name)
        ref = sa or sb
        assert ref is not None
        d = StageDiff(kind=ref.kind, name=name, in_a=sa is not None, in_b=sb is not None,
                      status=[sa.status if sa else None, sb.status if sb else None],
                      cached_from=[cached.get(sa.id) if sa else None, cached.get(sb.id) if sb else None])
        _compare_code(d, sa, sb, cells_a.get(name), cells_b.get(name))
        d.params_changed = _changed_values(
            {k: v for k, (v, sid) in params_a.items() if stage_name_a.get(sid) == name},
            {k: v for k, (v, sid) in params_b.items() if stage_name_b.get(sid) == name})
        _compare_fingerprints(d, sa, sb, made_a, made_b)
        d.metrics = _metric_deltas(
            {k: v for k, (v, sid) in metrics_a.items() if stage_name_a.get(sid) == name},
            {k: v for k, (v, sid) in metrics_b.items() if stage_name_b.get(sid) == name})
        _compare_cell_outputs(d, cells_a.get(name), cells_b.get(name))
        diffs.append(d)
    run_level = StageDiff(kind="run", name=RUN_LEVEL)
    run_level.params_changed = _changed_values(
        {k: v for k, (v, sid) in params_a.items() if sid not in stage_name_a},
        {k: v for k, (v, sid) in params_b.items() if sid not in stage_name_b})
    run_level.metrics = _metric_deltas(
        {k: v for k, (v, sid) in metrics_a.items() if sid not in stage_name_a},
        {k: v for k, (v, sid) in metrics_b.items() if sid not in stage_name_b})
    if run_level.params_changed or run_level.metrics:
        diffs.append(run_level)
    environment = environment_diff(run_a.environment, run_b.environment)
    causes = _causes(diffs, environment)
    return RunDiff(a=_summary(run_a), b=_summary(run_b), headline=_headline(causes, diffs, _gated(store, run_b.id)),
                   stages=diffs, environment=environment, causes=causes)


def _gated(store: Store, run_id: str) -> list[str]:
    """The metrics the run's quality gates checked, in order: what the headline should lead with."""

    names: list[str] = []
    for _expr, _passed, _soft, clauses, _stage in registry_tables.gate_rows(store.db, run_id):
        names += [c["metric"] for c in clauses if isinstance(c, dict) and c.get("metric") not in names]
    return names


def _summary(run: Run) -> dict[str, Any]:
    return {"id": run.id, "notebook": run.notebook, "status": run.status, "trigger": run.trigger,
            "started": run.started.isoformat()}


def _latest_attempts(stages: list[StageRun]) -> dict[str, StageRun]:
    latest: dict[str, StageRun] = {}
    for s in stages:
        if s.name not in latest or s.attempt >= latest[s.name].attempt:
            latest[s.name] = s
    return latest


def _ordered_names(a: dict[str, StageRun], b: dict[str, StageRun]) -> list[str]:
    first: dict[str, tuple[int, float]] = {}
    for stages in (a, b):
        for name, s in stages.items():
            key = (STAGE_KINDS.index(s.kind) if s.kind in STAGE_KINDS else len(STAGE_KINDS), s.started.timestamp())
            first[name] = min(first.get(name, key), key)
    return sorted(first, key=lambda n: first[n])


def _compare_code(d: StageDiff, sa: StageRun | None, sb: StageRun | None, ca: StageCell | None,
                  cb: StageCell | None) -> None:
    if sa is None or sb is None:
        return
    if sa.code_digest and sb.code_digest:
        d.code_changed = sa.code_digest != sb.code_digest
    elif ca is not None and cb is not None:
        d.code_changed = ca.body.strip() != cb.body.strip()
    if not d.code_changed:
        return
    if ca is None or cb is None:
        d.code_note = "the code digest differs; no kept notebook to show the lines (interactive run)"
        return
    d.code_diff = "".join(difflib.unified_diff(
        _lines(ca.body), _lines(cb.body), fromfile=f"a/{d.name}", tofile=f"b/{d.name}", n=2))


def _lines(text: str) -> list[str]:
    return [line.rstrip() + "\n" for line in text.strip("\n").split("\n")]


def _changed_values(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [a.get(k), b.get(k)] for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k) or (k in a) != (k in b)}


def data_label(fp: Fingerprint) -> str:
    path = (fp.schema or {}).get("path") if fp.kind in ("file", "files") else None
    return str(path or fp.name or fp.digest[:12])


def _made_by(stages: dict[str, StageRun]) -> dict[str, str]:
    """digest → the stage of this run that produced it (its outputs)."""
    return {fp.digest: s.name for s in stages.values() for fp in s.fingerprints if fp.role == "output"}


def _compare_fingerprints(d: StageDiff, sa: StageRun | None, sb: StageRun | None, made_a: dict[str, str],
                          made_b: dict[str, str]) -> None:
    """Inputs and outputs that differ. An input another stage of the same run made (a registered model's
    training frame is the data stage's X_train) is an effect, not a cause: it is spelled out among the
    outputs' changes ("made by data") and not counted in ``inputs_changed``."""
    derived: list[str] = []
    declared = {fp.digest for st in (sa, sb) if st for fp in st.fingerprints if fp.role == "input"}
    for role, names, sentences in (("input", d.inputs_changed, d.input_changes),
                                   ("output", d.outputs_changed, derived)):
        fa = {fp.name or fp.digest: fp for fp in (sa.fingerprints if sa else []) if fp.role == role}
        fb = {fp.name or fp.digest: fp for fp in (sb.fingerprints if sb else []) if fp.role == role}
        for key in sorted(set(fa) | set(fb)):
            x, y = fa.get(key), fb.get(key)
            if x is not None and y is not None and x.digest == y.digest:
                continue
            if sa is None or sb is None:  # the whole stage is on one side; say it once, not per input
                continue
            if role == "output" and any(fp is not None and fp.digest in declared for fp in (x, y)):
                continue  # the variable the stage declared as its input (`%mlops fingerprint df --role input`)
            label = data_label(y or x)  # type: ignore[arg-type]
            maker = made_b.get(y.digest) if y is not None else None
            maker = maker or (made_a.get(x.digest) if x is not None else None)
            if role == "input" and maker and maker != d.name:
                target, sentence_label = d.output_changes, f"input `{label}` (made by {maker})"
            else:
                names.append(key)
                target, sentence_label = sentences, f"{role} `{label}`"
            if x is None:
                target.append(f"{sentence_label} only in b")
            elif y is None:
                target.append(f"{sentence_label} only in a")
            else:
                target.append(f"{sentence_label} changed: {describe_data_change(x, y)}")
    d.output_changes[:0] = derived


def describe_data_change(x: Fingerprint, y: Fingerprint) -> str:
    """'10,000 → 12,500 rows, same columns' (or the columns added, removed, retyped; or files)."""
    parts, differs = [], False
    if x.rows is not None and y.rows is not None:
        differs |= x.rows != y.rows
        parts.append(f"{x.rows:,} rows, same count" if x.rows == y.rows else f"{x.rows:,} → {y.rows:,} rows")
    if x.kind == "files" and y.kind == "files":
        nx, ny = (x.schema or {}).get("files"), (y.schema or {}).get("files")
        differs |= nx != ny
        parts.append(f"{nx} file{'s' if nx != '1' else ''}" if nx == ny else f"{nx} → {ny} files")
        if x.size is not None and y.size is not None and x.size != y.size:
            differs = True
            parts.append(f"{x.size:,} → {y.size:,} bytes")
    elif x.kind in ("dataframe", "series") and x.schema is not None and y.schema is not None:
        columns = describe_schema_change(x.schema, y.schema)
        differs |= columns != "same columns"
        parts.append(columns)
    elif x.kind == "array" and x.schema != y.schema:
        differs = True
        parts.append(f"shape {(x.schema or {}).get('shape')} → {(y.schema or {}).get('shape')}")
    elif x.kind == "file" and x.size is not None and y.size is not None and x.size != y.size:
        differs = True
        parts.append(f"{x.size:,} → {y.size:,} bytes")
    if not differs:
        parts.append("different values")
    return ", ".join(parts)


def describe_schema_change(a: dict[str, str], b: dict[str, str]) -> str:
    added = [c for c in b if c not in a]
    removed = [c for c in a if c not in b]
    retyped = [f"{c} {a[c]} → {b[c]}" for c in a if c in b and a[c] != b[c]]
    if not (added or removed or retyped):
        return "same columns"
    bits = []
    if added:
        bits.append("columns added: " + ", ".join(added))
    if removed:
        bits.append("columns removed: " + ", ".join(removed))
    if retyped:
        bits.append("types changed: " + ", ".join(retyped))
    return "; ".join(bits)


def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def _metric_deltas(a: dict[str, float], b: dict[str, float]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        delta = vb - va if va is not None and vb is not None else None
        out[key] = {"a": va, "b": vb, "delta": delta}
    return out


def _compare_cell_outputs(d: StageDiff, ca: StageCell | None, cb: StageCell | None) -> None:
    if ca is None or cb is None:
        return
    ta, tb = text_outputs(ca), text_outputs(cb)
    if ta != tb:
        d.cell_output_changes.append("text output changed")
        d.output_diff = "".join(difflib.unified_diff(
            _lines(ta) if ta else [], _lines(tb) if tb else [], fromfile=f"a/{d.name} output",
            tofile=f"b/{d.name} output", n=1))
    ia, ib = image_outputs(ca), image_outputs(cb)
    if ia != ib:
        d.cell_output_changes.append(f"images changed ({len(ia)} → {len(ib)})" if len(ia) != len(ib)
                                     else f"image{'s' if len(ia) > 1 else ''} changed")


# -- environment ---------------------------------------------------------------------------------------
def environment_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[Any]]:
    """name → [a, b] for Python, implementation, platform and every package version that differs."""
    out: dict[str, list[Any]] = {}
    for key in ("python", "implementation", "platform"):
        if a.get(key) != b.get(key):
            out[key] = [a.get(key), b.get(key)]
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    for name in sorted(set(pa) | set(pb)):
        if pa.get(name) != pb.get(name):
            out[name] = [pa.get(name), pb.get(name)]
    return out


def _declared(store: Store, run_id: str) -> dict[str, tuple[Any, int | None]]:
    """The run's parameters less those autolog recorded: an estimator's ``get_params()`` follows from the
    code and the declared parameters, so it is an effect of them, never a cause of its own."""
    params = store.params_with_stages(run_id)
    marks = autolog_table.marks(store.db, run_id)
    return {k: v for k, v in params.items()
            if ("param", k) not in marks or marks[("param", k)][1] != v[0]}


# -- the headline --------------------------------------------------------------------------------------
def _causes(diffs: list[StageDiff], environment: dict[str, list[Any]]) -> list[str]:
    causes = []
    code = [d.name for d in diffs if d.code_changed]
    if code:
        causes.append("the code of " + ", ".join(code))
    params = sorted({p for d in diffs for p in d.params_changed})
    if params:
        causes.append("parameters (" + ", ".join(params) + ")")
    if any(d.inputs_changed for d in diffs):
        causes.append("the data")
    added = [d.name for d in diffs if d.in_b and not d.in_a]
    removed = [d.name for d in diffs if d.in_a and not d.in_b]
    if added or removed:
        causes.append("the stages run (" + ", ".join([f"+{n}" for n in added] + [f"-{n}" for n in removed]) + ")")
    if environment:
        causes.append("the environment (" + "; ".join(describe_environment(environment)[:3])
                      + (" …" if len(environment) > 3 else "") + ")")
    return causes


def _headline(causes: list[str], diffs: list[StageDiff], gated: Sequence[str] = ()) -> str:
    if not causes:
        head = "nothing changed in code, parameters, data or environment"
    elif len(causes) == 1:
        head = f"only {causes[0]} changed"
    else:
        head = ", ".join(causes[:-1]) + f" and {causes[-1]} changed"
    moves = _metric_moves(diffs, gated)
    return f"{head}; {moves}" if moves else head


def _metric_moves(diffs: list[StageDiff], gated: Sequence[str] = (), limit: int = 3) -> str:
    """The changed metrics, signed: those the quality gates checked first, then the evaluation stage's,
    then any other stage's."""
    order = {name: i for i, name in enumerate(gated)}
    rank = {d.name: (d.kind != "evaluate", d.kind == "train", d.kind == "run") for d in diffs}
    changed = [(key, m, d.name) for d in diffs for key, m in d.changed_metrics.items()]
    changed.sort(key=lambda c: (order.get(c[0], len(order)), rank[c[2]]))
    seen: list[str] = []
    for key, m, _stage in changed[:limit]:
        if m["delta"] is not None:
            seen.append(f"{key} {fmt_number(m['delta'], 3, sign=True)}")
        else:
            seen.append(f"{key} only in {'b' if m['a'] is None else 'a'}")
    if not seen:
        return "metrics unchanged" if any(d.metrics for d in diffs) else ""
    return ", ".join(seen)

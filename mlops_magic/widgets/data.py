"""Read-side helpers the panels need that :mod:`mlops_magic.tracking.queries` does not have yet.

Pure functions over :class:`~mlops_magic.store.Store` methods (no SQL here),
so the CLI and REST API can share them; candidates to move into ``queries.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..display.html import fmt_number
from ..entities import STAGE_KINDS, SYSTEM_PREFIX, Fingerprint, Run, result_metrics
from ..store import Store
from ..tracking.system_summary import flat, summarize


@dataclass(frozen=True)
class Series:
    """One line of a chart: x values, y values and its legend label."""

    label: str
    x: list[Any]
    y: list[float]


@dataclass(frozen=True)
class ParamRow:
    key: str
    values: list[Any]  # one per compared run; MISSING where a run lacks the param

    @property
    def differs(self) -> bool:
        first = self.values[0]
        return any(_differ(first, v) for v in self.values[1:])


class _Missing:
    def __repr__(self) -> str:
        return "—"


MISSING: Any = _Missing()


def _differ(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return False
    return a is not b if (a is MISSING or b is MISSING) else a != b


@dataclass(frozen=True)
class FingerprintRow:
    """One piece of data a stage read or wrote, across the compared runs (MISSING where a run lacks it)."""

    stage: str  # the stage's name, or "(run)" for data logged outside any stage
    role: str  # input | output | "" (not declared)
    name: str
    values: list[Any]  # Fingerprint or MISSING, one per compared run
    changes: list[str] = field(default_factory=list)  # per other run: what differs from the first run's

    @property
    def differs(self) -> bool:
        digests = [v.digest if isinstance(v, Fingerprint) else None for v in self.values]
        return len(set(digests)) > 1


@dataclass(frozen=True)
class Comparison:
    runs: list[Run]
    params: list[ParamRow]
    metrics: list[ParamRow]  # latest value per metric and run
    histories: dict[str, list[Series]] = field(default_factory=dict)  # metric key -> one series per run
    fingerprints: list[FingerprintRow] = field(default_factory=list)  # per stage, inputs before outputs


def metric_series(store: Store, run_id: str, keys: list[str]) -> list[Series]:
    """Each key's history over steps for one run (NaN points kept; matplotlib leaves a gap)."""
    out = []
    for key in keys:
        history = store.metric_history(run_id, key)
        out.append(Series(key, [m.step for m in history], [m.value for m in history]))
    return out


def metric_keys(store: Store, run_id: str) -> list[str]:
    return sorted({m.key for m in store.metric_history(run_id)})


def metric_across_runs(store: Store, keys: list[str], *, notebook: str | None = None,
                       trigger: str | None = None, limit: int | None = 500) -> list[Series]:
    """Latest value of each key per run against the run's start time, oldest first (scheduled retraining)."""
    runs = list(reversed(store.list_runs(notebook=notebook, trigger=trigger, limit=limit)))
    latest = store.latest_metrics([r.id for r in runs])
    out = []
    for key in keys:
        points = [(r.started, latest[r.id][key]) for r in runs if key in latest[r.id]]
        out.append(Series(key, [p[0] for p in points], [p[1] for p in points]))
    return out


def compare_runs(store: Store, refs: list[str], *, max_history_keys: int = 6) -> Comparison:
    """Params and latest metrics side by side (differences flagged) and shared metric histories."""
    runs = [store.get_run(ref) for ref in refs]
    # results as they are; what each run cost the machine as its peaks and averages (not a last sample)
    results = store.latest_metrics([r.id for r in runs])
    latest = {r.id: result_metrics(results[r.id]) | flat(summarize(store.metric_history(r.id))) for r in runs}
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys_ = sorted({k for r in runs for k in latest[r.id]})
    params = [ParamRow(k, [r.params.get(k, MISSING) for r in runs]) for k in param_keys]
    metrics = [ParamRow(k, [latest[r.id].get(k, MISSING) for r in runs]) for k in metric_keys_]
    histories: dict[str, list[Series]] = {}
    for key in [k for k in metric_keys_ if not k.startswith(SYSTEM_PREFIX)][:max_history_keys]:
        lines = []
        for r in runs:
            history = store.metric_history(r.id, key)
            if history:
                lines.append(Series(run_label(r), [m.step for m in history], [m.value for m in history]))
        if lines:
            histories[key] = lines
    return Comparison(runs=runs, params=params, metrics=metrics, histories=histories,
                      fingerprints=fingerprint_rows(store, runs))


RUN_LEVEL = "(run)"


def _stage_data(store: Store, run: Run) -> dict[tuple[str, str, str], tuple[int, Fingerprint]]:
    """(stage, role, name) → (stage order, fingerprint) of a run; a later attempt's record wins."""
    stages = {s.id: s for s in store.list_stages(run.id)}
    out: dict[tuple[str, str, str], tuple[int, Fingerprint]] = {}
    for fp in store.list_fingerprints(run.id):  # in the order they were logged
        stage = stages.get(fp.stage_id) if fp.stage_id is not None else None
        name = stage.name if stage is not None else RUN_LEVEL
        order = STAGE_KINDS.index(stage.kind) if stage is not None and stage.kind in STAGE_KINDS else len(STAGE_KINDS)
        out[(name, fp.role or "", fp.name or fp.digest[:12])] = (order, fp)
    return out


def fingerprint_rows(store: Store, runs: list[Run]) -> list[FingerprintRow]:
    """The data fingerprints of each stage side by side; what changed is told by the explain core's words
    (:func:`~mlops_magic.explain.diff.describe_data_change`, the same as ``mlops diff``)."""
    from ..explain.diff import describe_data_change  # lazy: %load_ext stays light

    per_run = [_stage_data(store, r) for r in runs]
    order: dict[tuple[str, str, str], int] = {}
    for data in per_run:
        for key, (rank, _fp) in data.items():
            order[key] = min(order.get(key, rank), rank)
    role_rank = {"input": 0, "": 1, "output": 2}
    keys = sorted(order, key=lambda k: (order[k], k[0] == RUN_LEVEL, k[0], role_rank.get(k[1], 1), k[2]))
    rows = []
    for key in keys:
        values = [data[key][1] if key in data else MISSING for data in per_run]
        first = values[0]
        changes = []
        for other in values[1:]:
            if first is MISSING or other is MISSING:
                changes.append("" if first is other else ("only in the first run" if other is MISSING
                                                          else "not in the first run"))
            elif first.digest == other.digest:
                changes.append("")
            else:
                changes.append(describe_data_change(first, other))
        rows.append(FingerprintRow(stage=key[0], role=key[1], name=key[2], values=values, changes=changes))
    return rows


def run_label(run: Run) -> str:
    return f"{run.id[:8]} {run.name}" if run.name else run.id[:8]


def notebooks(store: Store, limit: int = 1000) -> list[str]:
    """Distinct notebooks of the most recent runs, for the runs table's filter."""
    return sorted({r.notebook for r in store.list_runs(limit=limit) if r.notebook})


def first_run_since(store: Store, since: datetime, notebook: str | None = None) -> Run | None:
    """The first run started at or after ``since`` (the one a headless launch just created)."""
    runs = [r for r in store.list_runs(notebook=notebook, limit=20) if r.started >= since]
    return runs[-1] if runs else None


@dataclass(frozen=True)
class ModelInfo:
    """What a run produced for the registry: model versions and its gate checklist."""

    versions: list[str]  # "churn v3 [production]"
    gates: list[tuple[str, bool, str]]  # (gate expression, passed, per-clause values)


def model_info(store: Store, run_id: str) -> ModelInfo | None:
    """Gate results and model versions of a run, via the registry's public functions; None if it has none."""
    from ..registry import gates  # lazy: %load_ext stays light
    from ..registry import versions as registry  # lazy: %load_ext stays light

    results = gates.run_gates(store, run_id)
    versions = registry.versions_of_run(store, run_id)
    if not results and not versions:
        return None
    names = [str(v) + (f" [{', '.join(v.aliases)}]" if v.aliases else "") for v in versions]
    checklist = [(g.expression + (" (soft)" if g.soft else ""), g.passed,
                  ", ".join(f"{c.metric} = {fmt_number(c.value)}" for c in g.clauses)) for g in results]
    return ModelInfo(versions=names, gates=checklist)

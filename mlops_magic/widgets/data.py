"""Read-side helpers the panels need that :mod:`mlops_magic.tracking.queries` does not have yet.

Pure functions over :class:`~mlops_magic.store.Store` methods (no SQL here),
so the CLI and REST API can share them; candidates to move into ``queries.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..entities import Run
from ..store import Store


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
class Comparison:
    runs: list[Run]
    params: list[ParamRow]
    metrics: list[ParamRow]  # latest value per metric and run
    histories: dict[str, list[Series]] = field(default_factory=dict)  # metric key -> one series per run


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
    latest = store.latest_metrics([r.id for r in runs])
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys_ = sorted({k for r in runs for k in latest[r.id]})
    params = [ParamRow(k, [r.params.get(k, MISSING) for r in runs]) for k in param_keys]
    metrics = [ParamRow(k, [latest[r.id].get(k, MISSING) for r in runs]) for k in metric_keys_]
    histories: dict[str, list[Series]] = {}
    for key in metric_keys_[:max_history_keys]:
        lines = []
        for r in runs:
            history = store.metric_history(r.id, key)
            if history:
                lines.append(Series(run_label(r), [m.step for m in history], [m.value for m in history]))
        if lines:
            histories[key] = lines
    return Comparison(runs=runs, params=params, metrics=metrics, histories=histories)


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
                  ", ".join(f"{c.metric} = {c.value:.4g}" for c in g.clauses)) for g in results]
    return ModelInfo(versions=names, gates=checklist)

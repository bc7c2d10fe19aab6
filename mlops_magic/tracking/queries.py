"""Read-side queries every face shares: runs tables, a run's detail, the lifecycle view.

The magic, the CLI, the widgets and the REST API all call these, so
``%mlops runs``, ``mlops runs``, the runs panel and ``GET /runs`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..entities import ACTIVE_STATUSES, STAGE_KINDS, Run, StageRun, StageStatus, json_safe, result_metrics
from ..errors import NotFoundError
from ..store import Store
from ..store import autolog as autolog_table
from ..store import cache as cache_tables
from .stages import combined_digest, scan_stages
from .system_summary import stage_summaries, summarize

if TYPE_CHECKING:
    from pandas import DataFrame

#: How many of a notebook's latest runs the notebook lifecycle view looks at for stage attempts.
LIFECYCLE_RUNS = 20


def run_record(run: Run, metrics: dict[str, float] | None = None) -> dict[str, Any]:
    """A run as a JSON-ready dict; the CLI's ``--format json`` contract (id, notebook, status, trigger, started…)."""
    return {
        "id": run.id,
        "notebook": run.notebook,
        "name": run.name,
        "status": run.status,
        "trigger": run.trigger,
        "started": run.started.isoformat(),
        "ended": run.ended.isoformat() if run.ended else None,
        "duration": run.duration,
        "params": run.params,
        "metrics": json_safe(metrics or {}),
        "tags": run.tags,
        "parent_run_id": run.parent_run_id,
        "schedule_id": run.schedule_id,
        "code_version": run.code_version,
        "git_dirty": run.git_dirty,
        "error": run.error,
        "executor": run.executor,
        "worker": run.worker,
        "waiting": run.waiting,
        "user": run.user,
    }


def list_run_records(store: Store, *, notebook: str | None = None, status: str | None = None,
                     trigger: str | None = None, user: str | None = None, limit: int | None = None,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Runs newest first with their latest metrics, as dicts."""
    runs = store.list_runs(notebook=notebook, status=status, trigger=trigger, user=user, limit=limit, offset=offset)
    metrics = store.latest_metrics([r.id for r in runs])
    return [run_record(r, result_metrics(metrics[r.id])) for r in runs]


def runs_frame(store: Store, *, notebook: str | None = None, status: str | None = None,
               trigger: str | None = None, user: str | None = None, limit: int | None = None) -> DataFrame:
    """A pandas DataFrame of runs, newest first, with ``params.*`` and ``metrics.*`` columns."""
    import pandas as pd

    rows, params, metrics = store.run_table(notebook=notebook, status=status, trigger=trigger, user=user, limit=limit)
    names = ["id", "notebook", "name", "status", "trigger", "started", "ended", "parent_run_id", "code_version",
             "user"]
    transposed = list(zip(*rows)) if rows else [()] * len(names)  # one pass over the rows, not one a column
    columns: dict[str, Any] = {n: list(transposed[i]) for i, n in enumerate(names)}
    started = pd.to_datetime(pd.Series(columns["started"], dtype="float64"), unit="s", utc=True)
    ended = pd.to_datetime(pd.Series(columns["ended"], dtype="float64"), unit="s", utc=True)
    columns["started"], columns["ended"] = started, ended
    columns["duration_s"] = (ended - started).dt.total_seconds()
    ids = columns["id"]
    for prefix, values in (("params.", params), ("metrics.", metrics)):
        keys = {k for run_id in ids for k in values[run_id]}
        if prefix == "metrics.":  # the system series are not results: the keys decide, not each run's dict
            keys = set(result_metrics(dict.fromkeys(keys)))
        for key in sorted(keys):
            columns[prefix + key] = [values[run_id].get(key) for run_id in ids]
    order = [*names[:7], "duration_s", *names[7:]]
    frame = pd.DataFrame({k: columns[k] for k in order + [c for c in columns if c not in order]})
    return frame


# -- lifecycle ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageSummary:
    """The latest attempt of one stage with what is wrong about it."""

    kind: str
    name: str
    status: str  # succeeded | failed | running | not run
    attempt: int = 0
    attempts: int = 0
    started: Any = None
    duration: float | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    stage_id: int | None = None


@dataclass(frozen=True)
class Lifecycle:
    run_id: str | None
    stages: list[StageSummary]

    @property
    def warnings(self) -> list[str]:
        return [f"{s.name}: {w}" for s in self.stages for w in s.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stages": [{
                "kind": s.kind, "name": s.name, "status": s.status, "attempt": s.attempt, "attempts": s.attempts,
                "started": s.started.isoformat() if s.started else None, "duration": s.duration, "error": s.error,
                "warnings": s.warnings, "stage_id": s.stage_id,
            } for s in self.stages],
            "warnings": self.warnings,
        }


def lifecycle(stage_runs: list[StageRun], run_id: str | None = None, *,
              in_progress: str | None = None) -> Lifecycle:
    """Latest attempt of each stage in lifecycle order, flagging stale and out-of-order stages.

    A stage is *stale* when a stage of an earlier kind ran again after it (a
    model trained before the data cell was re-run); it ran *out of order* when
    it ran before an earlier kind's first attempt. Stages of the run ``in_progress`` (a headless run
    still going) make nothing stale yet: its later stages are about to run, and warning about each of
    them mid-run only made the view jump. A stage gets one stale line naming every stage that re-ran.
    """
    first: dict[str, StageRun] = {}
    latest: dict[str, StageRun] = {}
    counts: dict[str, int] = {}
    for s in stage_runs:
        first.setdefault(s.name, s)
        latest[s.name] = s
        counts[s.name] = counts.get(s.name, 0) + 1
    order = {kind: i for i, kind in enumerate(STAGE_KINDS)}
    rows: list[StageSummary] = []
    for kind in STAGE_KINDS:
        names = [n for n, s in latest.items() if s.kind == kind]
        if not names:
            rows.append(StageSummary(kind=kind, name=kind, status="not run"))
            continue
        for name in sorted(names, key=lambda n: first[n].started):
            last = latest[name]
            warnings, reran = [], []
            for up_name, up in latest.items():
                if order[up.kind] >= order[kind]:
                    continue
                if up.started > last.started and not (in_progress and up.run_id == in_progress):
                    if first[up_name].started > first[name].started and last.attempt == 1:
                        warnings.append(f"ran out of lifecycle order: before {up_name}")
                    else:
                        reran.append(up_name)
                if up.status == StageStatus.FAILED:
                    warnings.append(f"upstream {up_name} failed")
            if reran:
                warnings.insert(0, f"stale: {', '.join(reran)} ran again after it")
            error = f"{last.error_type}: {last.error_message}" if last.error_type else None
            rows.append(StageSummary(kind=kind, name=name, status=last.status, attempt=last.attempt,
                                    attempts=counts[name], started=last.started, duration=last.duration,
                                    error=error, warnings=warnings, stage_id=last.id))
    return Lifecycle(run_id=run_id, stages=rows)


def run_lifecycle(store: Store, run_ref: str) -> Lifecycle:
    run_id = store.resolve_run_id(run_ref)
    return lifecycle(store.list_stages(run_id), run_id)


def cached_from(store: Store, *, run_ids: Sequence[str] = (),
                stage_ids: Sequence[int] = ()) -> dict[int, dict[str, Any]]:
    """Stage id → where that stage was restored from by the stage cache (the run and stage that computed
    it, the seconds that took, the seconds the restore took, what it restored), for the stages of
    ``run_ids`` or the stages ``stage_ids``. A stage not in it ran its code."""
    out = {}
    for r in cache_tables.restores(store.db, run_ids=run_ids, stage_ids=stage_ids):
        out[r["stage_id"]] = {"run_id": r["source_run_id"], "stage_id": r["source_stage_id"], "key": r["key"],
                              "seconds": r["source_seconds"], "restore_seconds": r["restore_seconds"],
                              "saved_seconds": max(0.0, r["source_seconds"] - r["restore_seconds"]),
                              "restored": r["restored"]}
    return out


def stage_records(store: Store, stages: list[StageRun], cached: dict[int, dict[str, Any]] | None = None,
                  system: dict[int, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Stage runs as JSON-ready dicts (``GET runs/ID``, ``GET runs/ID/stages``): the entity, its duration,
    ``cached_from`` (None unless the stage cache restored it; ``cached``: :func:`cached_from`, if read)
    and, when ``system`` (:func:`stage_summaries`) is given, what each stage cost the machine."""
    if cached is None:
        cached = cached_from(store, stage_ids=[s.id for s in stages])
    return [s.to_dict() | {"duration": s.duration, "cached_from": cached.get(s.id)}
            | ({"system": system.get(s.id, {})} if system is not None else {}) for s in stages]


def run_detail(store: Store, run_ref: str) -> dict[str, Any]:
    """Everything ``show`` prints about a run, as JSON-ready data."""
    run = store.get_run(run_ref)
    stages = store.list_stages(run.id)
    history = store.metric_history(run.id)
    cached = cached_from(store, run_ids=[run.id])
    latest: dict[str, Any] = {}
    series: dict[str, int] = {}
    for m in history:
        source = cached.get(m.stage_id) if m.stage_id is not None else None
        latest[m.key] = {"value": m.value, "step": m.step, "cached_from": source["run_id"] if source else None}
        series[m.key] = series.get(m.key, 0) + 1
    record = run_record(run, result_metrics({k: v["value"] for k, v in latest.items()}))
    per_stage = stage_summaries(history, stages)
    record.update({
        "environment": run.environment,
        "stages": stage_records(store, stages, cached, per_stage),
        "system": summarize(history),
        "lifecycle": lifecycle(stages, run.id).to_dict(),
        "metrics_latest": {k: {"value": json_safe(v["value"]), "step": v["step"],
                               "points": series[k], "cached_from": v["cached_from"]} for k, v in latest.items()},
        "artifacts": [a.to_dict() for a in store.list_artifacts(run.id)],
        "fingerprints": [f.to_dict() for f in store.list_fingerprints(run.id)],
    })
    record["autologged"] = autologged(store, run.id, record)
    return record


def autologged(store: Store, run_id: str, detail: dict[str, Any]) -> dict[str, list[str]]:
    """The params, metrics and artifacts of ``detail`` whose current value is the one autolog wrote
    (a key the user logged since is the user's, and not listed)."""
    marks = autolog_table.marks(store.db, run_id)
    if not marks:
        return {"params": [], "metrics": [], "artifacts": []}
    current = {
        "param": dict(detail.get("params") or {}),
        "metric": {k: v["value"] for k, v in detail["metrics_latest"].items()},
        "artifact": {a["name"]: a["digest"] for a in detail["artifacts"]},
    }
    out: dict[str, list[str]] = {"params": [], "metrics": [], "artifacts": []}
    for (kind, key), (_, value, _) in sorted(marks.items()):
        values = current.get(kind, {})
        if key in values and _same_value(values[key], value):
            out[kind + "s"].append(key)
    return out


def _same_value(a: Any, b: Any) -> bool:
    """Equal, both NaN, or the text ``metrics_latest`` shows for a non-finite number (``"inf"``)."""
    return bool(a == b) or (a != a and b != b) or (isinstance(a, str) and not isinstance(b, str) and a == str(b))


# -- notebooks and pages (the lab panel's reads) --------------------------------------------------
def notebook_key(store: Store, notebook: Path) -> str:
    """How runs name ``notebook``: relative to the project folder when inside it (as
    ``environment.detect_notebook_path`` records it), else absolute."""
    if store.project_dir is not None and notebook.is_relative_to(store.project_dir.resolve()):
        return notebook.relative_to(store.project_dir.resolve()).as_posix()
    return str(notebook)


def notebook_file(store: Store, recorded: str | None) -> Path | None:
    """The file a run's recorded notebook name points at (the inverse of :func:`notebook_key`)."""
    if not recorded:
        return None
    path = Path(recorded)
    if not path.is_absolute() and store.project_dir is not None:
        path = store.project_dir / path
    return path if path.is_absolute() else None


def runs_page(store: Store, *, notebook: str | None, status: str | None, trigger: str | None,
              limit: int, offset: int, user: str | None = None) -> dict[str, Any]:
    """One page of runs with the total and the next offset (the runs panel pages through these)."""
    runs = list_run_records(store, notebook=notebook, status=status, trigger=trigger, user=user,
                            limit=limit, offset=offset)
    total = store.count_runs(notebook=notebook, status=status, trigger=trigger, user=user)
    more = offset + len(runs) < total
    return {"runs": runs, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + len(runs) if more else None}


def metric_points(store: Store, run_ref: str, key: str) -> dict[str, Any]:
    """One metric's points over steps, JSON-ready."""
    run_id = store.resolve_run_id(run_ref)
    points = store.metric_history(run_id, key)
    if not points:
        raise NotFoundError(f"run {run_id[:8]} has no metric {key!r}; see its metrics in GET runs/{run_id}")
    return {"run_id": run_id, "key": key,
            "points": [{"step": m.step, "value": m.to_dict()["value"], "timestamp": m.timestamp.isoformat()}
                       for m in points]}


def notebook_lifecycle(store: Store | None, notebook: Path,
                       content: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stage cells of a notebook, in lifecycle order, each with its latest attempt across the
    notebook's recent runs, stale warnings, and whether its code changed since.

    ``content`` is the notebook as open in an editor (saved or not), which is what the user sees; without
    it the file is read. A cell with a bad stage header is listed in ``invalid_cells`` and the rest of the
    view stands. ``store`` None (no store yet) lists the stage cells as not run.
    """
    cells, invalid = scan_stages(content if content is not None else notebook)
    key = notebook_key(store, notebook) if store is not None else notebook.name
    runs = store.list_runs(notebook=key, limit=LIFECYCLE_RUNS) if store is not None else []
    attempts = sorted((s for r in runs for s in store.list_stages(r.id)),  # type: ignore[union-attr]
                      key=lambda s: (s.started, s.id))
    # a headless run still going (an interactive run stays "running" while its kernel lives: not that)
    active = (runs[0].id if runs and runs[0].status in ACTIVE_STATUSES and runs[0].trigger != "interactive"
              else None)
    view = lifecycle(attempts, runs[0].id if runs else None, in_progress=active).to_dict()
    by_name = {row["name"]: row for row in view["stages"] if row["status"] != "not run"}
    digests = {s.id: s.code_digest for s in attempts}
    by_stage: dict[str, list[str]] = {}
    for c in cells:  # a stage spread over several cells ran as one stage run over all of them
        by_stage.setdefault(c.name, []).append(c.code_digest)
    stages = []
    for cell in cells:
        row = dict(by_name.get(cell.name) or {"kind": cell.kind, "name": cell.name, "status": "not run",
                                             "attempt": 0, "attempts": 0, "started": None, "duration": None,
                                             "error": None, "warnings": [], "stage_id": None})
        row["warnings"] = list(row["warnings"])
        ran_digest = digests.get(row["stage_id"])
        row["code_changed"] = bool(ran_digest and ran_digest != combined_digest(by_stage[cell.name]))
        if row["code_changed"]:
            row["warnings"].append("stale: the cell's code changed since it last ran")
        row.update(cell_index=cell.index, cell_id=cell.cell_id, form=cell.form)
        stages.append(row)
    order = {row["name"]: i for i, row in enumerate(view["stages"])}
    stages.sort(key=lambda r: (STAGE_KINDS.index(r["kind"]), order.get(r["name"], 1_000), r["cell_index"]))
    in_notebook = {c.name for c in cells}
    orphans = [row["name"] for row in by_name.values() if row["name"] not in in_notebook]
    warnings = []
    if orphans:
        warnings.append(f"stages recorded but no longer in the notebook: {', '.join(sorted(orphans))}")
    return {"run_id": view["run_id"], "notebook": key, "stages": stages, "warnings": warnings,
            "invalid_cells": [c.to_dict() for c in invalid]}

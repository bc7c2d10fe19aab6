"""Answers the REST API needs that ``mlops_magic.queries`` does not offer (yet).

Each function here only composes core calls (store, ``queries``, ``stages``);
when ``queries`` grows the same function, the handler uses that one instead
(see ``handlers._core``). Kept apart from the handlers so they stay parse-call-reply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..entities import STAGE_KINDS
from ..errors import NotFoundError
from ..queries import lifecycle, list_run_records
from ..stages import notebook_stages
from ..store import Store

#: How many of a notebook's latest runs the lifecycle view looks at for stage attempts.
LIFECYCLE_RUNS = 20


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
              limit: int, offset: int) -> dict[str, Any]:
    runs = list_run_records(store, notebook=notebook, status=status, trigger=trigger,
                            limit=limit, offset=offset)
    total = store.count_runs(notebook=notebook, status=status, trigger=trigger)
    more = offset + len(runs) < total
    return {"runs": runs, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + len(runs) if more else None}


def metric_series(store: Store, run_ref: str, key: str) -> dict[str, Any]:
    run_id = store.resolve_run_id(run_ref)
    points = store.metric_history(run_id, key)
    if not points:
        raise NotFoundError(f"run {run_id[:8]} has no metric {key!r}; see its metrics in GET runs/{run_id}")
    return {"run_id": run_id, "key": key,
            "points": [{"step": m.step, "value": m.to_dict()["value"], "timestamp": m.timestamp.isoformat()}
                       for m in points]}


def notebook_lifecycle(store: Store, notebook: Path) -> dict[str, Any]:
    """The stage cells of a notebook file, in lifecycle order, each with its latest attempt
    across the notebook's recent runs, stale warnings, and whether its code changed since."""
    cells = notebook_stages(notebook)
    key = notebook_key(store, notebook)
    runs = store.list_runs(notebook=key, limit=LIFECYCLE_RUNS)
    attempts = sorted((s for r in runs for s in store.list_stages(r.id)), key=lambda s: (s.started, s.id))
    view = lifecycle(attempts, runs[0].id if runs else None).to_dict()
    by_name = {row["name"]: row for row in view["stages"] if row["status"] != "not run"}
    digests = {s.id: s.code_digest for s in attempts}
    stages = []
    for cell in cells:
        row = dict(by_name.get(cell.name) or {"kind": cell.kind, "name": cell.name, "status": "not run",
                                             "attempt": 0, "attempts": 0, "started": None, "duration": None,
                                             "error": None, "warnings": [], "stage_id": None})
        row["warnings"] = list(row["warnings"])
        ran_digest = digests.get(row["stage_id"])
        row["code_changed"] = bool(ran_digest and ran_digest != cell.code_digest)
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
    return {"run_id": view["run_id"], "notebook": key, "stages": stages, "warnings": warnings}


def models_view(store: Store) -> list[dict[str, Any]]:
    """One row per registered model: latest version, how many, where each alias points."""
    from ..registry import model_names, versions_of

    rows = []
    for name in model_names(store):
        versions = versions_of(store, name)
        latest = versions[-1]
        rows.append({"name": name, "latest": latest.version, "versions": len(versions),
                     "aliases": {a: v.version for v in versions for a in v.aliases},
                     "updated": latest.created.isoformat(), "flavour": latest.flavour})
    return rows


def model_view(store: Store, name: str) -> dict[str, Any]:
    """A model's versions (metrics, gates, aliases, source run) and its alias history."""
    from ..registry import versions_of
    from ..registry_aliases import history

    return {"name": name, "versions": [v.to_dict() for v in versions_of(store, name)],
            "history": [c.to_dict() for c in history(store, name)]}


_background: Any = None


def start_headless_run(store: Store, notebook: Path, *, params: dict[str, Any], stages: list[str]) -> str:
    """Validate a headless run now (bad input raises before anything is recorded), then execute it
    in a background thread through the runner's core; returns the run id it will have."""
    from concurrent.futures import ThreadPoolExecutor

    from ..runner import check_kernel, run_notebooks
    from ..runner.prepare import new_run_id, prepare
    from ..runner.request import RunRequest

    global _background
    request = RunRequest(notebook=str(notebook), params=params, stages=tuple(stages), trigger="manual",
                         store_url=store.url, run_id=new_run_id())
    check_kernel(prepare(request, store.project_dir).kernel)
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlops-run-now")
    future = _background.submit(run_notebooks, [request], store=store)
    future.add_done_callback(_log_failure)
    return str(request.run_id)


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:
        import logging

        logging.getLogger("mlops_magic.server").error("headless run failed to run: %s", exc, exc_info=exc)

"""Read-side queries about sweeps every face shares: a sweep with its points, and runs listed by sweep.

A sweep is a parent run (trigger ``sweep``) with a row in ``sweeps``; its points are the runs whose
``parent_run_id`` it is. ``mlops runs``, ``%mlops runs`` and the sweep report read them from here.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..store import Store
from ..store import runs as run_table
from ..store import sweeps as sweep_table
from .queries import runs_frame


def sweep_detail(store: Store, ref: str) -> dict[str, Any]:
    """The sweep ``ref`` names (an id or a unique prefix): its run, its row, and each point (oldest first)
    with the parameters it was started with, its status, duration and latest metrics."""
    run = store.get_run(ref)
    row = sweep_table.get(store.db, run.id)
    if row is None:
        raise InvalidInputError(f"run {run.id[:8]} is not a sweep; `mlops runs --trigger sweep` lists sweeps")
    children = run_table.summaries(store.db, parents=[run.id])
    metrics = store.latest_metrics([c["id"] for c in children])
    points = [{**c, "params": store.run_requested_params(c["id"]), "metrics": metrics[c["id"]]} for c in children]
    return {"run": run, "sweep": row, "points": points}


def group_by_sweep(store: Store, records: list[dict[str, Any]], *, keep_order: bool = False) -> list[dict[str, Any]]:
    """``records`` (run dicts, newest first) with each sweep's points moved right after their sweep, each
    with ``"depth": 1`` (the sweep and every other run: 0), oldest point first (``keep_order``: in the
    order ``records`` has them, a table's sort). Points whose sweep is not listed stay in place."""
    sweeps = sweep_table.sweep_ids(store.db, [r["id"] for r in records])
    children: dict[str, list[dict[str, Any]]] = {s: [] for s in sweeps}
    for r in records:
        if r.get("parent_run_id") in children:
            children[r["parent_run_id"]].append(r)
    out: list[dict[str, Any]] = []
    for r in records:
        if r.get("parent_run_id") in children:
            continue
        out.append({**r, "depth": 0})
        points = children.get(r["id"], [])
        for child in points if keep_order else sorted(points, key=lambda c: (c["started"], c["id"])):
            out.append({**child, "depth": 1})
    return out


def sweep_points_only(store: Store, records: list[dict[str, Any]], sweep_ref: str) -> list[dict[str, Any]]:
    """The sweep ``sweep_ref`` names and its points among ``records`` (``--sweep ID``)."""
    sweep_id = store.resolve_run_id(sweep_ref)
    if sweep_table.get(store.db, sweep_id) is None:
        raise InvalidInputError(f"run {sweep_id[:8]} is not a sweep; `mlops runs --trigger sweep` lists sweeps")
    return [r for r in records if r["id"] == sweep_id or r.get("parent_run_id") == sweep_id]


def sweep_frame(store: Store, ref: str, **filters: Any) -> Any:
    """``%mlops runs --sweep ID``: the runs DataFrame (:func:`.queries.runs_frame`) of the sweep and its points,
    the sweep first, then its points oldest first."""
    sweep_id = store.resolve_run_id(ref)
    if sweep_table.get(store.db, sweep_id) is None:
        raise InvalidInputError(f"run {sweep_id[:8]} is not a sweep; `mlops runs --trigger sweep` lists sweeps")
    limit = filters.pop("limit", None)
    frame = runs_frame(store, **filters)
    frame = frame[(frame["id"] == sweep_id) | (frame["parent_run_id"] == sweep_id)]
    frame = frame.assign(_is_sweep=frame["id"] != sweep_id).sort_values(["_is_sweep", "started"])
    frame = frame.drop(columns="_is_sweep").reset_index(drop=True)
    return frame if limit is None else frame.head(limit)

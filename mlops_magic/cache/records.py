"""A restored stage gets what its source stage recorded, and a row that says where it came from.

The stage's code does not run on a restore, so the parameters, metrics, artifacts and input
fingerprints its source stage logged (by ``%mlops params``/``metric``/``artifact``/``fingerprint``, by
``mlops.log_*`` or by autolog, all of which record into the open stage) are copied into the new stage,
with autolog's marks on those it wrote.
They stay marked: the ``cached_stages`` row joins each of them, through its stage, to the run they were
computed in, and every face that shows a stage, a metric or a gate over it says so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..entities import SYSTEM_PREFIX, StageRun
from ..store import autolog as autolog_table
from ..store import cache as tables
from ..tracking.session import Session


def copy_records(session: Session, source_run: str, source_stage: int, target: StageRun,
                 skip_outputs: Iterable[str] = ()) -> int:
    """Copy what stage ``source_stage`` of run ``source_run`` logged into ``target`` (open, recording);
    output fingerprints of ``skip_outputs`` are left out (the face fingerprints the restored values)."""
    store = session.store
    params = {k: v for k, (v, sid) in store.params_with_stages(source_run).items() if sid == source_stage}
    if params:
        store.log_params(target.run_id, params, target.id)
    series: dict[str, list[tuple[int, float]]] = {}
    for m in store.metric_history(source_run):
        if m.stage_id == source_stage and not m.key.startswith(SYSTEM_PREFIX):  # its cost is not this run's
            series.setdefault(m.key, []).append((m.step, m.value))
    for key, points in series.items():
        steps = [s for s, _ in points]
        counted = steps == list(range(len(steps)))  # logged without steps: they continue the run's series
        for step, value in points:
            session.log_metric(key, value, None if counted else step)
    for artifact in store.list_artifacts(source_run):
        if artifact.stage_id == source_stage:
            store.name_artifact(target.run_id, artifact.name, artifact.digest, artifact.size, target.id)
    skip = set(skip_outputs)
    for fp in store.list_fingerprints(source_run):
        if fp.stage_id == source_stage and not (fp.role == "output" and fp.name in skip):
            store.log_fingerprint(target.run_id, fp, stage_id=target.id)
    autologged = [(kind, key, target.id, value, source)
                  for (kind, key), (sid, value, source) in autolog_table.marks(store.db, source_run).items()
                  if sid == source_stage]
    if autologged:  # what autolog recorded stays marked as autolog's in the restored stage too
        store.db.run_in_transaction(lambda tx: autolog_table.mark(tx, target.run_id, autologged))
    return len(params) + len(series)


def record_restore(session: Session, target: StageRun, *, key: str, source_run: str, source_stage: int,
                   source_seconds: float, restore_seconds: float, restored: list[str]) -> None:
    values: dict[str, Any] = {
        "stage_id": target.id, "run_id": target.run_id, "key": key, "source_run_id": source_run,
        "source_stage_id": source_stage, "source_seconds": source_seconds, "restore_seconds": restore_seconds,
        "restored": restored, "created": time.time()}
    session.store.db.run_in_transaction(lambda tx: tables.record_restore(tx, values))

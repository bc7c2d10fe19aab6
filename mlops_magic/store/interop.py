"""Interop's table, ``interop_links``, and the write of runs imported from another system.

``interop_links`` says which object of another system each imported object is (an MLflow run id, a
registered model's version), so importing the same store again skips what is already here. It is
keyed by the other system's id alone, not by the URL it was reached through: the same MLflow store
read once from its SQLite file and once through its server is one store.

:func:`insert_runs` writes imported runs whole, with their links, in the caller's transaction: each
run with its own start and end times and status (``runs.insert``), params and tags (``params``), every
metric point with its own time stamp (``metrics.insert_history``), its artifact rows (``artifacts``).
The ``Store`` facade cannot, by design: it stamps a new run and a batch of metric values with the
current time. A batch of runs is one transaction, not one per time stamp (a million of them for
10,000 runs of 2,000 points).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..entities import RunStatus
from . import artifacts, metrics, params, runs
from .columns import check_name, chunks, marks
from .db import Reader, Transaction


@dataclass
class ImportedRun:
    """One run as another system recorded it, ready to be written: its rows, not an entity."""

    id: str
    external_id: str
    notebook: str | None
    name: str | None
    status: RunStatus
    started: float
    ended: float | None
    trigger: str = "manual"
    code_version: str | None = None
    parent_run_id: str | None = None
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: (key, value, step, timestamp in seconds) for every point of every metric
    metrics: list[tuple[str, float, int, float]] = field(default_factory=list)
    #: (name, digest, size) of files already put in the artifact store
    artifacts: list[tuple[str, str, int]] = field(default_factory=list)


# -- links ------------------------------------------------------------------------------------------
def linked(q: Reader, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]:
    """external id → local id of the given objects that were imported before."""
    out: dict[str, str] = {}
    for chunk in chunks(list(dict.fromkeys(external_ids))):
        rows = q.query(f"SELECT external_id, local_id FROM interop_links WHERE system = ? AND kind = ? AND "
                       f"external_id IN ({marks(len(chunk))})", [system, kind, *chunk])
        out.update({r[0]: r[1] for r in rows})
    return out


def link(tx: Transaction, system: str, kind: str, pairs: Iterable[tuple[str, str]], source: str | None) -> None:
    """Record that each (external id, local id) pair is one object; a pair recorded before is kept."""
    now = time.time()
    tx.executemany("INSERT INTO interop_links (system, kind, external_id, local_id, source, created) "
                   "VALUES (?,?,?,?,?,?) ON CONFLICT (system, kind, external_id) DO NOTHING",
                   [(system, kind, ext, local, source, now) for ext, local in pairs])


def local_ids(q: Reader, system: str, kind: str) -> dict[str, str]:
    """local id → external id of every object of ``kind`` imported from ``system``."""
    rows = q.query("SELECT local_id, external_id FROM interop_links WHERE system = ? AND kind = ?", (system, kind))
    return {r[0]: r[1] for r in rows}


# -- imported runs ------------------------------------------------------------------------------------
def insert_runs(tx: Transaction, imported: Sequence[ImportedRun], *, system: str, source: str | None) -> int:
    """Write imported runs whole, with their links, in ``tx``; the number of metric points written."""
    points = 0
    for r in imported:
        runs.insert(tx, {"id": r.id, "notebook": r.notebook, "name": r.name, "trigger": r.trigger, "status": r.status,
                         "started": r.started, "ended": r.ended, "code_version": r.code_version,
                         "parent_run_id": r.parent_run_id, "error": r.error})
        params.insert_params(tx, r.id, r.params)
        if r.tags:
            params.upsert_tags(tx, r.id, r.tags)
        points += metrics.insert_history(tx, r.id, r.metrics)
        for name, digest, size in r.artifacts:
            artifacts.upsert(tx, r.id, check_name("artifact name", name), digest, size, None,
                             created=r.ended or r.started)
    link(tx, system, "run", [(r.external_id, r.id) for r in imported], source)
    return points


__all__ = ["ImportedRun", "insert_runs", "link", "linked", "local_ids"]

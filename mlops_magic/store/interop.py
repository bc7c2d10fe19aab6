"""Interop's table, ``interop_links``, and the bulk write of runs imported from another system.

``interop_links`` says which object of another system each imported object is (an MLflow run id, a
registered model's version), so importing the same store again skips what is already here. It is
keyed by the other system's id alone, not by the URL it was reached through: the same MLflow store
read once from its SQLite file and once through its server is one store.

:func:`insert_runs` writes imported runs whole (their own start and end times and status, every
metric point with its own time stamp, params, tags, artifact rows) in the caller's transaction, with
their links. It writes tables the runs module owns (``runs``, ``params``, ``tags``,
``metric_series``, ``metric_points``, ``artifacts``) because the ``Store`` facade cannot: it stamps a
new run with the current time, and gives a batch of metric values one time stamp. Importing 10,000
runs of 2,000 points each through it would be a million transactions (see docs/interop.md). Each table
has its own small function below, so when the runs module grows bulk inserts of its own these move there.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .db import Reader, Transaction
from .runs import check_name


@dataclass
class ImportedRun:
    """One run as another system recorded it, ready to be written: its rows, not an entity."""

    id: str
    external_id: str
    notebook: str | None
    name: str | None
    status: str
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
    ids = list(dict.fromkeys(external_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = q.query(f"SELECT external_id, local_id FROM interop_links WHERE system = ? AND kind = ? AND "
                       f"external_id IN ({','.join('?' * len(chunk))})", [system, kind, *chunk])
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
def insert_runs(tx: Transaction, runs: Sequence[ImportedRun], *, system: str, source: str | None) -> int:
    """Write imported runs whole, with their links, in ``tx``; the number of metric points written."""
    if not runs:
        return 0
    _insert_run_rows(tx, runs)
    _insert_params_and_tags(tx, runs)
    points = _insert_metric_points(tx, runs)
    _insert_artifact_rows(tx, runs)
    link(tx, system, "run", [(r.external_id, r.id) for r in runs], source)
    return points


def _insert_run_rows(tx: Transaction, runs: Sequence[ImportedRun]) -> None:
    tx.executemany(
        "INSERT INTO runs (id, notebook, name, trigger, status, started, ended, code_version, environment, "
        "parent_run_id, error, run_params) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [(r.id, r.notebook, r.name, r.trigger, r.status, r.started, r.ended, r.code_version, "{}",
          r.parent_run_id, r.error, "{}") for r in runs])


def _insert_params_and_tags(tx: Transaction, runs: Sequence[ImportedRun]) -> None:
    params = [(r.id, check_name("parameter name", k), json.dumps(v, default=str), None)
              for r in runs for k, v in r.params.items()]
    if params:
        tx.executemany("INSERT INTO params (run_id, key, value, stage_id) VALUES (?,?,?,?)", params)
    tags = [(r.id, check_name("tag name", k), str(v)) for r in runs for k, v in r.tags.items()]
    if tags:
        tx.executemany("INSERT INTO tags (run_id, key, value) VALUES (?,?,?)", tags)


def _insert_metric_points(tx: Transaction, runs: Sequence[ImportedRun]) -> int:
    """One series per (run, key), then every point with its own step and time stamp."""
    series = sorted({(r.id, check_name("metric name", key)) for r in runs for key, *_ in r.metrics})
    if not series:
        return 0
    tx.executemany("INSERT INTO metric_series (run_id, key) VALUES (?, ?)", series)
    ids: dict[tuple[str, str], int] = {}
    run_ids = sorted({run_id for run_id, _ in series})
    for i in range(0, len(run_ids), 500):
        chunk = run_ids[i:i + 500]
        for row in tx.query(f"SELECT run_id, key, id FROM metric_series WHERE run_id IN "
                            f"({','.join('?' * len(chunk))})", chunk):
            ids[(row[0], row[1])] = int(row[2])
    rows = []
    for r in runs:
        for key, value, step, ts in r.metrics:
            nan = math.isnan(value)
            rows.append((ids[(r.id, key)], int(step), None if nan else value, int(nan), ts, None))
    tx.executemany("INSERT INTO metric_points (series_id, step, value, is_nan, timestamp, stage_id) "
                   "VALUES (?,?,?,?,?,?)", rows)
    return len(rows)


def _insert_artifact_rows(tx: Transaction, runs: Sequence[ImportedRun]) -> None:
    rows = [(r.id, check_name("artifact name", name), digest, size, r.ended or r.started, None)
            for r in runs for name, digest, size in r.artifacts]
    if rows:
        tx.executemany("INSERT INTO artifacts (run_id, name, digest, size, created, stage_id) "
                       "VALUES (?,?,?,?,?,?)", rows)


__all__ = ["ImportedRun", "insert_runs", "link", "linked", "local_ids"]

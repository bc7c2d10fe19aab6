"""Store side of executing runs elsewhere: queued runs, which worker started them, and ending them once.

A cluster executor creates a run ``queued``; a worker *starts* it with
:func:`start_on_worker`, an atomic transition that also decides what a second
start of the same run means (its first worker died: the next attempt, or
``killed``). Every transition out of ``queued``/``running`` here is
conditional on the state it expects, so a submitter giving up on a queued run
and a worker starting it cannot both win, and a run is never executed twice
at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .runs import Store


@dataclass(frozen=True)
class StartDecision:
    """What a worker that picked a run up should do."""

    start: bool
    attempt: int = 1
    status: str | None = None  # when not starting: the status the run has (or was given)
    error: str | None = None
    lost_worker: str | None = None  # the worker an earlier attempt died with


def start_on_worker(store: Store, run_id: str, *, worker: str, host: str, pid: int,
                    max_attempts: int) -> StartDecision:
    """``queued`` → ``running`` on this worker; a run already ``running`` lost its worker.

    A run found ``running`` again means the cluster re-scheduled it after its worker died: it continues
    as the next attempt while ``max_attempts`` allows, else it ends ``killed`` naming that worker. A run
    that already ended (cancelled, gave up waiting) is not started.
    """
    now = time.time()

    def write(tx: Any) -> StartDecision:
        row = tx.query_one("SELECT status, worker, attempt FROM runs WHERE id = ?", (run_id,))
        if row is None:
            return StartDecision(False, status="failed", error=f"run {run_id[:8]} is not in the store")
        status, previous, attempt = row[0], row[1], int(row[2] or 0)
        if status == "queued":
            tx.execute("UPDATE runs SET status = 'running', worker = ?, host = ?, pid = ?, attempt = 1, "
                       "waiting = NULL, started = ? WHERE id = ?", (worker, host, pid, now, run_id))
            return StartDecision(True, attempt=1)
        if status != "running":
            return StartDecision(False, status=status, error="the run ended before a worker started it")
        _fail_running_stages(tx, run_id, f"worker {previous} died mid-stage")
        if attempt < max_attempts:
            tx.execute("UPDATE runs SET worker = ?, host = ?, pid = ?, attempt = ? WHERE id = ?",
                       (worker, host, pid, attempt + 1, run_id))
            return StartDecision(True, attempt=attempt + 1, lost_worker=previous)
        error = f"killed: worker {previous} died mid-run" + (
            f" (attempt {attempt} of {max_attempts})" if max_attempts > 1 else "; --retries re-runs it")
        tx.execute("UPDATE runs SET status = 'killed', ended = ?, error = ? WHERE id = ?", (now, error, run_id))
        return StartDecision(False, status="killed", error=error, lost_worker=previous)

    return store.db.run_in_transaction(write)


def _fail_running_stages(tx: Any, run_id: str, message: str) -> None:
    tx.execute("UPDATE stage_runs SET status = 'failed', ended = ?, error_type = 'Killed', error_message = ? "
               "WHERE run_id = ? AND status = 'running'", (time.time(), message, run_id))


def end_active(store: Store, run_id: str, status: str, error: str | None, *,
               expect: tuple[str, ...] = ("queued", "running"), worker: str | None = None) -> bool:
    """End a run that is still in one of ``expect`` (and, given ``worker``, still that worker's).

    Returns whether this call ended it; False means someone else already did (or the run moved on).
    """
    now = time.time()

    def write(tx: Any) -> bool:
        row = tx.query_one("SELECT status, worker FROM runs WHERE id = ?", (run_id,))
        if row is None or row[0] not in expect or (worker is not None and row[1] != worker):
            return False
        tx.execute("UPDATE runs SET status = ?, ended = ?, error = COALESCE(?, error), waiting = NULL "
                   "WHERE id = ?", (status, now, error, run_id))
        if status != "succeeded":
            _fail_running_stages(tx, run_id, error or status)
        return True

    return store.db.run_in_transaction(write)


def set_waiting(store: Store, run_ids: list[str], reason: str) -> None:
    """Record why queued runs wait (shown by ``mlops runs``); runs that started are left alone."""
    if run_ids:
        marks = ",".join("?" * len(run_ids))
        store.db.write(f"UPDATE runs SET waiting = ? WHERE status = 'queued' AND id IN ({marks})",
                       (reason, *run_ids))


def run_state(store: Store, run_id: str) -> tuple[str, str | None] | None:
    """(status, worker) of a run, or None when it is not in the store."""
    row = store.db.query_one("SELECT status, worker FROM runs WHERE id = ?", (run_id,))
    return None if row is None else (row[0], row[1])


def active_runs(store: Store, executor: str, *, older_than: float = 0.0) -> list[tuple[str, str, str | None]]:
    """(id, status, worker) of the queued and running runs sent to ``executor`` before ``older_than``."""
    rows = store.db.query("SELECT id, status, worker FROM runs WHERE executor = ? AND status IN "
                          "('queued', 'running') AND started <= ?", (executor, older_than or time.time()))
    return [(r[0], r[1], r[2]) for r in rows]


def set_attempts_tag(store: Store, run_id: str, attempts: int) -> None:
    store.set_tags(run_id, {"mlops.attempts": attempts})

"""The cluster policy for runs executed elsewhere: which worker starts a queued run, and ending it once.

A cluster executor creates a run ``queued``; a worker *starts* it with
:func:`start_on_worker`, one transaction that also decides what a second
start of the same run means (its first worker died: the next attempt, or
``killed``). This module decides; the runs table (:func:`.runs.transition`)
changes the status, always conditional on the status it expects, so a
submitter giving up on a queued run and a worker starting it cannot both
win, and a run is never executed twice at once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ..entities import ACTIVE_STATUSES, RunStatus
from . import runs, stages
from .db import Database, Transaction


@dataclass(frozen=True)
class StartDecision:
    """What a worker that picked a run up should do."""

    start: bool
    attempt: int = 1
    status: RunStatus | None = None  # when not starting: the status the run has (or was given)
    error: str | None = None
    lost_worker: str | None = None  # the worker an earlier attempt died with


def start_on_worker(db: Database, run_id: str, *, worker: str, host: str, pid: int,
                    max_attempts: int) -> StartDecision:
    """``queued`` → ``running`` on this worker; a run already ``running`` lost its worker.

    A run found ``running`` again means the cluster re-scheduled it after its worker died: it continues
    as the next attempt while ``max_attempts`` allows, else it ends ``killed`` naming that worker. A run
    that already ended (cancelled, gave up waiting) is not started.
    """
    placed = (worker, host, pid)

    def write(tx: Transaction) -> StartDecision:
        row = tx.query_one("SELECT status, worker, attempt FROM runs WHERE id = ?", (run_id,))
        if row is None:
            return StartDecision(False, status=RunStatus.FAILED, error=f"run {run_id[:8]} is not in the store")
        status, previous, attempt = RunStatus(row[0]), row[1], int(row[2] or 0)
        if status == RunStatus.QUEUED:
            runs.transition(tx, run_id, expect=(RunStatus.QUEUED,), to=RunStatus.RUNNING, placed=placed)
            return StartDecision(True, attempt=1)
        if status != RunStatus.RUNNING:
            return StartDecision(False, status=status, error="the run ended before a worker started it")
        if attempt < max_attempts:
            stages.fail_running(tx, run_id, f"worker {previous} died mid-stage")
            runs.reassign(tx, run_id, placed=placed, attempt=attempt + 1)
            return StartDecision(True, attempt=attempt + 1, lost_worker=previous)
        error = f"killed: worker {previous} died mid-run" + (
            f" (attempt {attempt} of {max_attempts})" if max_attempts > 1 else "; --retries re-runs it")
        runs.transition(tx, run_id, expect=(RunStatus.RUNNING,), to=RunStatus.KILLED, error=error)
        return StartDecision(False, status=RunStatus.KILLED, error=error, lost_worker=previous)

    return db.run_in_transaction(write)


def end_active(db: Database, run_id: str, status: RunStatus, error: str | None, *,
               expect: Collection[RunStatus] = ACTIVE_STATUSES, worker: str | None = None) -> bool:
    """End a run that is still in one of ``expect`` (and, given ``worker``, still that worker's).

    Returns whether this call ended it; False means someone else already did (or the run moved on).
    """
    return db.run_in_transaction(lambda tx: runs.transition(
        tx, run_id, expect=expect, to=status, error=error, worker=worker) is not None)


def set_waiting(db: Database, run_ids: Sequence[str], reason: str) -> None:
    """Record why queued runs wait (shown by ``mlops runs``); runs that started are left alone."""
    if run_ids:
        db.run_in_transaction(lambda tx: runs.set_waiting(tx, run_ids, reason))

"""Orphans: runs left queued or running by a process of this host that no longer exists.

Reading never writes: :func:`reap` is one explicit call, made by the scheduler's tick and by the faces
that list runs to people (``mlops runs``, ``%mlops runs``, the lab's runs view), so a kernel killed by the
OOM killer shows ``killed`` there. It decides from one read and ends every orphan in one transaction,
each conditional on the status it was seen in (a run that finished meanwhile is left alone).
"""

from __future__ import annotations

import socket

from ..entities import RunStatus
from . import runs
from .db import Database, Transaction
from .processes import pid_alive


def reap(db: Database) -> int:
    """End this host's orphaned runs as ``killed``, failing the stages they left running; how many it ended.

    A local run is orphaned when its own process is gone. A cluster run (one with a worker) is the
    submitting executor's to reconcile while that process lives; once both the worker process and the
    submitter are gone (both on this host), it is killed here, naming the worker. A queued run whose
    submitter on this host exited before any worker started it is killed too: nothing will ever start it.
    """
    host = socket.gethostname()
    dead: list[tuple[str, RunStatus, str]] = []
    for run_id, status, pid, run_host, worker, submitted_by in runs.active_of_host(db, host):
        sub_host, _, sub_pid = (submitted_by or "").rpartition(":")
        submitter_gone = sub_host == host and sub_pid.isdigit() and not pid_alive(int(sub_pid))
        if status == RunStatus.QUEUED:
            if submitter_gone:
                dead.append((run_id, RunStatus.QUEUED, f"the process that submitted it (pid {sub_pid}) exited "
                                                       "before a worker started it"))
        elif run_host == host and pid and not pid_alive(int(pid)):
            if not worker:
                dead.append((run_id, RunStatus.RUNNING, "the process running it exited without closing the run"))
            elif submitter_gone or not submitted_by:
                dead.append((run_id, RunStatus.RUNNING, f"worker {worker} (pid {pid}) died mid-run"))
    if not dead:
        return 0

    def end(tx: Transaction) -> int:
        return sum(runs.transition(tx, run_id, expect=(status,), to=RunStatus.KILLED, error=reason) is not None
                   for run_id, status, reason in dead)

    return db.run_in_transaction(end)

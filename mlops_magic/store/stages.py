"""The ``stage_runs`` table: each attempt of each stage of a run.

Attempt numbers are allocated inside the inserting transaction (``MAX(attempt) + 1`` per run and stage
name, ``UNIQUE (run_id, name, attempt)`` as the backstop). A stage left running when its run ends
unsuccessfully is failed by :func:`fail_running`, which the runs table's ``transition`` calls.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..entities import STAGE_KINDS, StageRun, StageStatus, VariableInfo, utc_from_ts
from ..errors import InvalidInputError, NotFoundError
from . import fingerprints
from .columns import changed_in_chunks, check_name, dumps, loads
from .db import Database, Reader, Transaction

_COLUMNS = ("id, run_id, kind, name, attempt, status, started, ended, code_digest, error_type, error_message, "
            "error_line, variables, notes")


def insert(tx: Transaction, run_id: str, kind: str, name: str | None, code_digest: str | None,
           notes: str | None) -> StageRun:
    """The next attempt of stage ``name`` (default: its kind) of a run, running from now, as stored (built
    from what was written, not read back: a stage cell opens one on its path)."""
    if kind not in STAGE_KINDS:
        raise InvalidInputError(f"unknown stage kind {kind!r}; use one of {', '.join(STAGE_KINDS)}")
    name = check_name("stage name", name or kind)
    row = tx.query_one("SELECT MAX(attempt) FROM stage_runs WHERE run_id = ? AND name = ?", (run_id, name))
    attempt = (row[0] or 0) + 1 if row else 1
    started = time.time()
    stage_id = int(tx.execute(
        "INSERT INTO stage_runs (run_id, kind, name, attempt, status, started, code_digest, notes) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (run_id, kind, name, attempt, StageStatus.RUNNING, started, code_digest, notes)))
    return StageRun(id=stage_id, run_id=run_id, kind=kind, name=name, attempt=attempt,
                    status=StageStatus.RUNNING, started=utc_from_ts(started),  # type: ignore[arg-type]
                    code_digest=code_digest, notes=notes)


def resume(tx: Transaction, stage_id: int, code_digest: str | None) -> None:
    """Reopen a stage run that continues in another cell (same stage, same execution)."""
    tx.execute("UPDATE stage_runs SET status = ?, ended = NULL, code_digest = ? WHERE id = ?",
               (StageStatus.RUNNING, code_digest, stage_id))


def finish(db: Database, stage_id: int, status: StageStatus, *, error_type: str | None,
           error_message: str | None, error_line: int | None, variables: Sequence[VariableInfo]) -> None:
    """Close a stage run: one statement, its own transaction (a stage cell closes one on its path)."""
    db.write(
        "UPDATE stage_runs SET status = ?, ended = ?, error_type = ?, error_message = ?, error_line = ?, "
        "variables = ? WHERE id = ?",
        (StageStatus(status), time.time(), error_type, (error_message or "")[:4000] or None, error_line,
         dumps([v.to_dict() for v in variables]), stage_id))


def fail_running(tx: Transaction, run_id: str, message: str) -> None:
    """The stages of a run still running when the run ended without succeeding: failed, ``Killed``."""
    tx.execute("UPDATE stage_runs SET status = ?, ended = ?, error_type = 'Killed', error_message = ? "
               "WHERE run_id = ? AND status = ?",
               (StageStatus.FAILED, time.time(), message[:4000], run_id, StageStatus.RUNNING))


def get(q: Reader, stage_id: int) -> StageRun:
    found = rows(q, "WHERE id = ?", [stage_id])
    if not found:
        raise NotFoundError(f"no stage run {stage_id}")
    return found[0]


def of_run(q: Reader, run_id: str) -> list[StageRun]:
    """Every attempt of every stage of a run, in the order they started."""
    return rows(q, "WHERE run_id = ? ORDER BY started, id", [run_id])


def rows(q: Reader, where: str, args: list[Any]) -> list[StageRun]:
    found = q.query(f"SELECT {_COLUMNS} FROM stage_runs {where}", args)
    if not found:
        return []
    fps = fingerprints.of_stages(q, [r["id"] for r in found])
    return [
        StageRun(
            id=r["id"], run_id=r["run_id"], kind=r["kind"], name=r["name"], attempt=r["attempt"],
            status=StageStatus(r["status"]), started=utc_from_ts(r["started"]),  # type: ignore[arg-type]
            ended=utc_from_ts(r["ended"]), code_digest=r["code_digest"], error_type=r["error_type"],
            error_message=r["error_message"], error_line=r["error_line"],
            variables=[VariableInfo(**v) for v in loads(r["variables"], [])],
            fingerprints=fps.get(r["id"], []), notes=r["notes"],
        )
        for r in found
    ]


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: every stage attempt of these runs; rows removed."""
    return changed_in_chunks(tx, "DELETE FROM stage_runs WHERE run_id IN ({ids})", run_ids)

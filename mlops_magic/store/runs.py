"""The ``runs`` table: one row per run, and the only place a run's status changes.

:func:`transition` is every status change there is (a run created ``queued`` starting on a worker, a
run ending, an orphan reaped): conditional on the status it expects, so two parties ending the same run
cannot both win, and a run that ends unsuccessfully fails the stages it left running. The policies that
decide *when* (``dispatch`` for cluster workers, ``orphans`` for dead processes, the runner and the
session for their own runs) call it inside their own transactions.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..entities import ACTIVE_STATUSES, RUN_STATUSES, TRIGGERS, Run, RunStatus, Trigger, utc_from_ts
from ..errors import InvalidInputError, NotFoundError
from . import events, params, stages
from .columns import changed_in_chunks, chunks, dumps, ends_with, loads, marks, starts_with
from .db import Reader, Row, Transaction

RUN_COLUMNS = (
    "id, notebook, name, trigger, status, started, ended, code_version, git_dirty, environment, "
    "parent_run_id, schedule_id, error, host, pid, run_params, executor, worker, waiting, submitted_by, username"
)
#: The columns of a runs table (``run_table``): what a listing shows, without params and environment.
SUMMARY_COLUMNS = "id, notebook, name, status, trigger, started, ended, parent_run_id, code_version, username"
_ACTIVE = f"status IN ({marks(len(ACTIVE_STATUSES))})"  # with *ACTIVE_STATUSES as its parameters
#: The event a run that ended badly writes, in the transaction that ends it (``mlops alert add --on failed``).
RUN_FAILED = "run-failed"
_ANNOUNCED = (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.KILLED)


def check_status(status: str, *, ending: bool = False) -> RunStatus:
    """``status`` as a :class:`RunStatus`; one clear error for an unknown one (or an active one when ``ending``)."""
    if status not in RUN_STATUSES:
        raise InvalidInputError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
    if ending and status in ACTIVE_STATUSES:
        raise InvalidInputError(f"a run cannot finish as {status!r}")
    return RunStatus(status)


# -- writes -----------------------------------------------------------------------------------------
def insert(tx: Transaction, values: Mapping[str, Any]) -> None:
    """One new run; ``values`` are columns of :data:`RUN_COLUMNS` (the rest stay NULL)."""
    columns = [c.strip() for c in RUN_COLUMNS.split(",")]
    row = {**values, "status": check_status(values["status"])}
    if row.get("trigger") not in TRIGGERS:
        raise InvalidInputError(f"unknown trigger {row.get('trigger')!r}; use one of {', '.join(TRIGGERS)}")
    for column in ("environment", "run_params"):
        row[column] = dumps(dict(row.get(column) or {}))
    tx.execute(f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({marks(len(columns))})", [row.get(c) for c in columns])
    if row["status"] in _ANNOUNCED:  # a run that could not even start
        _announce(tx, row["id"])


def transition(tx: Transaction, run_id: str, *, to: RunStatus, expect: Collection[RunStatus] | None = None,
               error: str | None = None, worker: str | None = None,
               placed: tuple[str, str, int] | None = None) -> RunStatus | None:
    """Move run ``run_id`` to status ``to``; the status it had, or None when it did not move.

    It moves only from a status in ``expect`` (any status when None) and, given ``worker``, only while
    that worker has it. Ending a run (any status but queued and running) stamps ``ended``, keeps the
    first error unless ``error`` says one, clears why it waited, and fails its stages still running
    unless it succeeded. ``placed`` (worker, host, pid) starts a queued run on a worker: attempt 1,
    ``started`` now.
    """
    row = tx.query_one("SELECT status, worker FROM runs WHERE id = ?", (run_id,))
    if row is None or (expect is not None and row[0] not in expect) or (worker is not None and row[1] != worker):
        return None
    now = time.time()
    if to in ACTIVE_STATUSES:
        if placed is None:
            raise ValueError(f"a run moves to {to} only when it is placed on a worker")
        tx.execute("UPDATE runs SET status = ?, worker = ?, host = ?, pid = ?, attempt = 1, waiting = NULL, "
                   "started = ?, ended = NULL WHERE id = ?", (to, *placed, now, run_id))
    else:
        tx.execute("UPDATE runs SET status = ?, ended = ?, error = COALESCE(?, error), waiting = NULL WHERE id = ?",
                   (to, now, error, run_id))
        if to != RunStatus.SUCCEEDED:
            stages.fail_running(tx, run_id, error or str(to))
        if to in _ANNOUNCED:
            _announce(tx, run_id)
    return RunStatus(row[0])


def _announce(tx: Transaction, run_id: str) -> None:
    """The :data:`RUN_FAILED` event of a headless run that ended badly, however it ended (its runner, a
    cluster worker's fault, an orphan reaped), so no failure escapes the alert rules. A run of an
    interactive kernel is left out: its user is looking at it."""
    row = tx.query_one("SELECT notebook, status, error, trigger, schedule_id FROM runs WHERE id = ?", (run_id,))
    if row is None or row[3] == Trigger.INTERACTIVE:
        return
    attempts = params.tag(tx, run_id, "mlops.attempts")
    events.insert(tx, RUN_FAILED, subject=row[0], run_id=run_id, payload={
        "status": row[1], "notebook": row[0], "error": row[2], "trigger": row[3], "schedule_id": row[4],
        "attempts": int(attempts) if attempts and attempts.isdigit() else 1})


def reassign(tx: Transaction, run_id: str, *, placed: tuple[str, str, int], attempt: int) -> None:
    """A running run continues on another worker as attempt ``attempt`` (its first worker died)."""
    tx.execute("UPDATE runs SET worker = ?, host = ?, pid = ?, attempt = ? WHERE id = ?", (*placed, attempt, run_id))


def set_waiting(tx: Transaction, run_ids: Sequence[str], reason: str) -> None:
    """Record why queued runs wait (shown by ``mlops runs``); runs that started are left alone."""
    for chunk in chunks(list(run_ids)):
        tx.execute(f"UPDATE runs SET waiting = ? WHERE status = ? AND id IN ({marks(len(chunk))})",
                   (reason, RunStatus.QUEUED, *chunk))


def rename_notebook_runs(tx: Transaction, old: str, new: str) -> int:
    """Move the runs recorded under notebook ``old`` (or a notebook inside folder ``old``) to ``new``."""
    inside, inside_args = starts_with("notebook", old + "/")
    where = f"WHERE notebook = ? OR {inside}"
    args = (old, *inside_args)
    row = tx.query_one(f"SELECT COUNT(*) FROM runs {where}", args)
    tx.execute(f"UPDATE runs SET notebook = ? || substr(notebook, ?) {where}", (new, len(old) + 1, *args))
    return int(row[0]) if row else 0


# -- reads ------------------------------------------------------------------------------------------
def resolve_id(q: Reader, ref: str) -> str:
    """A full id, or a unique prefix of one (as git accepts short hashes); ``latest`` is the newest run."""
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInputError("a run id is required")
    if ref in ("latest", "last"):
        row = q.query_one("SELECT id FROM runs ORDER BY started DESC LIMIT 1")
        if row is None:
            raise NotFoundError("the store has no runs yet")
        return str(row[0])
    prefix, args = starts_with("id", ref)
    rows = q.query(f"SELECT id FROM runs WHERE {prefix} LIMIT 2", args)
    if not rows:
        raise NotFoundError(f"no run {ref!r}; list runs with `mlops runs`")
    if len(rows) > 1:
        raise InvalidInputError(f"run id {ref!r} is ambiguous; give more characters")
    return str(rows[0][0])


def state(q: Reader, run_id: str) -> tuple[RunStatus, str | None] | None:
    """(status, worker) of a run, or None when it is not in the store."""
    row = q.query_one("SELECT status, worker FROM runs WHERE id = ?", (run_id,))
    return None if row is None else (RunStatus(row[0]), row[1])


def active_on(q: Reader, executor: str, *, older_than: float) -> list[tuple[str, RunStatus, str | None]]:
    """(id, status, worker) of the queued and running runs sent to ``executor`` before ``older_than``."""
    rows = q.query(f"SELECT id, status, worker FROM runs WHERE executor = ? AND {_ACTIVE} AND started <= ?",
                   (executor, *ACTIVE_STATUSES, older_than))
    return [(r[0], RunStatus(r[1]), r[2]) for r in rows]


def active_of_host(q: Reader, host: str) -> list[Row]:
    """(id, status, pid, host, worker, submitted_by) of queued and running runs this host ran or submitted."""
    submitted, args = starts_with("submitted_by", host + ":")
    return q.query(f"SELECT id, status, pid, host, worker, submitted_by FROM runs WHERE {_ACTIVE} "
                   f"AND (host = ? OR {submitted})", (*ACTIVE_STATUSES, host, *args))


def filter_values(status: str | None, trigger: str | None) -> dict[str, list[str]]:
    """The comma-separated ``status`` and ``trigger`` filters of a runs query as lists, each value checked
    (one clear error for an unknown one), whether or not there is a store to ask yet."""
    out: dict[str, list[str]] = {}
    for column, value, allowed in (("status", status, RUN_STATUSES), ("trigger", trigger, TRIGGERS)):
        values = [v.strip() for v in (value or "").split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if bad:
            raise InvalidInputError(f"unknown {column} {bad[0]!r}; use one of {', '.join(allowed)}")
        out[column] = values
    return out


def _filters(notebook: str | None, status: str | None, trigger: str | None,
             schedule_id: str | None = None, user: str | None = None) -> tuple[str, list[Any]]:
    clauses, args = [], []
    for column, values in filter_values(status, trigger).items():
        if values:
            clauses.append(f"{column} IN ({marks(len(values))})")
            args.extend(values)
    if notebook:  # a notebook's own runs, and those recorded under a longer path ending in its name
        inside, inside_args = ends_with("notebook", "/" + notebook)
        clauses.append(f"(notebook = ? OR {inside})")
        args.extend([notebook, *inside_args])
    if schedule_id:
        clauses.append("schedule_id = ?")
        args.append(schedule_id)
    users = [u.strip() for u in (user or "").split(",") if u.strip()]
    if users:  # who started them: one user or several, comma-separated
        clauses.append(f"username IN ({marks(len(users))})")
        args.extend(users)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def get(q: Reader, ref: str) -> Run:
    run_id = resolve_id(q, ref)
    row = q.query_one(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
    assert row is not None
    return _run(row, params.params_of(q, [run_id])[run_id], params.tags_of(q, [run_id])[run_id])


def listing(q: Reader, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
            schedule_id: str | None = None, user: str | None = None, limit: int | None = None,
            offset: int = 0) -> list[Run]:
    """Runs newest first, each with its params and tags."""
    where, args = _filters(notebook, status, trigger, schedule_id, user)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = q.query(f"SELECT {RUN_COLUMNS} FROM runs{where} ORDER BY started DESC, id{page}", args)
    ids = [r["id"] for r in rows]
    values, tags = params.params_of(q, ids), params.tags_of(q, ids)
    return [_run(r, values[r["id"]], tags[r["id"]]) for r in rows]


def summary_rows(q: Reader, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
                 user: str | None = None, limit: int | None = None) -> list[Row]:
    """The :data:`SUMMARY_COLUMNS` of runs, newest first: the fast path behind tables."""
    where, args = _filters(notebook, status, trigger, user=user)
    page = f" LIMIT {int(limit)}" if limit is not None else ""
    return q.query(f"SELECT {SUMMARY_COLUMNS} FROM runs{where} ORDER BY started DESC, id{page}", args)


def count(q: Reader, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
          user: str | None = None) -> int:
    where, args = _filters(notebook, status, trigger, user=user)
    row = q.query_one(f"SELECT COUNT(*) FROM runs{where}", args)
    return int(row[0]) if row else 0


def requested_params(q: Reader, run_id: str) -> dict[str, Any]:
    """The parameters a run was started with (headless ``-p``), as opposed to ones logged later."""
    row = q.query_one("SELECT run_params FROM runs WHERE id = ?", (run_id,))
    return loads(row[0], {}) if row else {}


def latest_tagged(q: Reader, notebook: str, key: str, *, status: RunStatus) -> tuple[str, str] | None:
    """(run id, tag value) of the notebook's newest run in ``status`` that carries tag ``key``."""
    row = q.query_one(
        "SELECT r.id, t.value FROM runs r JOIN tags t ON t.run_id = r.id AND t.key = ? "
        "WHERE r.notebook = ? AND r.status = ? ORDER BY r.started DESC LIMIT 1", (key, notebook, status))
    return (row[0], row[1]) if row else None


def summaries(q: Reader, run_ids: Sequence[str] = (), *, parents: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Summary rows (id, notebook, name, status, trigger, started, parent_run_id) of these runs, and of
    every run whose parent is one of ``parents``; oldest first. A few queries whatever the count."""
    out: dict[str, dict[str, Any]] = {}
    for column, values in (("id", list(run_ids)), ("parent_run_id", list(parents))):
        for chunk in chunks(sorted(set(values))):
            rows = q.query("SELECT id, notebook, name, status, trigger, started, parent_run_id FROM runs "
                           f"WHERE {column} IN ({marks(len(chunk))})", chunk)
            for r in rows:
                out[r[0]] = {"id": r[0], "notebook": r[1], "name": r[2], "status": RunStatus(r[3]),
                             "trigger": r[4], "started": utc_from_ts(r[5]), "parent_run_id": r[6]}
    return sorted(out.values(), key=lambda r: (r["started"], r["id"]))


def succeeded_of_notebook(q: Reader, notebook: str, since: float, limit: int) -> list[tuple[str, float]]:
    """(run id, ended) of a notebook's successful runs since ``since``, newest first: 'after' triggers."""
    rows = q.query("SELECT id, ended FROM runs WHERE notebook = ? AND status = ? AND ended >= ? "
                   "ORDER BY ended DESC, id LIMIT ?", (notebook, RunStatus.SUCCEEDED, since, int(limit)))
    return [(r[0], r[1]) for r in rows]


def _run(row: Row, values: dict[str, Any], tags: dict[str, str]) -> Run:
    return Run(
        id=row["id"], notebook=row["notebook"], name=row["name"], trigger=row["trigger"],
        status=RunStatus(row["status"]), started=utc_from_ts(row["started"]),  # type: ignore[arg-type]
        ended=utc_from_ts(row["ended"]), params=values, tags=tags,
        code_version=row["code_version"],
        git_dirty=None if row["git_dirty"] is None else bool(row["git_dirty"]),
        environment=loads(row["environment"], {}), parent_run_id=row["parent_run_id"],
        schedule_id=row["schedule_id"], error=row["error"], host=row["host"], pid=row["pid"],
        executor=row["executor"], worker=row["worker"], waiting=row["waiting"], user=row["username"],
    )


# -- retention --------------------------------------------------------------------------------------
def expired(q: Reader, *, started_before: float, keep_last: int) -> list[str]:
    """Ended runs started before ``started_before`` that are not among the ``keep_last`` newest of their
    notebook, oldest first: what retention may remove (before it leaves out what must be kept)."""
    rows = q.query(
        "SELECT id FROM (SELECT id, status, started, ROW_NUMBER() OVER (PARTITION BY COALESCE(notebook, '') "
        "ORDER BY started DESC, id) AS newest FROM runs) r "
        f"WHERE newest > ? AND started < ? AND status NOT IN ({marks(len(ACTIVE_STATUSES))}) ORDER BY started, id",
        (int(keep_last), started_before, *ACTIVE_STATUSES))
    return [r[0] for r in rows]


def last_of_schedules(q: Reader) -> set[str]:
    """Each schedule's newest run (retention keeps it: ``--if-changed`` and the schedule list read it)."""
    rows = q.query("SELECT r.id FROM runs r JOIN (SELECT schedule_id, MAX(started) AS last FROM runs "
                   "WHERE schedule_id IS NOT NULL GROUP BY schedule_id) m "
                   "ON m.schedule_id = r.schedule_id AND m.last = r.started")
    return {r[0] for r in rows}


def still_expired(q: Reader, run_ids: Sequence[str]) -> list[str]:
    """Those of ``run_ids`` that still exist and are not queued or running (read again inside the deleting
    transaction, so a run that was resumed or re-queued meanwhile is left alone)."""
    out: list[str] = []
    for chunk in chunks(list(run_ids)):
        rows = q.query(f"SELECT id FROM runs WHERE id IN ({marks(len(chunk))}) "
                       f"AND status NOT IN ({marks(len(ACTIVE_STATUSES))})", (*chunk, *ACTIVE_STATUSES))
        out.extend(r[0] for r in rows)
    return out


def delete(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: the runs themselves, after their owners removed every row that names them."""
    return changed_in_chunks(tx, "DELETE FROM runs WHERE id IN ({ids})", run_ids)

"""The scheduler's tables: ``schedules`` (what runs when) and ``schedule_fires`` (each due time, claimed once).

A fire's ``UNIQUE (schedule_id, fire_key)`` row is the claim: whichever tick inserts it runs that due
time, so any number of schedulers on one store start each due time once (see :func:`claim_fire`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..entities import ACTIVE_STATUSES, FireState
from ..errors import StoreDuplicate
from . import events
from .columns import marks, starts_with
from .db import Database, Reader, Row, Transaction
from .processes import current_user

SCHEDULE_COLUMNS = ("id", "notebook", "base_dir", "params", "stages", "from_stage", "cron", "timezone", "on_change",
                    "after", "on_drift", "timeout", "retries", "catchup", "max_concurrency", "paused", "notify",
                    "kernel", "created", "cron_cursor", "event_cursor", "on_performance_drop", "executor", "resources",
                    "queue_timeout", "cron_next", "cache", "username", "changed_by", "changed")
_SELECT = f"SELECT {', '.join(SCHEDULE_COLUMNS)} FROM schedules"
ACTIVE = (FireState.CLAIMED, FireState.RUNNING)  # fire states that hold a place of the schedule's max concurrency


# -- schedules ------------------------------------------------------------------------------------------
def insert_schedule(tx: Transaction, values: dict[str, Any]) -> None:
    """A new schedule, recorded as made by :func:`current_user`, with a ``schedule-changed`` event."""
    user = current_user()
    values = {**values, "username": user, "changed_by": user, "changed": values.get("created")}
    tx.execute(f"INSERT INTO schedules ({', '.join(SCHEDULE_COLUMNS)}) "
               f"VALUES ({','.join('?' * len(SCHEDULE_COLUMNS))})", [values.get(c) for c in SCHEDULE_COLUMNS])
    _changed(tx, values["id"], "added", user)


def _changed(tx: Transaction, schedule_id: str, action: str, user: str, **detail: Any) -> None:
    """Who changed a schedule, and how: an event in the change's own transaction (the audit trail that
    outlives a removed schedule)."""
    events.insert(tx, "schedule-changed", subject=schedule_id, payload={"action": action, "user": user, **detail})


def schedule_rows(q: Reader) -> list[Row]:
    return q.query(_SELECT + " ORDER BY created, id")


def schedule_rows_to_examine(q: Reader, now: float) -> list[Row]:
    """Unpaused schedules that may be due at ``now``: no cron, a cron time not computed yet or already
    passed, or an ``after`` / event trigger (those are looked up per tick). 10,000 cron schedules of which
    a few are due cost one indexed read, not 10,000 cron evaluations."""
    return q.query(_SELECT + " WHERE paused = 0 AND (cron IS NULL OR cron_next IS NULL OR cron_next <= ? OR "
                   "after IS NOT NULL OR on_drift IS NOT NULL OR on_performance_drop IS NOT NULL) "
                   "ORDER BY created, id", (now,))


def schedules_by_prefix(q: Reader, prefix: str, limit: int = 2) -> list[Row]:
    """Schedules whose id starts with ``prefix`` (exactly: ``%`` and ``_`` in it are plain characters)."""
    condition, args = starts_with("id", prefix)
    return q.query(f"{_SELECT} WHERE {condition} LIMIT ?", (*args, int(limit)))


def set_paused(tx: Transaction, schedule_id: str, paused: bool) -> None:
    user = current_user()
    tx.execute("UPDATE schedules SET paused = ?, changed_by = ?, changed = ? WHERE id = ?",
               (int(paused), user, time.time(), schedule_id))
    _changed(tx, schedule_id, "paused" if paused else "resumed", user)


def set_schedule_notebook(tx: Transaction, schedule_id: str, base_dir: str, notebook: str) -> None:
    """Point a schedule at its notebook's new place (a rename in Lab)."""
    user = current_user()
    tx.execute("UPDATE schedules SET base_dir = ?, notebook = ?, changed_by = ?, changed = ? WHERE id = ?",
               (base_dir, notebook, user, time.time(), schedule_id))
    _changed(tx, schedule_id, "moved", user, notebook=notebook)


def delete_schedule(tx: Transaction, schedule_id: str) -> None:
    tx.execute("DELETE FROM schedule_fires WHERE schedule_id = ?", (schedule_id,))
    tx.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
    _changed(tx, schedule_id, "removed", current_user())


def advance_cursors(tx: Transaction, schedule_id: str, *, cron_cursor: float | None,
                    event_cursor: int | None, cron_next: float | None = None) -> None:
    """Move a schedule's cursors forward only (a slower concurrent tick never moves them back), the cron
    cursor together with its next due time."""
    if cron_cursor is not None:
        tx.execute("UPDATE schedules SET cron_cursor = ?, cron_next = ? WHERE id = ? AND "
                   "(cron_cursor IS NULL OR cron_cursor < ?)", (cron_cursor, cron_next, schedule_id, cron_cursor))
    elif cron_next is not None:
        tx.execute("UPDATE schedules SET cron_next = ? WHERE id = ?", (cron_next, schedule_id))
    if event_cursor is not None:
        tx.execute("UPDATE schedules SET event_cursor = ? WHERE id = ? AND event_cursor < ?",
                   (event_cursor, schedule_id, event_cursor))


# -- fires ------------------------------------------------------------------------------------------------
def fire_exists(q: Reader, schedule_id: str, fire_key: str) -> bool:
    return q.query_one("SELECT 1 FROM schedule_fires WHERE schedule_id = ? AND fire_key = ?",
                       (schedule_id, fire_key)) is not None


def active_fires(q: Reader, schedule_id: str) -> int:
    row = q.query_one(f"SELECT COUNT(*) FROM schedule_fires WHERE schedule_id = ? AND state IN "
                      f"({','.join('?' * len(ACTIVE))})", (schedule_id, *ACTIVE))
    return int(row[0]) if row else 0


class Claim(Enum):
    """How a tick's claim of a due time came out."""

    WON = "won"  # this tick inserted the fire: it runs the due time, under the reserved run id
    TAKEN = "taken"  # another tick already has this due time
    BUSY = "busy"  # the schedule is at its maximum concurrency: try again on a later tick


@dataclass(frozen=True)
class FireClaim:
    outcome: Claim
    run_id: str | None = None  # the run id reserved for it, when WON


def claim_fire(db: Database, schedule_id: str, fire_key: str, *, trigger: str, due: float, run_id: str,
               claimed_by: str, created: float, max_concurrency: int) -> FireClaim:
    """Insert the fire unless a tick did already or the schedule has no room; one transaction.

    Two ticks that both find the fire missing race on the ``UNIQUE (schedule_id, fire_key)`` insert: the
    loser's write is a :class:`~mlops_magic.errors.StoreDuplicate`, which is ``TAKEN`` here.
    """

    def write(tx: Transaction) -> FireClaim:
        if fire_exists(tx, schedule_id, fire_key):
            return FireClaim(Claim.TAKEN)
        if active_fires(tx, schedule_id) >= max_concurrency:
            return FireClaim(Claim.BUSY)
        tx.execute("INSERT INTO schedule_fires (schedule_id, fire_key, trigger, due, run_id, state, claimed_by, "
                   "created) VALUES (?,?,?,?,?,?,?,?)",
                   (schedule_id, fire_key, trigger, due, run_id, FireState.CLAIMED, claimed_by, created))
        return FireClaim(Claim.WON, run_id)

    try:
        return db.run_in_transaction(write)
    except StoreDuplicate:
        return FireClaim(Claim.TAKEN)


def set_fire_state(tx: Transaction, schedule_id: str, fire_key: str, state: FireState) -> None:
    tx.execute("UPDATE schedule_fires SET state = ? WHERE schedule_id = ? AND fire_key = ?",
               (FireState(state), schedule_id, fire_key))


def close_fires_of_ended_runs(tx: Transaction) -> None:
    """A fire whose run is no longer queued or running is done, whoever ran it."""
    tx.execute(f"UPDATE schedule_fires SET state = ? WHERE state IN ({marks(len(ACTIVE))}) "
               f"AND run_id IN (SELECT id FROM runs WHERE status NOT IN ({marks(len(ACTIVE_STATUSES))}))",
               (FireState.DONE, *ACTIVE, *ACTIVE_STATUSES))


def fires_without_run(q: Reader) -> list[tuple[int, str, str, str | None]]:
    """(fire id, schedule id, run id, claimed_by) of claimed fires whose run was never recorded."""
    rows = q.query("SELECT f.id, f.schedule_id, f.run_id, f.claimed_by FROM schedule_fires f "
                   "LEFT JOIN runs r ON r.id = f.run_id WHERE f.state = ? AND r.id IS NULL", (FireState.CLAIMED,))
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows]


def close_fire(tx: Transaction, fire_id: int) -> None:
    tx.execute("UPDATE schedule_fires SET state = ? WHERE id = ?", (FireState.DONE, fire_id))


def fires_of(q: Reader, schedule_id: str) -> list[dict[str, Any]]:
    rows = q.query("SELECT fire_key, trigger, due, run_id, state FROM schedule_fires WHERE schedule_id = ? "
                   "ORDER BY id", (schedule_id,))
    return [{"key": r[0], "trigger": r[1], "due": r[2], "run_id": r[3], "state": r[4]} for r in rows]


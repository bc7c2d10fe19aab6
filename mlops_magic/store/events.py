"""The ``events`` table: an append-only log (run finished, model registered, alias moved, drift found).

Schedulers follow it by id (``after``), so an event is written in the same transaction as the change it
announces: a scheduler can never see the event without the change, or the change without the event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..entities import utc_from_ts
from .columns import changed_in_chunks
from .db import Reader, Transaction


def insert(tx: Transaction, kind: str, *, subject: str | None = None, run_id: str | None = None,
           payload: Mapping[str, Any] | None = None, created: float | None = None) -> int:
    """Append one event; returns its id."""
    return int(tx.execute("INSERT INTO events (kind, subject, run_id, payload, created) VALUES (?,?,?,?,?)",
                          (kind, subject, run_id, json.dumps(dict(payload or {}), default=str),
                           time.time() if created is None else created)))


def after(q: Reader, after_id: int = 0, *, kind: str | None = None, subject: str | None = None,
          limit: int = 1000) -> list[dict[str, Any]]:
    """Events newer than ``after_id``, oldest first."""
    sql = "SELECT id, kind, subject, run_id, payload, created FROM events WHERE id > ?"
    args: list[Any] = [after_id]
    if kind:
        sql += " AND kind = ?"
        args.append(kind)
    if subject:
        sql += " AND subject = ?"
        args.append(subject)
    rows = q.query(sql + f" ORDER BY id LIMIT {int(limit)}", args)
    return [{"id": r[0], "kind": r[1], "subject": r[2], "run_id": r[3], "payload": _payload(r[4]),
             "created": utc_from_ts(r[5])} for r in rows]


def last_id(q: Reader) -> int:
    """The newest event's id (0 for none): where a new follower starts."""
    row = q.query_one("SELECT MAX(id) FROM events")
    return int(row[0]) if row and row[0] is not None else 0


def _payload(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: the events about these runs; rows removed (schedules' cursors only move forward)."""
    return changed_in_chunks(tx, "DELETE FROM events WHERE run_id IN ({ids})", run_ids)

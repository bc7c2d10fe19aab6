"""The ``events`` table: an append-only log (run finished, model registered, alias moved, drift found).

Schedulers and alert rules follow it by id (``after``), so an event is written in the same transaction as
the change it announces: a follower can never see the event without the change, or the change without the
event. A process may also :func:`subscribe` to hear that it wrote one (alert delivery wakes up then instead
of polling); a subscriber is told inside the writing transaction, so it must only take note, never read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..entities import utc_from_ts
from .columns import changed_in_chunks
from .db import Reader, Transaction

#: Called with the kind of each event this process writes (see the module docstring).
_subscribers: list[Callable[[str], None]] = []


def subscribe(fn: Callable[[str], None]) -> None:
    """Hear ``fn(kind)`` after each event this process inserts (once per function, however often given)."""
    if fn not in _subscribers:
        _subscribers.append(fn)


def unsubscribe(fn: Callable[[str], None]) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


def insert(tx: Transaction, kind: str, *, subject: str | None = None, run_id: str | None = None,
           payload: Mapping[str, Any] | None = None, created: float | None = None) -> int:
    """Append one event; returns its id."""
    event_id = int(tx.execute("INSERT INTO events (kind, subject, run_id, payload, created) VALUES (?,?,?,?,?)",
                              (kind, subject, run_id, json.dumps(dict(payload or {}), default=str),
                               time.time() if created is None else created)))
    for fn in list(_subscribers):
        try:
            fn(kind)
        except Exception:  # a subscriber only takes note; it can never undo the write
            pass
    return event_id


def after(q: Reader, after_id: int = 0, *, kind: str | None = None, subject: str | None = None,
          limit: int = 1000, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Events newer than ``after_id``, oldest first (of ``kind``, or of any of ``kinds``)."""
    sql = "SELECT id, kind, subject, run_id, payload, created FROM events WHERE id > ?"
    args: list[Any] = [after_id]
    if kind:
        sql += " AND kind = ?"
        args.append(kind)
    elif kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        args.extend(kinds)
    if subject:
        sql += " AND subject = ?"
        args.append(subject)
    return [_event(r) for r in q.query(sql + f" ORDER BY id LIMIT {int(limit)}", args)]


def _event(r: Any) -> dict[str, Any]:
    return {"id": r[0], "kind": r[1], "subject": r[2], "run_id": r[3], "payload": _payload(r[4]),
            "created": utc_from_ts(r[5])}


def by_ids(q: Reader, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The events with these ids, by id (one that is gone is simply absent)."""
    found: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = q.query("SELECT id, kind, subject, run_id, payload, created FROM events "
                       f"WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        found.update({r[0]: _event(r) for r in rows})
    return found


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

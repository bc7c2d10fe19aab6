"""The alert tables: ``alert_rules`` (which events go where) and ``alert_deliveries`` (the outbox).

A rule follows the events log with its own cursor; each event it matches becomes one delivery row,
``UNIQUE (rule_id, event_id)``, so any number of processes may look at the same events and a message is
queued once. A delivery is *claimed* (``sending`` with a lease) inside a transaction before it is sent, so
two deliverers never send it twice while both live; one that died mid-send leaves a lease that expires,
and the next deliverer sends it again (at least once, never silently lost).

Statuses: ``pending`` (due at ``next_attempt``), ``sending`` (claimed until ``lease``), ``sent``,
``failed`` (gave up after the last retry), ``suppressed`` (a duplicate or over the rule's rate limit;
``reason`` says which). A rule's target is an address or a reference to where its secret is
(``env:NAME``, ``config:NAME``), never the secret itself (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..entities import DeliveryStatus as D
from .db import Reader, Row, Transaction

RULE_COLUMNS = ("id", "kinds", "channel", "target", "shown", "notebook", "model", "severity", "dedup_window",
                "rate_limit", "cursor", "created", "created_by")
OPEN = (D.PENDING, D.SENDING)
#: Statuses that count towards a rule's dedup window and rate limit: messages that went or will go out.
COUNTED = (D.PENDING, D.SENDING, D.SENT, D.FAILED)


# -- rules --------------------------------------------------------------------------------------------
def insert_rule(tx: Transaction, values: dict[str, Any]) -> int:
    columns = [c for c in RULE_COLUMNS if c != "id"]
    return int(tx.execute(f"INSERT INTO alert_rules ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                          [values.get(c) for c in columns]))


def rules(q: Reader) -> list[Row]:
    return q.query(f"SELECT {', '.join(RULE_COLUMNS)} FROM alert_rules ORDER BY id")


def rule(q: Reader, rule_id: int) -> Row | None:
    return q.query_one(f"SELECT {', '.join(RULE_COLUMNS)} FROM alert_rules WHERE id = ?", (rule_id,))


def delete_rule(tx: Transaction, rule_id: int) -> None:
    tx.execute("DELETE FROM alert_deliveries WHERE rule_id = ?", (rule_id,))
    tx.execute("DELETE FROM alert_rules WHERE id = ?", (rule_id,))


def advance_cursor(tx: Transaction, rule_id: int, cursor: int) -> None:
    """Move a rule's cursor forward (never back: two deliverers may race)."""
    tx.execute("UPDATE alert_rules SET cursor = ? WHERE id = ? AND cursor < ?", (cursor, rule_id, cursor))


# -- deliveries: queueing -------------------------------------------------------------------------------
def queued(q: Reader, rule_id: int, event_ids: Sequence[int]) -> set[int]:
    """Which of these events already have a delivery of this rule."""
    if not event_ids:
        return set()
    rows = q.query(f"SELECT event_id FROM alert_deliveries WHERE rule_id = ? AND event_id IN "
                   f"({','.join('?' * len(event_ids))})", (rule_id, *event_ids))
    return {int(r[0]) for r in rows}


def counted_since(q: Reader, rule_id: int, since: float) -> list[tuple[int, str, float]]:
    """(id, dedup key, created) of the rule's messages since ``since`` that went or will go out."""
    rows = q.query(f"SELECT id, dedup_key, created FROM alert_deliveries WHERE rule_id = ? AND created >= ? AND "
                   f"status IN ({','.join('?' * len(COUNTED))}) AND event_id IS NOT NULL",
                   (rule_id, since, *COUNTED))
    return [(int(r[0]), r[1], float(r[2])) for r in rows]


def enqueue(tx: Transaction, rule_id: int, event_id: int | None, dedup_key: str, *, status: str,
            reason: str | None, now: float) -> int:
    """Queue one delivery (``pending``, due now) or record why it was ``suppressed``."""
    return int(tx.execute(
        "INSERT INTO alert_deliveries (rule_id, event_id, dedup_key, status, reason, attempts, next_attempt, "
        "created) VALUES (?,?,?,?,?,0,?,?)", (rule_id, event_id, dedup_key, status, reason, now, now)))


# -- deliveries: sending --------------------------------------------------------------------------------
def claim_due(tx: Transaction, now: float, lease: float, limit: int = 50) -> list[Row]:
    """Deliveries due now (pending, or sending with an expired lease), marked ``sending`` until ``lease``."""
    rows = tx.query("SELECT id, rule_id, event_id, dedup_key, attempts, created FROM alert_deliveries "
                    "WHERE (status = ? AND next_attempt <= ?) OR (status = ? AND lease < ?) "
                    f"ORDER BY id LIMIT {int(limit)}", (D.PENDING, now, D.SENDING, now))
    for r in rows:
        tx.execute("UPDATE alert_deliveries SET status = ?, lease = ? WHERE id = ?", (D.SENDING, lease, r[0]))
    return rows


def mark_sent(tx: Transaction, delivery_id: int, now: float) -> None:
    tx.execute("UPDATE alert_deliveries SET status = ?, sent = ?, lease = NULL, reason = NULL, "
               "attempts = attempts + 1 WHERE id = ?", (D.SENT, now, delivery_id))


def mark_failed_attempt(tx: Transaction, delivery_id: int, error: str, *, next_attempt: float | None) -> None:
    """One failed attempt: retried at ``next_attempt``, or ``failed`` for good when that is None."""
    status = D.PENDING if next_attempt is not None else D.FAILED
    tx.execute("UPDATE alert_deliveries SET status = ?, reason = ?, next_attempt = ?, lease = NULL, "
               "attempts = attempts + 1 WHERE id = ?", (status, error, next_attempt, delivery_id))


def suppressed_since(q: Reader, rule_id: int, since: float) -> int:
    row = q.query_one("SELECT COUNT(*) FROM alert_deliveries WHERE rule_id = ? AND status = ? "
                      "AND created > ?", (rule_id, D.SUPPRESSED, since))
    return int(row[0]) if row else 0


def last_sent(q: Reader, rule_id: int, before_id: int) -> float | None:
    row = q.query_one("SELECT MAX(sent) FROM alert_deliveries WHERE rule_id = ? AND status = ? AND id < ?",
                      (rule_id, D.SENT, before_id))
    return float(row[0]) if row and row[0] is not None else None


# -- reading -------------------------------------------------------------------------------------------
def stats(q: Reader) -> dict[int, dict[str, Any]]:
    """Per rule: how many deliveries have each status, the last one sent, and the newest error."""
    out: dict[int, dict[str, Any]] = {}
    for rule_id, status, count, newest in q.query(
            "SELECT rule_id, status, COUNT(*), MAX(COALESCE(sent, created)) FROM alert_deliveries "
            "GROUP BY rule_id, status"):
        entry = out.setdefault(int(rule_id), {"counts": {}, "last_sent": None, "last_error": None})
        entry["counts"][status] = int(count)
        if status == D.SENT:
            entry["last_sent"] = newest
    for rule_id, reason in q.query(
            "SELECT d.rule_id, d.reason FROM alert_deliveries d WHERE d.id IN (SELECT MAX(id) FROM "
            "alert_deliveries WHERE reason IS NOT NULL AND status IN (?, ?) GROUP BY rule_id)",
            (D.PENDING, D.FAILED)):
        out.setdefault(int(rule_id), {"counts": {}, "last_sent": None, "last_error": None})["last_error"] = reason
    return out


def deliveries(q: Reader, rule_id: int | None = None, limit: int = 50) -> list[Row]:
    """The newest deliveries (of one rule), newest first."""
    sql = ("SELECT id, rule_id, event_id, dedup_key, status, reason, attempts, next_attempt, created, sent "
           "FROM alert_deliveries")
    args: list[Any] = []
    if rule_id is not None:
        sql += " WHERE rule_id = ?"
        args.append(rule_id)
    return q.query(sql + f" ORDER BY id DESC LIMIT {int(limit)}", args)

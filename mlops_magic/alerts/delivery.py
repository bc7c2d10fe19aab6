"""Delivering alerts: events become queued deliveries, due deliveries are sent, off the run's path.

:func:`deliver` is one synchronous pass: each rule reads the events after its cursor, queues one delivery
per matching event (or records it ``suppressed``: a duplicate within the rule's dedup window, or over its
rate limit per hour), then due deliveries are claimed and sent. A failed send is retried with exponential
backoff (30 s, 1, 2, 4 min) and then recorded ``failed``; every error is redacted before it is kept or
logged. Nothing here raises into its caller: a run, a tick or a command never fails because of an alert.

Who delivers: the process that wrote an event, in a daemon thread (:mod:`.courier`); the runner after
each run; the scheduler after each tick and each pass of its loop, which also retries what earlier
processes left pending; and ``mlops alert deliver``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ..entities import DeliveryStatus
from ..store import Store
from ..store import alerts as tables
from ..store import events as events_table
from . import settings as alert_settings
from .channels import SENDERS
from .messages import build, notebook_of
from .rules import Rule, dedup_key, matches

log = logging.getLogger("mlops_magic.alerts")

LEASE = 120.0  # a claimed delivery is someone's to send for this long
BACKOFF = 30.0  # first retry after 30 s, then doubling
MAX_ATTEMPTS = 5
#: The cursor of a rule moves only past events at least this old: with PostgreSQL an event's id is
#: taken before its transaction commits, so a lower id may appear after a higher one (the unique
#: (rule, event) key makes looking at an event twice harmless).
SETTLE = 60.0


@dataclass
class Delivered:
    queued: int = 0
    suppressed: int = 0
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later or given up)

    def line(self) -> str:
        return (f"{self.sent} sent, {self.failed} failed attempts, {self.queued} queued, "
                f"{self.suppressed} suppressed")


def deliver(store: Store, *, now: float | None = None, budget: float = 30.0) -> Delivered:
    """Queue what new events call for, then send what is due, for at most ``budget`` seconds."""
    done = Delivered()
    try:
        rules = [Rule.from_row(r) for r in tables.rules(store.db)]
        if not rules:
            return done
        settings = alert_settings.load(store)
        notebooks: dict[int, str | None] = {}
        for rule in rules:
            _queue(store, rule, done, now, notebooks)
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            if not _send_due(store, settings, {r.id: r for r in rules}, done):
                break
    except Exception as exc:  # the store went away mid-pass: the next pass picks up where this one stopped
        log.warning("mlops alerts: delivery pass stopped: %s", _one_line(exc))
    return done


def _queue(store: Store, rule: Rule, done: Delivered, now: float | None, notebooks: dict[int, str | None]) -> None:
    events = events_table.after(store.db, rule.cursor, kinds=rule.event_kinds, limit=500)
    if not events:
        return
    now = time.time() if now is None else now
    for e in events:
        if e["id"] not in notebooks:
            notebooks[e["id"]] = notebook_of(store, e)
    wanted = [e for e in events if matches(rule, e, notebooks[e["id"]])]
    settled = rule.cursor
    for e in events:
        if e["created"].timestamp() > now - SETTLE:
            break
        settled = e["id"]

    def write(tx: Any) -> tuple[int, int]:
        have = tables.queued(tx, rule.id, [e["id"] for e in wanted])
        window = max(rule.dedup_window, 3600.0)
        recent = tables.counted_since(tx, rule.id, now - window)
        keys = {key for _, key, created in recent if created >= now - rule.dedup_window}
        last_hour = sum(1 for _, _, created in recent if created >= now - 3600.0)
        queued = suppressed = 0
        for e in wanted:
            if e["id"] in have:
                continue
            key = dedup_key(e, notebooks[e["id"]])
            if key in keys:
                status, reason = DeliveryStatus.SUPPRESSED, "duplicate of an alert sent within the dedup window"
            elif last_hour >= rule.rate_limit:
                status, reason = DeliveryStatus.SUPPRESSED, f"over the rate limit of {rule.rate_limit} per hour"
            else:
                status, reason = DeliveryStatus.PENDING, None
                keys.add(key)
                last_hour += 1
            tables.enqueue(tx, rule.id, e["id"], key, status=status, reason=reason, now=now)
            queued += status == DeliveryStatus.PENDING
            suppressed += status == DeliveryStatus.SUPPRESSED
        tables.advance_cursor(tx, rule.id, settled)
        return queued, suppressed

    queued, suppressed = store.db.run_in_transaction(write)
    done.queued += queued
    done.suppressed += suppressed


def _send_due(store: Store, settings: alert_settings.AlertSettings, rules: dict[int, Rule],
              done: Delivered) -> bool:
    """Claim and send one batch of due deliveries; False when nothing was due."""
    now = time.time()
    rows = store.db.run_in_transaction(lambda tx: tables.claim_due(tx, now, now + LEASE, limit=20))
    if not rows:
        return False
    events = events_table.by_ids(store.db, [int(r["event_id"]) for r in rows if r["event_id"] is not None])
    for row in rows:
        delivery_id = int(row["id"])
        rule, event = rules.get(int(row["rule_id"])), events.get(int(row["event_id"] or 0))
        if rule is None or event is None:  # removed meanwhile: nothing to say any more
            _record(store, delivery_id, "its rule or event is gone", None)
            continue
        error = send_one(store, settings, rule, event, delivery_id)
        attempts = int(row["attempts"]) + 1
        if error is None:
            _record(store, delivery_id, None, None)
            done.sent += 1
            continue
        done.failed += 1
        retry = now + BACKOFF * 2 ** (attempts - 1) if attempts < MAX_ATTEMPTS else None
        _record(store, delivery_id, error, retry)
        log.warning("mlops alerts: rule %s could not send to %s:%s (attempt %s%s): %s", rule.id, rule.channel,
                    rule.shown, attempts, ", retrying" if retry else ", giving up", error)
    return True


def _record(store: Store, delivery_id: int, error: str | None, retry: float | None) -> None:
    """A delivery's outcome: sent (no error), or a failed attempt retried at ``retry`` (None: given up)."""
    def write(tx: Any) -> None:
        if error is None:
            tables.mark_sent(tx, delivery_id, time.time())
        else:
            tables.mark_failed_attempt(tx, delivery_id, error, next_attempt=retry)

    store.db.run_in_transaction(write)


def send_one(store: Store, settings: alert_settings.AlertSettings, rule: Rule, event: dict[str, Any],
             delivery_id: int | None) -> str | None:
    """Send one event's alert through the rule's channel; the redacted error, or None when it went out."""
    address = ""
    try:
        alert = build(store, event, base_url=settings.base_url)
        if delivery_id is not None:
            alert = _with_note(store, rule, alert, delivery_id)
        address = settings.resolve(rule.target)
        SENDERS[rule.channel](alert, address, settings, delivery_id)
        return None
    except Exception as exc:
        return settings.redact(_one_line(exc), address)[:500]


def _with_note(store: Store, rule: Rule, alert: Any, delivery_id: int) -> Any:
    from dataclasses import replace

    since = tables.last_sent(store.db, rule.id, delivery_id) or 0.0
    count = tables.suppressed_since(store.db, rule.id, since)
    if not count:
        return alert
    return replace(alert, note=f"{count} similar or rate-limited alert{'s' if count > 1 else ''} of this rule "
                               "were suppressed since the last one sent")


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:400]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

"""Managing alert rules: what ``mlops alert add | list | test | remove`` do, for every face.

A rule starts at the newest event (it alerts about what happens from now on). ``--to`` takes
``slack:URL``, ``email:ADDRESS`` or ``webhook:URL``; a URL given literally is kept in the project's
``.mlops/config.json`` (owner-only) and the store keeps only its reference, and ``slack:env:NAME``
(or ``slack:$NAME`` quoted) reads it from the environment of the process that delivers.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ..entities import DeliveryStatus
from ..errors import ExecutionError, InvalidInputError, NotFoundError
from ..store import Store
from ..store import alerts as tables
from ..store import events as events_table
from ..store.processes import who
from . import settings as alert_settings
from .delivery import send_one
from .messages import sample_event
from .rules import (
    CHANNELS,
    DEFAULT_DEDUP_WINDOW,
    DEFAULT_RATE_LIMIT,
    EVENT_OF_KIND,
    Rule,
    check_scope,
    check_severity,
    parse_kinds,
)

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def parse_target(store: Store, text: str) -> tuple[str, str, str, bool]:
    """``--to`` → (channel, target, shown, kept): ``kept`` when a secret URL went to the project config."""
    channel, sep, rest = (text or "").strip().partition(":")
    rest = rest.strip()
    if not sep or channel not in CHANNELS or not rest:
        raise InvalidInputError("--to takes slack:URL, email:ADDRESS or webhook:URL (a URL may be env:NAME)")
    if channel == "email":
        if not _EMAIL.match(rest):
            raise InvalidInputError(f"{rest!r} is not an email address; use --to email:name@example.com")
        return channel, rest, rest, False
    name = alert_settings.env_reference(rest)
    if name:
        return channel, f"env:{name}", f"${name}", False
    if not rest.startswith(("http://", "https://")):
        raise InvalidInputError(f"a {channel} target is an http(s) URL or env:NAME (the variable holding it)")
    return channel, alert_settings.keep_secret(store, channel, rest), alert_settings.shown(rest), True


def add_rule(store: Store, on: str | list[str], to: str, *, notebook: str | None = None, model: str | None = None,
             severity: str = "info", dedup_window: float = DEFAULT_DEDUP_WINDOW,
             rate_limit: int = DEFAULT_RATE_LIMIT) -> Rule:
    """Create a rule; it alerts about events from now on."""
    kinds = parse_kinds(on)
    check_severity(severity)
    check_scope(kinds, notebook, model)
    if dedup_window < 0 or rate_limit < 1:
        raise InvalidInputError("--dedup-window is seconds (0 or more) and --rate-limit at least 1 per hour")
    channel, target, shown, kept = parse_target(store, to)
    values = {"kinds": ",".join(kinds), "channel": channel, "target": target, "shown": shown,
              "notebook": notebook or None, "model": model or None, "severity": severity,
              "dedup_window": float(dedup_window), "rate_limit": int(rate_limit),
              "cursor": events_table.last_id(store.db), "created": time.time(), "created_by": who()}
    try:
        rule_id = store.db.run_in_transaction(lambda tx: tables.insert_rule(tx, values))
    except BaseException:
        if kept:
            alert_settings.forget_secret(store, target)
        raise
    return get_rule(store, rule_id)


def get_rule(store: Store, rule_id: int | str) -> Rule:
    number = _rule_number(rule_id)
    row = tables.rule(store.db, number)
    if row is None:
        raise NotFoundError(f"no alert rule {number}; see `mlops alert list`")
    return Rule.from_row(row)


def list_rules(store: Store) -> list[dict[str, Any]]:
    """Every rule with what happened to its deliveries (counts by status, last sent, newest error)."""
    stats = tables.stats(store.db)
    out = []
    for row in tables.rules(store.db):
        rule = Rule.from_row(row)
        info = stats.get(rule.id, {"counts": {}, "last_sent": None, "last_error": None})
        out.append({"id": rule.id, "on": list(rule.kinds), "channel": rule.channel, "to": rule.shown,
                    "notebook": rule.notebook, "model": rule.model, "severity": rule.severity,
                    "dedup_window": rule.dedup_window, "rate_limit": rule.rate_limit, "created_by": row["created_by"],
                    "deliveries": info["counts"], "last_sent": info["last_sent"], "last_error": info["last_error"]})
    return out


def remove_rule(store: Store, rule_id: int | str) -> Rule:
    rule = get_rule(store, rule_id)
    store.db.run_in_transaction(lambda tx: tables.delete_rule(tx, rule.id))
    alert_settings.forget_secret(store, rule.target)
    return rule


def test_rule(store: Store, rule_id: int | str) -> str:
    """Send a sample alert (of the rule's first kind) now; the line to print, or ExecutionError saying why not.

    The attempt is recorded with the rule's deliveries, so ``mlops alert list`` shows a failed test too.
    """
    rule = get_rule(store, rule_id)
    settings = alert_settings.load(store)
    event = sample_event(EVENT_OF_KIND[rule.kinds[0]])
    error = send_one(store, settings, rule, event, None)
    now = time.time()

    def record(tx: Any) -> None:
        delivery = tables.enqueue(tx, rule.id, None, "test", status=DeliveryStatus.SENDING, reason=None, now=now)
        if error is None:
            tables.mark_sent(tx, delivery, now)
        else:
            tables.mark_failed_attempt(tx, delivery, f"test: {error}", next_attempt=None)

    store.db.run_in_transaction(record)
    if error is not None:
        raise ExecutionError(f"alert rule {rule.id} could not send to {rule.channel}:{rule.shown}: {error}")
    return f"sent a test {rule.kinds[0]} alert to {rule.channel}:{rule.shown}"


def _rule_number(rule_id: int | str) -> int:
    text = str(rule_id).strip()
    if not text.isdigit():
        raise InvalidInputError(f"an alert rule id is a number (see `mlops alert list`), got {text!r}")
    return int(text)

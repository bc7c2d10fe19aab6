"""When a headless run does not succeed: a ``run-failed`` event for alert rules, and the run's own notifiers.

:func:`notify_all` first asks for delivery of the ``run-failed`` event the store wrote in the
transaction that ended the run (``mlops alert add --on failed`` rules follow it; docs/operations.md),
then calls the notifiers the run or its schedule names with ``--notify`` (kept as they were:
docs/headless.md). A notifier is anything with ``notify(message: dict) -> None``. The default writes one
log line; ``webhook:URL`` (or a bare ``http(s)://`` URL) posts the message as JSON. A notifier that
fails is logged and never fails the run or stops the scheduler.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any, Protocol

from ..alerts import deliver_soon
from ..alerts.channels import post_json
from ..entities import RunStatus
from ..errors import InvalidInputError

log = logging.getLogger("mlops_magic.runner.notify")


class Notifier(Protocol):
    def notify(self, message: dict[str, Any]) -> None: ...


class LogNotifier:
    """One line per run that did not succeed, on the ``mlops_magic.runner.notify`` logger (stderr by default)."""

    def notify(self, message: dict[str, Any]) -> None:
        line = (f"mlops: run {message['run_id'][:8]} of {message['notebook']} {message['status']}"
                f"{': ' + message['error'] if message.get('error') else ''}")
        if log.hasHandlers():
            log.warning(line)
        else:
            import sys

            print(line, file=sys.stderr)


class WebhookNotifier:
    """POST the message as JSON to ``url`` (Slack-compatible ``text`` field included)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidInputError(f"a webhook URL must start with http:// or https://, got {url!r}")
        self.url = url
        self.timeout = timeout

    def notify(self, message: dict[str, Any]) -> None:
        body = dict(message)
        body.setdefault("text", f"mlops run {message['run_id'][:8]} of {message['notebook']} {message['status']}"
                                f"{': ' + message['error'] if message.get('error') else ''}")
        post_json(self.url, body, timeout=self.timeout)


def make_notifier(spec: str) -> Notifier:
    """``log``, ``webhook:URL`` or a plain ``http(s)://`` URL."""
    spec = spec.strip()
    if spec in ("", "log"):
        return LogNotifier()
    if spec.startswith("webhook:"):
        return WebhookNotifier(spec[len("webhook:"):])
    if spec.startswith(("http://", "https://")):
        return WebhookNotifier(spec)
    raise InvalidInputError(f"unknown notifier {spec!r}; use 'log', 'webhook:URL' or an http(s) URL")


def notifiers(specs: Iterable[str]) -> list[Notifier]:
    specs = [s for s in specs if s] or [s for s in os.environ.get("MLOPS_NOTIFY", "").split(",") if s.strip()]
    return [make_notifier(s) for s in specs] or [LogNotifier()]


def message_for(result: Any, store: Any = None) -> dict[str, Any]:
    return {"event": "run-finished", "run_id": result.run_id, "notebook": result.notebook,
            "status": result.status, "error": result.error, "attempts": result.attempts,
            "store": getattr(store, "display_url", None)}


def announce(result: Any, store: Any) -> None:
    """Deliver soon the ``run-failed`` event the store wrote when the run ended (``store/runs.py``)."""
    if store is None or result.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
        return
    try:
        deliver_soon(store)
    except Exception as exc:  # an alert must never fail the run or stop the scheduler
        log.warning("mlops: could not deliver the alerts of %s: %s", result.run_id[:8], exc)


def notify_all(specs: Iterable[str], result: Any, store: Any = None) -> None:
    announce(result, store)
    message = message_for(result, store)
    try:
        targets = notifiers(specs)
    except InvalidInputError as exc:
        log.warning("mlops: notifier not usable: %s", exc)
        targets = [LogNotifier()]
    for notifier in targets:
        try:
            notifier.notify(message)
        except Exception as exc:  # a notifier must never fail the run or stop the scheduler
            log.warning("mlops: notifier %s failed: %s", type(notifier).__name__, exc)

"""Notifications when a headless run does not succeed: a seam with two notifiers.

A notifier is anything with ``notify(message: dict) -> None``. The default
writes one log line; ``webhook:URL`` (or a bare ``http(s)://`` URL) posts the
message as JSON. A notifier that fails is logged and never fails the run or
stops the scheduler.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterable
from typing import Any, Protocol

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
        request = urllib.request.Request(self.url, data=json.dumps(body, default=str).encode("utf-8"),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()


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
            "store": getattr(store, "url", None)}


def notify_all(specs: Iterable[str], result: Any, store: Any = None) -> None:
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

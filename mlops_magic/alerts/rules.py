"""Alert rules: which events (by kind, notebook, model and severity) go to which channel.

An alert kind names what people care about; each is one kind of event in the store's log:

=================  ==================  =========================================================
alert kind         event               severity
=================  ==================  =========================================================
failed             run-failed          error (a headless run failed, was killed or timed out)
gate-failed        gate-failed         error (warning for a soft gate)
drift              drift               warning
performance-drop   performance-drop    error
promoted           alias-moved         info (warning for a rollback)
=================  ==================  =========================================================

A rule matches an event of one of its kinds at or above its severity; ``--notebook`` and ``--model``
narrow it to events about that notebook (the run's) or that model. Nothing here reads the store.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError

#: The kinds a user names (``--on failed,...``) and the events they follow.
EVENT_OF_KIND = {"failed": "run-failed", "gate-failed": "gate-failed", "drift": "drift",  # not a run status
                 "performance-drop": "performance-drop", "promoted": "alias-moved"}
KIND_OF_EVENT = {v: k for k, v in EVENT_OF_KIND.items()}
ALERT_KINDS = tuple(EVENT_OF_KIND)
SEVERITIES = ("info", "warning", "error")
CHANNELS = ("slack", "email", "webhook")
#: Kinds whose events are about a model (``--model`` narrows them); the others are about a run's notebook.
MODEL_KINDS = ("drift", "performance-drop", "promoted")
DEFAULT_DEDUP_WINDOW = 3600.0
DEFAULT_RATE_LIMIT = 10  # messages per rule per hour


@dataclass(frozen=True)
class Rule:
    """One rule as stored (``target`` is an address or a secret's reference, ``shown`` what to print)."""

    id: int
    kinds: tuple[str, ...]
    channel: str
    target: str
    shown: str
    notebook: str | None = None
    model: str | None = None
    severity: str = "info"
    dedup_window: float = DEFAULT_DEDUP_WINDOW
    rate_limit: int = DEFAULT_RATE_LIMIT
    cursor: int = 0

    @classmethod
    def from_row(cls, row: Any) -> Rule:
        return cls(id=int(row["id"]), kinds=tuple(str(row["kinds"]).split(",")), channel=row["channel"],
                   target=row["target"], shown=row["shown"], notebook=row["notebook"], model=row["model"],
                   severity=row["severity"], dedup_window=float(row["dedup_window"]),
                   rate_limit=int(row["rate_limit"]), cursor=int(row["cursor"]))

    @property
    def event_kinds(self) -> tuple[str, ...]:
        return tuple(EVENT_OF_KIND[k] for k in self.kinds)

    def describe(self) -> str:
        scope = "".join(f" {label} {value}" for label, value in (("notebook", self.notebook), ("model", self.model))
                        if value)
        floor = f" at {self.severity} or above" if self.severity != "info" else ""
        return f"on {','.join(self.kinds)}{scope}{floor} → {self.channel}:{self.shown}"


def parse_kinds(text: str | Sequence[str]) -> tuple[str, ...]:
    """``failed,drift`` (or a list) → the alert kinds, in the table's order; one clear error otherwise."""
    items = [p.strip() for part in ([text] if isinstance(text, str) else text) for p in str(part).split(",")]
    items = [p for p in items if p]
    if not items:
        raise InvalidInputError(f"--on needs at least one of {', '.join(ALERT_KINDS)}")
    unknown = [p for p in items if p not in EVENT_OF_KIND]
    if unknown:
        raise InvalidInputError(f"unknown alert kind {unknown[0]!r}; use one or more of {', '.join(ALERT_KINDS)} "
                                "(comma-separated)")
    return tuple(k for k in ALERT_KINDS if k in items)


def check_severity(text: str) -> str:
    if text not in SEVERITIES:
        raise InvalidInputError(f"unknown severity {text!r}; use one of {', '.join(SEVERITIES)}")
    return text


def check_scope(kinds: tuple[str, ...], notebook: str | None, model: str | None) -> None:
    """Refuse a rule that could never match: ``--model`` on kinds that carry no model."""
    if model and not any(k in MODEL_KINDS for k in kinds):
        raise InvalidInputError(f"--model narrows {', '.join(MODEL_KINDS)} alerts; {', '.join(kinds)} events are "
                                "about a run: narrow them with --notebook")


def severity_of(event: dict[str, Any]) -> str:
    kind, payload = event["kind"], event.get("payload") or {}
    if kind == "gate-failed":
        return "warning" if payload.get("soft") else "error"
    if kind == "alias-moved":
        return "warning" if payload.get("action") == "rollback" else "info"
    return "warning" if kind == "drift" else "error"


def model_of(event: dict[str, Any]) -> str | None:
    payload = event.get("payload") or {}
    if event["kind"] in ("drift", "performance-drop"):
        return payload.get("model") or (event.get("subject") if event["kind"] == "performance-drop" else None)
    return event.get("subject") if event["kind"] == "alias-moved" else None


def notebook_matches(pattern: str, notebook: str | None) -> bool:
    """``churn.ipynb`` matches ``churn.ipynb``, ``nb/churn.ipynb`` and ``/abs/nb/churn.ipynb``; globs work."""
    if not notebook:
        return False
    pattern = pattern.strip().removeprefix("./")
    return (notebook == pattern or notebook.endswith("/" + pattern) or fnmatch.fnmatchcase(notebook, pattern)
            or fnmatch.fnmatchcase(notebook.rsplit("/", 1)[-1], pattern))


def matches(rule: Rule, event: dict[str, Any], notebook: str | None) -> bool:
    """Whether ``rule`` sends ``event`` (``notebook``: the notebook of the event's run, when it has one)."""
    kind = KIND_OF_EVENT.get(event["kind"])
    if kind not in rule.kinds:
        return False
    if SEVERITIES.index(severity_of(event)) < SEVERITIES.index(rule.severity):
        return False
    if rule.model and model_of(event) != rule.model:
        return False
    return not rule.notebook or notebook_matches(rule.notebook, notebook)


def dedup_key(event: dict[str, Any], notebook: str | None) -> str:
    """What makes two events "the same alert": a schedule failing the same way every hour is one."""
    kind, payload = event["kind"], event.get("payload") or {}
    if kind == "run-failed":
        error = re.sub(r"[0-9a-f]{8,}|\d+", "#", str(payload.get("error") or ""))[:300]
        return f"failed|{notebook}|{payload.get('status')}|{error}"
    if kind == "gate-failed":
        return f"gate|{notebook}|{payload.get('expression')}"
    if kind == "drift":
        return f"drift|{model_of(event)}|{','.join(sorted(payload.get('columns') or []))}"
    if kind == "performance-drop":
        return f"performance|{model_of(event)}|{payload.get('version')}|{payload.get('metric')}"
    return f"alias|{event.get('subject')}|{payload.get('alias')}|{payload.get('action')}|{payload.get('from')}" \
           f"|{payload.get('to')}"

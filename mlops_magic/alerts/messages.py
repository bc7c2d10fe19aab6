"""What an alert says: what happened, to what, why, and where to look, built from one event.

The event's payload says most of it; the store adds what the event only points at (the failing stage
and line of a run, the run's notebook). Channels render the same :class:`Alert`: Slack blocks, an
email's text and HTML parts, a webhook's JSON, so no channel can say something the others do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from ..display.html import fmt_number
from ..entities import RunStatus, StageStatus
from ..store import Store
from .rules import KIND_OF_EVENT, model_of, severity_of

SCHEMA = "mlops-magic/alert/v1"


@dataclass(frozen=True)
class Alert:
    kind: str  # the alert kind (failed, drift, …)
    severity: str
    title: str  # one line: what happened to what
    why: list[str]  # the reasons, one per line
    facts: list[tuple[str, str]]  # label, value (run, notebook, model, version, …)
    links: list[tuple[str, str]] = field(default_factory=list)  # label, URL
    event: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    notebook: str | None = None
    model: str | None = None
    note: str | None = None  # e.g. how many similar alerts were suppressed before this one

    @property
    def text(self) -> str:
        """The plain-text body (email text part, Slack fallback, webhook ``text``)."""
        lines = [f"[{self.severity}] {self.title}", *self.why, ""]
        lines += [f"{label}: {value}" for label, value in self.facts]
        lines += [f"{label}: {url}" for label, url in self.links]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines).strip()

    def to_dict(self) -> dict[str, Any]:
        """The webhook body (schema ``mlops-magic/alert/v1``, documented in docs/operations.md)."""
        event = self.event
        created = event.get("created")
        return {
            "schema": SCHEMA, "kind": self.kind, "severity": self.severity, "title": self.title,
            "why": list(self.why), "text": self.text, "run_id": self.run_id, "notebook": self.notebook,
            "model": self.model, "facts": dict(self.facts), "links": dict(self.links), "note": self.note,
            "event": {"id": event.get("id"), "kind": event.get("kind"), "subject": event.get("subject"),
                      "created": created.isoformat() if isinstance(created, datetime) else created,
                      "payload": event.get("payload") or {}},
        }


def build(store: Store, event: dict[str, Any], *, base_url: str | None = None) -> Alert:
    """The alert for one event (a run it names that is gone only loses the run's details)."""
    run = _run(store, event.get("run_id"))
    notebook = (run.notebook if run is not None else None) or (event.get("payload") or {}).get("notebook")
    kind = KIND_OF_EVENT.get(event["kind"], event["kind"])
    title, why, facts = _DESCRIBE.get(event["kind"], _other)(store, event, run)
    if event.get("test"):
        title = f"[test] {title}"
    if run is not None:
        facts = [*facts, ("run", f"{run.id[:8]} ({run.trigger}, {run.status})")]
    if notebook:
        facts = [*facts, ("notebook", notebook)]
    return Alert(kind=kind, severity=severity_of(event), title=title, why=why, facts=facts,
                 links=_links(base_url, event, run.id if run is not None else None), event=event,
                 run_id=run.id if run is not None else event.get("run_id"), notebook=notebook, model=model_of(event))


def notebook_of(store: Store, event: dict[str, Any]) -> str | None:
    """The notebook an event is about: its run's (a rule's ``--notebook`` compares with this)."""
    run = _run(store, event.get("run_id"))
    return (run.notebook if run is not None else None) or (event.get("payload") or {}).get("notebook")


def sample_event(kind: str) -> dict[str, Any]:
    """The event ``mlops alert test`` sends for a rule's first kind: plainly marked as a test."""
    payloads = {
        "run-failed": {"status": RunStatus.FAILED, "notebook": "example.ipynb",
                       "error": "stage train (cell 4) failed: ValueError: this is a test alert"},
        "gate-failed": {"expression": "auc >= 0.9", "soft": False,
                        "failed": [{"clause": "auc >= 0.9", "value": 0.87, "passed": False}]},  # not a run status
        "drift": {"model": "example", "version": 1, "drift_share": 0.5, "columns": ["price", "region"]},
        "performance-drop": {"model": "example", "version": 1, "metric": "auc", "value": 0.71, "bar": 0.8,
                             "source": "estimated"},
        "alias-moved": {"alias": "production", "from": 1, "to": 2, "action": "promote", "by": "mlops alert test"},
    }
    subject = "example" if kind in ("drift", "performance-drop", "alias-moved") else None
    return {"id": None, "kind": kind, "subject": subject, "run_id": None, "payload": payloads[kind],
            "created": datetime.now(timezone.utc), "test": True}


# -- one describer per event kind: (title, why, facts) --------------------------------------------------
Described = tuple[str, list[str], list[tuple[str, str]]]


def _run_failed(store: Store, event: dict[str, Any], run: Any) -> Described:
    payload = event.get("payload") or {}
    status = payload.get("status") or (run.status if run is not None else RunStatus.FAILED)
    notebook = (run.notebook if run is not None else None) or payload.get("notebook") or "a notebook"
    verb = {RunStatus.KILLED: "was killed", RunStatus.TIMED_OUT: "timed out"}.get(status, "failed")  # not a run status
    why = []
    stage = _failed_stage(store, run.id) if run is not None else None
    if stage is not None:
        line = f" at line {stage.error_line}" if stage.error_line else ""
        attempt = f" (attempt {stage.attempt})" if stage.attempt > 1 else ""
        why.append(f"stage {stage.name}{attempt} failed{line}: {stage.error_type}: "
                   f"{(stage.error_message or '').strip().splitlines()[0][:300] if stage.error_message else ''}")
    error = payload.get("error") or (run.error if run is not None else None)
    if error and not why:
        why.append(str(error).splitlines()[0][:500])
    facts = [("attempts", str(payload["attempts"]))] if (payload.get("attempts") or 1) > 1 else []
    return f"Run of {notebook} {verb}", why, facts


def _gate_failed(store: Store, event: dict[str, Any], run: Any) -> Described:
    payload = event.get("payload") or {}
    where = f" in {run.notebook}" if run is not None and run.notebook else ""
    soft = "Soft gate" if payload.get("soft") else "Gate"
    failed = payload.get("failed") or []  # not a run status: the clauses that failed
    why = [f"{c.get('clause')}: got {fmt_number(c.get('value'), 6)}" for c in failed]
    return f"{soft} {payload.get('expression')} failed{where}", why or [str(payload.get("expression"))], []


def _drift(store: Store, event: dict[str, Any], run: Any) -> Described:
    payload = event.get("payload") or {}
    columns = list(payload.get("columns") or [])
    what = model_of(event) or event.get("subject") or "the data"
    version = f" v{payload['version']}" if payload.get("version") else ""
    share = payload.get("drift_share")
    why = [f"drifted columns: {', '.join(columns) or 'none named'}"]
    if isinstance(share, (int, float)) and not math.isnan(share):
        why.append(f"{share:.0%} of the columns drifted")
    return f"Drift in the inputs of {what}{version}", why, []


def _performance_drop(store: Store, event: dict[str, Any], run: Any) -> Described:
    payload = event.get("payload") or {}
    metric, source = payload.get("metric") or "the metric", payload.get("source") or "measured"
    version = f" v{payload['version']}" if payload.get("version") else ""
    value, bar = fmt_number(payload.get("value"), 4), fmt_number(payload.get("bar"), 4)
    why = [f"{source} {metric} {value} is below the bar {bar}"]
    return f"Performance of {model_of(event)}{version} dropped", why, []


def _alias_moved(store: Store, event: dict[str, Any], run: Any) -> Described:
    payload = event.get("payload") or {}
    name, alias, action = event.get("subject"), payload.get("alias"), payload.get("action") or "promote"
    origin = f"v{payload['from']}" if payload.get("from") else "nothing"
    verb = "rolled back" if action == "rollback" else "promoted"
    why = [f"{name}@{alias}: {origin} → v{payload.get('to')} by {payload.get('by') or 'someone unknown'}"]
    comparison = payload.get("comparison") or {}
    if comparison:
        why.append(f"{comparison.get('metric')} {fmt_number(comparison.get('challenger_value'), 6)} against the "
                   f"champion v{comparison.get('champion')}'s {fmt_number(comparison.get('champion_value'), 6)}")
    if payload.get("reason"):
        why.append(f"reason: {payload['reason']}")
    return f"{name} v{payload.get('to')} {verb} to {alias}", why, []


def _other(store: Store, event: dict[str, Any], run: Any) -> Described:
    return f"{event['kind']} {event.get('subject') or ''}".strip(), [], []


_DESCRIBE = {"run-failed": _run_failed, "gate-failed": _gate_failed, "drift": _drift,
             "performance-drop": _performance_drop, "alias-moved": _alias_moved}


def _run(store: Store, run_id: str | None) -> Any:
    if not run_id:
        return None
    try:
        return store.get_run(run_id)
    except Exception:  # a run deleted since (or another store's id): the alert goes out without it
        return None


def _failed_stage(store: Store, run_id: str) -> Any:
    failed = [s for s in store.list_stages(run_id) if s.status == StageStatus.FAILED and s.error_type]
    return failed[-1] if failed else None


def _links(base_url: str | None, event: dict[str, Any], run_id: str | None) -> list[tuple[str, str]]:
    if not base_url:
        return []
    api = f"{base_url}/mlops/api/v1"
    links = []
    if run_id:
        links += [("report", f"{api}/runs/{quote(run_id)}/report"), ("run", f"{api}/runs/{quote(run_id)}")]
    model = model_of(event)
    if model:
        links.append(("model", f"{api}/models/{quote(model)}"))
    return links

"""Schedules kept in the store: add (validated), list, get, pause, resume, remove.

A schedule is a notebook, its parameters and stages, and its triggers: cron
(timezone-aware), data change on globs (fingerprints, not mtimes), after
another notebook succeeds, and drift events. Everything is checked when the
schedule is added, so a bad cron string or an empty glob is one clear line
then, not a silent failure at 2 a.m.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..runner.executor_url import check_executor_url, parse_resources
from ..runner.notify import make_notifier
from ..runner.prepare import recorded_path, select_cells
from ..store import Store, events
from ..store import scheduling as tables
from ..tracking.fingerprint import fingerprint_path
from ..tracking.stages import read_notebook_json
from ..tracking.values import check_param_names

CATCHUP = ("skip", "all")


@dataclass(frozen=True)
class Schedule:
    id: str
    notebook: str  # relative to base_dir when inside it
    base_dir: str  # absolute: where relative notebook paths and globs are resolved
    params: dict[str, Any] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    from_stage: str | None = None
    cron: str | None = None
    timezone: str | None = None
    on_change: tuple[str, ...] = ()
    after: str | None = None
    on_drift: str | None = None
    on_performance_drop: str | None = None
    timeout: float | None = None
    retries: int = 0
    catchup: str = "skip"
    max_concurrency: int = 1
    paused: bool = False
    notify: tuple[str, ...] = ()
    kernel: str | None = None
    created: float = 0.0
    cron_cursor: float | None = None
    event_cursor: int = 0
    executor: str | None = None  # None: the scheduler's executor
    resources: dict[str, float] = field(default_factory=dict)
    queue_timeout: float | None = None
    cron_next: float | None = None  # the first cron time after the cursor (None: not known yet)
    cache: bool = False  # run with the stage cache on every stage (`--cache`)
    user: str | None = None  # who added it
    changed_by: str | None = None  # who changed it last (added, paused, resumed, moved)

    @property
    def notebook_path(self) -> Path:
        return Path(self.base_dir) / self.notebook

    def triggers(self) -> str:
        parts = []
        if self.cron:
            parts.append(f"cron {self.cron}" + (f" ({self.timezone})" if self.timezone else ""))
        if self.on_change:
            parts.append("on-change " + ",".join(self.on_change))
        if self.after:
            parts.append(f"after {self.after}")
        if self.on_drift:
            parts.append(f"drift {self.on_drift}")
        if self.on_performance_drop:
            parts.append(f"performance drop {self.on_performance_drop}")
        return "; ".join(parts)

    def next_due(self, now: datetime | None = None) -> datetime | None:
        if not self.cron:
            return None
        from croniter import croniter

        tz = zone(self.timezone)
        base = (now or datetime.now(timezone.utc)).astimezone(tz)
        return croniter(self.cron, base).get_next(datetime)


def zone(name: str | None) -> Any:
    if not name or name.upper() == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown timezone {name!r}; use an IANA name such as Europe/Paris or UTC") from None


def check_cron(expr: str) -> str:
    from croniter import croniter

    expr = " ".join(expr.split())
    if not croniter.is_valid(expr):
        raise InvalidInputError(f"bad cron expression {expr!r}; use five fields: minute hour day month weekday, "
                                "e.g. '0 2 * * *'")
    return expr


def _row_to_schedule(r: Any) -> Schedule:
    def items(text: str | None) -> tuple[str, ...]:
        return tuple(json.loads(text)) if text else ()

    return Schedule(
        id=r["id"], notebook=r["notebook"], base_dir=r["base_dir"], params=json.loads(r["params"] or "{}"),
        stages=items(r["stages"]), from_stage=r["from_stage"], cron=r["cron"], timezone=r["timezone"],
        on_change=items(r["on_change"]), after=r["after"], on_drift=r["on_drift"],
        on_performance_drop=r["on_performance_drop"], timeout=r["timeout"],
        retries=r["retries"], catchup=r["catchup"], max_concurrency=r["max_concurrency"],
        paused=bool(r["paused"]), notify=items(r["notify"]), kernel=r["kernel"], created=r["created"],
        cron_cursor=r["cron_cursor"], event_cursor=r["event_cursor"] or 0,
        executor=r["executor"], resources=json.loads(r["resources"]) if r["resources"] else {},
        queue_timeout=r["queue_timeout"], cron_next=r["cron_next"], cache=bool(r["cache"]),
        user=r["username"], changed_by=r["changed_by"],
    )


def add_schedule(store: Store, notebook: str, *, params: dict[str, Any] | None = None,
                 stages: tuple[str, ...] = (), from_stage: str | None = None, cron: str | None = None,
                 tz: str | None = None, on_change: tuple[str, ...] = (), after: str | None = None,
                 on_drift: str | None = None, on_performance_drop: str | None = None,
                 timeout: float | None = None, retries: int = 0,
                 catchup: str = "skip", max_concurrency: int = 1, notify: tuple[str, ...] = (),
                 kernel: str | None = None, base_dir: str | None = None, now: float | None = None,
                 executor: str | None = None, resources: dict[str, float] | None = None,
                 queue_timeout: float | None = None, cache: bool = False) -> Schedule:
    """Validate and store a schedule; nothing is written when any part is wrong."""

    base = Path(base_dir or store.project_dir or os.getcwd()).resolve()
    check_param_names(params or {})  # refused now, not at every tick
    if not (cron or on_change or after or on_drift or on_performance_drop):
        raise InvalidInputError("a schedule needs a trigger: --cron, --on-change, --after, --on-drift or "
                                "--on-performance-drop")
    path = Path(notebook).expanduser().resolve()
    if not path.exists():
        raise InvalidInputError(f"no such notebook: {notebook}")
    nb = read_notebook_json(path)
    select_cells(nb, tuple(stages), from_stage, notebook)
    if cron:
        cron = check_cron(cron)
    zone(tz)
    if catchup not in CATCHUP:
        raise InvalidInputError(f"catch-up policy must be one of {', '.join(CATCHUP)}, not {catchup!r}")
    if max_concurrency < 1:
        raise InvalidInputError("--max-concurrency must be at least 1")
    for pattern in on_change:
        fingerprint_path(pattern, base=base)  # a glob that matches nothing is refused now
    # Runs resolve watched globs from the notebook's folder (their working directory): store them so.
    on_change = tuple(os.path.relpath(os.path.normpath(os.path.join(base, p)), path.parent) for p in on_change)
    after_rel = None
    if after:
        after_path = Path(after).expanduser().resolve()
        if not after_path.exists():
            raise InvalidInputError(f"--after: no such notebook: {after}")
        after_rel = _relative(after_path, store)

    if executor:
        executor = check_executor_url(executor)
    if resources:
        resources = parse_resources(resources)
    if queue_timeout is not None and not queue_timeout > 0:
        raise InvalidInputError("--queue-timeout must be a positive number of seconds")
    for spec in notify:
        make_notifier(spec)
    created = now if now is not None else time.time()
    schedule_id = uuid.uuid4().hex[:8]
    values = {
        "id": schedule_id, "notebook": _relative_to(path, base), "base_dir": str(base),
        "params": json.dumps(params or {}), "stages": json.dumps(list(stages)) if stages else None,
        "from_stage": from_stage, "cron": cron, "timezone": tz,
        "on_change": json.dumps(list(on_change)) if on_change else None, "after": after_rel, "on_drift": on_drift,
        "on_performance_drop": on_performance_drop,
        "timeout": timeout, "retries": retries, "catchup": catchup, "max_concurrency": max_concurrency,
        "paused": 0, "notify": json.dumps(list(notify)) if notify else None, "kernel": kernel, "created": created,
        "cron_cursor": created, "executor": executor, "resources": json.dumps(dict(resources)) if resources else None,
        "queue_timeout": queue_timeout, "cron_next": next_cron_time(cron, tz, created) if cron else None,
        "cache": 1 if cache else None,
    }

    def write(tx: Any) -> None:  # drift events from before the schedule existed never fire it
        tables.insert_schedule(tx, {**values, "event_cursor": events.last_id(tx)})

    store.db.run_in_transaction(write)
    return get_schedule(store, schedule_id)


def next_cron_time(cron: str, tz: str | None, after: float) -> float:
    """The first time ``cron`` (in ``tz``) names after the timestamp ``after``."""
    from croniter import croniter

    return float(croniter(cron, datetime.fromtimestamp(after, zone(tz))).get_next(datetime).timestamp())


def _relative_to(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _relative(path: Path, store: Store) -> str:
    return recorded_path(path, store.project_dir)


def list_schedules(store: Store) -> list[Schedule]:
    return [_row_to_schedule(r) for r in tables.schedule_rows(store.db)]


def schedules_to_examine(store: Store, now: float) -> list[Schedule]:
    """The active schedules that can have something due at ``now`` (one query; cron-only schedules whose
    next time is later are not even read)."""
    return [_row_to_schedule(r) for r in tables.schedule_rows_to_examine(store.db, now)]


def get_schedule(store: Store, ref: str) -> Schedule:
    ref = (ref or "").strip()
    rows = tables.schedules_by_prefix(store.db, ref) if ref else []
    if not rows:
        raise NotFoundError(f"no schedule {ref!r}; list them with `mlops schedule list`")
    if len(rows) > 1:
        raise InvalidInputError(f"schedule id {ref!r} is ambiguous; give more characters")
    return _row_to_schedule(rows[0])


def set_paused(store: Store, ref: str, paused: bool) -> Schedule:
    schedule = get_schedule(store, ref)
    store.db.run_in_transaction(lambda tx: tables.set_paused(tx, schedule.id, paused))
    return get_schedule(store, schedule.id)


def remove_schedule(store: Store, ref: str) -> Schedule:
    schedule = get_schedule(store, ref)

    store.db.run_in_transaction(lambda tx: tables.delete_schedule(tx, schedule.id))
    return schedule

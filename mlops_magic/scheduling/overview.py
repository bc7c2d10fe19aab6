"""Schedules as JSON-shaped dicts, and schedules made from JSON fields: what the REST API serves.

The JupyterLab panel (through ``mlops_magic.server``) reads and writes schedules
here; every check and write is the scheduler's own (:mod:`.schedules`). This module
only translates: JSON fields to ``add_schedule`` arguments, a :class:`Schedule`
to a dict with its next due time and last run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store import Store
from .schedules import Schedule, add_schedule, get_schedule, list_schedules, set_paused

#: JSON field -> (``add_schedule`` keyword, expected type, how to name it in an error).
FIELDS: dict[str, tuple[str, Any, str]] = {
    "cron": ("cron", str, "a cron string such as '0 2 * * *'"),
    "timezone": ("tz", str, "an IANA timezone name such as 'Europe/Paris'"),
    "on_change": ("on_change", "strings", "a list of globs, e.g. [\"data/*.csv\"]"),
    "stages": ("stages", "strings", "a list of stage kinds or names, e.g. [\"train\"]"),
    "params": ("params", dict, "an object of name: value"),
    "after": ("after", str, "a notebook path"),
    "on_drift": ("on_drift", str, "a model or notebook name, or '*'"),
    "on_performance_drop": ("on_performance_drop", str, "a model name, or '*'"),
    "timeout": ("timeout", "number", "a number of seconds"),
    "retries": ("retries", int, "an integer"),
    "catchup": ("catchup", str, "'skip' or 'all'"),
    "max_concurrency": ("max_concurrency", int, "an integer"),
    "executor": ("executor", str, "an executor URL: local, local:N or dask://HOST:PORT"),
    "resources": ("resources", dict, "an object of resource name: amount, e.g. {\"GPU\": 1}"),
    "queue_timeout": ("queue_timeout", "number", "a number of seconds"),
    "cache": ("cache", bool, "true or false"),
}
UPDATABLE = ("paused",)
#: Names a schedule's notebook file for a face, e.g. as a Jupyter API path (``notebook_path``).
Locate = Callable[[Path], "str | None"]


def schedule_view(store: Store, s: Schedule, now: datetime | None = None, *,
                  locate: Locate | None = None) -> dict[str, Any]:
    """One schedule with its triggers, next cron time (null when paused) and latest run;
    ``notebook_path`` is ``locate(notebook file)`` when a ``locate`` is given."""
    nxt = None if s.paused else s.next_due(now)
    last = store.list_runs(schedule_id=s.id, limit=1)
    view = {
        "id": s.id, "notebook": s.notebook, "triggers": s.triggers(), "paused": s.paused,
        "next_due": nxt.isoformat() if nxt else None,
        "cron": s.cron, "timezone": s.timezone, "on_change": list(s.on_change), "after": s.after,
        "on_drift": s.on_drift, "on_performance_drop": s.on_performance_drop, "stages": list(s.stages),
        "from_stage": s.from_stage, "params": s.params,
        "timeout": s.timeout, "retries": s.retries, "catchup": s.catchup, "max_concurrency": s.max_concurrency,
        "executor": s.executor, "resources": s.resources, "queue_timeout": s.queue_timeout, "cache": s.cache,
        "created": datetime.fromtimestamp(s.created).astimezone().isoformat(),
        "user": s.user, "changed_by": s.changed_by,
        "last_run": {"id": last[0].id, "status": last[0].status, "started": last[0].started.isoformat()}
        if last else None,
    }
    if locate is not None:
        view["notebook_path"] = locate(s.notebook_path)
    return view


def list_schedules_view(store: Store, notebook: Path | None = None, now: datetime | None = None, *,
                        locate: Locate | None = None) -> list[dict[str, Any]]:
    """Every schedule, or only those of the ``notebook`` file, oldest first."""
    target = notebook.resolve() if notebook is not None else None
    return [schedule_view(store, s, now, locate=locate) for s in list_schedules(store)
            if target is None or s.notebook_path.resolve() == target]


def schedule_kwargs(fields: dict[str, Any]) -> dict[str, Any]:
    """``add_schedule`` keyword arguments from JSON fields; a wrong type or unknown field is one line."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInputError(f"unknown schedule field {unknown[0]!r}; allowed: notebook, {', '.join(FIELDS)}")
    kwargs: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        keyword, kind, described = FIELDS[name]
        if not _is(value, kind):
            raise InvalidInputError(f'"{name}" must be {described}')
        if kind == "strings":
            value = tuple(v.strip() for v in value if v.strip())
        elif isinstance(value, str):
            value = value.strip() or None
        if value is not None:
            kwargs[keyword] = value
    return kwargs


def _is(value: Any, kind: Any) -> bool:
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def create_schedule_view(store: Store, notebook: Path, fields: dict[str, Any], *, base_dir: Path | None = None,
                         locate: Locate | None = None) -> dict[str, Any]:
    """Validate and add a schedule for ``notebook`` from JSON ``fields``; returns its view.

    ``base_dir`` is where the on-change globs are resolved (default: the notebook's
    folder, which is also the working directory its headless runs get).
    """
    s = add_schedule(store, str(notebook), base_dir=str(base_dir or notebook.parent), **schedule_kwargs(fields))
    return schedule_view(store, s, locate=locate)


def update_schedule_view(store: Store, ref: str, changes: dict[str, Any], *,
                         locate: Locate | None = None) -> dict[str, Any]:
    """Pause (``{"paused": true}``) or resume (``false``) a schedule; returns its view."""
    other = sorted(set(changes) - set(UPDATABLE))
    if other:
        raise InvalidInputError(f"schedule field {other[0]!r} cannot be changed in place; only \"paused\" can "
                                "(remove the schedule and add a new one to change its triggers)")
    s = get_schedule(store, ref)
    if "paused" in changes:
        if not isinstance(changes["paused"], bool):
            raise InvalidInputError('"paused" must be true (pause) or false (resume)')
        s = set_paused(store, s.id, changes["paused"])
    return schedule_view(store, s, locate=locate)


def get_schedule_view(store: Store, ref: str, *, locate: Locate | None = None) -> dict[str, Any]:
    return schedule_view(store, get_schedule(store, ref), locate=locate)

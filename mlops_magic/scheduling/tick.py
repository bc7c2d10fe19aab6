"""One idempotent scheduler pass: find what is due, claim it, run it.

Claiming inserts a row into ``schedule_fires``, whose ``UNIQUE (schedule_id,
fire_key)`` constraint decides which of any number of concurrent ticks
(threads, processes, machines on one store) runs a due time: the insert that
wins. The run id is chosen inside that same transaction, so a tick that
crashes right after claiming leaves a fire whose run a later tick records as
killed; no due time ever starts two runs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any

from ..entities import FireState, RunStatus, Trigger
from ..errors import MlopsError
from ..runner.execute import last_successful
from ..runner.executor_url import check_executor_url, default_executor_url, make_executor
from ..runner.executors import Executor
from ..runner.notify import notify_all
from ..runner.prepare import new_run_id, prepare
from ..runner.request import RunRequest, RunResult
from ..store import Store
from ..store import runs as run_table
from ..store import scheduling as tables
from ..store.processes import pid_alive
from ..store.scheduling import Claim, FireClaim
from .schedules import Schedule, next_cron_time, schedules_to_examine, zone

log = logging.getLogger("mlops_magic.scheduler")
MAX_CATCHUP = 1000


@dataclass(frozen=True)
class Fire:
    key: str
    trigger: str
    due: float
    parent_run_id: str | None = None
    if_changed: bool = False


@dataclass
class Claimed:
    schedule: Schedule
    fire: Fire
    run_id: str
    result: RunResult | None = None
    started: bool = True  # False: the fire could not start (a missing notebook, an unreachable cluster)


def _claimer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# -- what is due ---------------------------------------------------------------------------------
def cron_fires(s: Schedule, now: datetime) -> tuple[list[Fire], float | None]:
    """Due times after the cursor up to ``now`` (only the latest with catch-up 'skip'), and the new cursor."""
    if not s.cron:
        return [], None
    from croniter import croniter

    tz = zone(s.timezone)
    start = datetime.fromtimestamp(s.cron_cursor if s.cron_cursor is not None else s.created, tz)
    it = croniter(s.cron, start)
    due: list[datetime] = []
    while len(due) < MAX_CATCHUP:
        nxt = it.get_next(datetime)
        if nxt > now:
            break
        due.append(nxt)
    if not due:
        return [], None
    chosen = due if s.catchup == "all" else due[-1:]
    fires = [Fire(key="cron:" + d.astimezone(timezone.utc).isoformat(), trigger="schedule", due=d.timestamp(),
                  if_changed=bool(s.on_change)) for d in chosen]
    return fires, due[-1].timestamp()


def change_fires(store: Store, s: Schedule, now: datetime) -> list[Fire]:
    """On-change without cron: fire once per new inputs signature since the last successful run."""
    if not s.on_change or s.cron:
        return []

    prep = prepare(request_for(store, s, "data-change"), store.project_dir)
    last = last_successful(store, prep.recorded_notebook)
    if last is not None and last[1] == prep.signature:
        return []
    baseline = last[0] if last else "none"
    return [Fire(key=f"change:{prep.signature}:{baseline}", trigger="data-change", due=now.timestamp())]


def after_fires(store: Store, s: Schedule) -> list[Fire]:
    if not s.after:
        return []
    rows = run_table.succeeded_of_notebook(store.db, s.after, s.created, 1 if s.catchup == "skip" else MAX_CATCHUP)
    return [Fire(key=f"after:{run_id}", trigger="after", due=ended, parent_run_id=run_id)
            for run_id, ended in reversed(rows)]


#: event kind -> the schedule field naming what it follows, and the trigger a fire of it records
EVENT_TRIGGERS = {"drift": ("on_drift", "drift"), "performance-drop": ("on_performance_drop", "performance")}


def event_fires(store: Store, s: Schedule) -> tuple[list[Fire], int]:
    """Fires for the drift and performance-drop events this schedule follows, after its event cursor."""
    kinds = [kind for kind, (field, _) in EVENT_TRIGGERS.items() if getattr(s, field)]
    if not kinds:
        return [], s.event_cursor
    events = store.list_events(after_id=s.event_cursor, limit=MAX_CATCHUP)
    cursor = max([s.event_cursor, *[e["id"] for e in events]])
    matching = [e for e in events if e["kind"] in kinds and _matches(getattr(s, EVENT_TRIGGERS[e["kind"]][0]), e)]
    if s.catchup == "skip":
        matching = matching[-1:]
    return [Fire(key=f"{e['kind']}:{e['id']}", trigger=EVENT_TRIGGERS[e["kind"]][1], due=e["created"].timestamp(),
                 parent_run_id=e["run_id"]) for e in matching], cursor


def _matches(subject: str, event: dict[str, Any]) -> bool:
    if subject in ("*", "any"):
        return True
    payload = event.get("payload") or {}
    names = {event.get("subject"), payload.get("model"), payload.get("notebook")}
    return subject in names


# -- claiming ------------------------------------------------------------------------------------
def claim(store: Store, s: Schedule, fire: Fire) -> FireClaim:
    """Claim ``fire`` for this tick unless another tick has it or the schedule is at its maximum
    concurrency; a won claim carries the run id reserved for it."""
    return tables.claim_fire(store.db, s.id, fire.key, trigger=fire.trigger, due=fire.due, run_id=new_run_id(),
                             claimed_by=_claimer(), created=time.time(), max_concurrency=s.max_concurrency)


def reap_fires(store: Store) -> None:
    """End this host's orphaned runs (the tick is one of the explicit reapers: reads never do it), close
    fires whose run ended, and record the run of a fire whose claiming tick died before starting it."""
    store.reap_orphans()
    store.db.run_in_transaction(tables.close_fires_of_ended_runs)
    host = socket.gethostname()
    for fire_id, schedule_id, run_id, claimed_by in tables.fires_without_run(store.db):
        claimer_host, _, pid = (claimed_by or "").rpartition(":")
        if claimer_host == host and pid.isdigit() and not pid_alive(int(pid)):
            try:
                store.create_run(run_id=run_id, trigger=Trigger.SCHEDULE, schedule_id=schedule_id,
                                 status=RunStatus.KILLED,
                                 error="the scheduler stopped after claiming this run and before starting it")
            except Exception:  # pragma: no cover - another tick recorded it first
                pass
            store.db.run_in_transaction(partial(tables.close_fire, fire_id=fire_id))


def _advance(store: Store, s: Schedule, cron_cursor: float | None, event_cursor: int | None) -> None:
    if event_cursor is not None and event_cursor <= s.event_cursor:
        event_cursor = None
    cron_next = next_cron_time(s.cron, s.timezone, cron_cursor) if cron_cursor is not None and s.cron else None
    if cron_cursor is not None or event_cursor is not None:
        store.db.run_in_transaction(lambda tx: tables.advance_cursors(
            tx, s.id, cron_cursor=cron_cursor, event_cursor=event_cursor, cron_next=cron_next))


# -- running -------------------------------------------------------------------------------------
def request_for(store: Store, s: Schedule, trigger: str, *, run_id: str | None = None,
                parent_run_id: str | None = None, if_changed: bool = False) -> RunRequest:
    return RunRequest(
        notebook=str(s.notebook_path), params=dict(s.params), stages=s.stages, from_stage=s.from_stage,
        trigger=trigger, store_url=store.url, timeout=s.timeout, retries=s.retries, kernel=s.kernel,
        if_changed=if_changed or bool(s.on_change), watch=s.on_change, schedule_id=s.id,
        parent_run_id=parent_run_id, run_id=run_id, notify=s.notify, cwd=None,
        resources=dict(s.resources), queue_timeout=s.queue_timeout, cache=True if s.cache else None,
    )


class Executors:
    """The executors one tick or loop uses: a schedule's own (``--executor`` at ``schedule add``), else the
    scheduler's (``--executor``, else the project default). Each is opened on first use; one that cannot be
    opened (a cluster that cannot be reached) is remembered as that one-line reason for this pass."""

    def __init__(self, store: Store, parallel: int = 1, executor: Any = None) -> None:
        self.store = store
        self.parallel = parallel
        self.fixed = executor if isinstance(executor, Executor) else None
        self.default = None if self.fixed is not None else executor
        self._open: dict[str, Executor] = {}
        self._broken: dict[str, str] = {}

    def url_for(self, s: Schedule) -> str:
        if s.executor:
            return check_executor_url(s.executor)
        if isinstance(self.default, str) and self.default:
            return check_executor_url(self.default)
        if self.default is not None:
            return "client"  # a distributed.Client given from Python
        return default_executor_url(self.store)

    def for_schedule(self, s: Schedule) -> Executor:
        """The executor for ``s``, or raises :class:`MlopsError` saying why there is none."""
        if self.fixed is not None:
            return self.fixed
        url = self.url_for(s)
        if url in self._broken:
            raise MlopsError(self._broken[url])
        if url not in self._open:
            try:
                self._open[url] = make_executor(self.store, max(self.parallel, 1),
                                                self.default if url == "client" else url)
            except MlopsError as exc:
                self._broken[url] = str(exc)
                log.warning("mlops scheduler: %s", exc)
                raise
        return self._open[url]

    def retry_broken(self) -> None:
        """Forget failures, so the next pass tries unreachable clusters again."""
        self._broken.clear()

    def reconcile(self) -> None:
        """Let each executor end the runs its cluster no longer knows about."""
        for executor in self._open.values():
            executor.reconcile()

    def shutdown(self, interrupted: bool = False) -> None:
        """Release the executors; ``interrupted`` (Ctrl-C) cancels what is still on a cluster instead of
        waiting for it (local pools finish their runs, as before)."""

        if self.fixed is None:
            for executor in self._open.values():
                if interrupted:
                    executor.cancel_all("cancelled: the scheduler was stopped (Ctrl-C)")
                executor.shutdown()
            self._open.clear()


def claim_due(store: Store, now: datetime) -> list[Claimed]:
    """Claim everything due at ``now``; each claim is this tick's to run."""
    reap_fires(store)
    claimed: list[Claimed] = []
    for s in schedules_to_examine(store, now.timestamp()):
        try:
            cron_due = s.cron_next is None or s.cron_next <= now.timestamp()
            fires, cron_cursor = cron_fires(s, now) if cron_due else ([], None)
            fires += change_fires(store, s, now) + after_fires(store, s)
            on_events, after_events = event_fires(store, s)
            event_cursor: int | None = after_events
            fires += on_events
        except MlopsError as exc:  # e.g. a watched glob that now matches nothing: say so, go on
            log.warning("mlops scheduler: schedule %s: %s", s.id, exc)
            continue
        for fire in fires:
            outcome = claim(store, s, fire)
            if outcome.outcome is Claim.BUSY:
                if fire.key.startswith("cron:"):  # keep this due time (and later ones) for a later tick
                    earlier = [f.due for f in fires if f.key.startswith("cron:") and f.due < fire.due]
                    cron_cursor = max(earlier) if earlier else None
                if fire.key.partition(":")[0] in EVENT_TRIGGERS:  # keep the event for a later tick
                    event_cursor = None
                break
            if outcome.outcome is Claim.WON and outcome.run_id is not None:
                claimed.append(Claimed(s, fire, outcome.run_id))
        _advance(store, s, cron_cursor, event_cursor)
    return claimed


def tick(store: Store, now: datetime | None = None, *, parallel: int = 1,
         executor: Any = None) -> list[Claimed]:
    """One pass: claim what is due and run it to the end. A failing notebook never stops the pass.

    ``executor``: an executor object (used for every schedule), or a URL / ``distributed.Client`` for
    schedules that name none (default: the project's executor)."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise MlopsError("tick(now=...) needs a timezone-aware datetime")
    claimed = claim_due(store, now)
    if not claimed:
        return []
    executors = Executors(store, parallel, executor)
    done: list[Claimed] = []
    try:
        # Fires held back by max concurrency (catch-up 'all') are claimed once earlier ones finish.
        for _ in range(MAX_CATCHUP):
            futures = [(c, submit(store, executors, c)) for c in claimed]
            for c, future in futures:
                c.result = future.result() if future is not None else c.result
                mark_done(store, c)
            done += claimed
            claimed = claim_due(store, now)
            if not claimed:
                break
    finally:
        executors.shutdown()
    return done


def submit(store: Store, executors: Any, c: Claimed) -> Any:
    """Prepare and hand a claimed fire to its executor; a bad notebook or an unreachable cluster becomes
    a failed run (saying so in one line), not a crash."""

    request = request_for(store, c.schedule, c.fire.trigger, run_id=c.run_id,
                          parent_run_id=c.fire.parent_run_id, if_changed=c.fire.if_changed)
    store.db.run_in_transaction(lambda tx: tables.set_fire_state(tx, c.schedule.id, c.fire.key, FireState.RUNNING))
    try:
        prep = prepare(request, store.project_dir)
        executor = executors if isinstance(executors, Executor) else executors.for_schedule(c.schedule)
    except MlopsError as exc:
        store.create_run(run_id=c.run_id, notebook=c.schedule.notebook, trigger=c.fire.trigger,
                         schedule_id=c.schedule.id, status=RunStatus.FAILED, error=f"cannot start: {exc}")
        c.result = RunResult(run_id=c.run_id, notebook=c.schedule.notebook, status=RunStatus.FAILED,
                             error=f"cannot start: {exc}")
        c.started = False

        notify_all(c.schedule.notify, c.result, store)
        return None
    return executor.submit(prep)


def mark_done(store: Store, c: Claimed) -> None:
    store.db.run_in_transaction(lambda tx: tables.set_fire_state(tx, c.schedule.id, c.fire.key, FireState.DONE))


def run_loop(store: Store, *, interval: float = 30.0, parallel: int = 1, once: bool = False,
             clock: Any = None, sleep: Any = time.sleep, echo: Any = print, executor: Any = None) -> None:
    """``mlops scheduler run``: tick every ``interval`` seconds, runs going to a process pool or a cluster."""
    clock = clock or (lambda: datetime.now(timezone.utc))
    executors = Executors(store, max(parallel, 2), executor)
    pending: list[tuple[Claimed, Any]] = []
    try:
        while True:
            executors.retry_broken()
            try:
                executors.reconcile()
            except Exception as exc:  # pragma: no cover - a cluster hiccup must not stop the loop
                log.warning("mlops scheduler: reconciling with the cluster failed: %s", exc)
            try:
                for c in claim_due(store, clock()):
                    echo(f"{clock().isoformat(timespec='seconds')}  schedule {c.schedule.id}  {c.fire.trigger}  "
                         f"run {c.run_id[:8]}  {c.schedule.notebook}")
                    pending.append((c, submit(store, executors, c)))
            except Exception as exc:  # the loop outlives a broken store moment or a bad schedule
                log.warning("mlops scheduler: tick failed: %s", exc)
            still = []
            for c, future in pending:
                if future is None or future.done():
                    if future is not None:
                        c.result = future.result()
                        echo("  " + c.result.line())
                    mark_done(store, c)
                else:
                    still.append((c, future))
            pending = still
            if once:
                for c, future in pending:
                    if future is not None:
                        c.result = future.result()
                        echo("  " + c.result.line())
                    mark_done(store, c)
                return
            sleep(interval)
    except KeyboardInterrupt:
        executors.shutdown(interrupted=True)
        raise
    finally:
        executors.shutdown()


def fires_of(store: Store, schedule_id: str) -> list[dict[str, Any]]:
    return tables.fires_of(store.db, schedule_id)


__all__ = ["Claimed", "Fire", "claim", "claim_due", "run_loop", "tick"]

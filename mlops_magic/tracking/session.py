"""Runs and stages as the notebook lives them; the plain-Python core behind every magic.

A process has one :class:`Session`. Its *implicit* run is created on first
use (a kernel session is one run) and closed at exit; ``start_run()`` opens
explicit runs on top of it. A headless run started by the runner passes its
id in ``MLOPS_RUN_ID``: the session then *attaches* to that run, recording
into it without ever creating or closing it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Protocol

from ..entities import Artifact, Fingerprint, Run, RunStatus, StageRun, StageStatus, VariableInfo
from ..errors import InvalidInputError, MlopsError, NotFoundError
from ..store import Store, find_project_dir, open_store
from ..store.processes import process_started
from .background import OutputFingerprints, Pending
from .environment import detect_notebook_path, detect_script_path, environment, git_state
from .fingerprint import fingerprint
from .queries import notebook_file
from .stage_hooks import KernelExit, Observers, StageContext, StageObserver
from .stages import check_kind, code_digest, combined_digest

Listener = Callable[[str, dict[str, Any]], None]


@dataclass
class _CellGroup:
    """The cells one stage run spans in this execution: a stage may be split over several cells."""

    stage_id: int
    kind: str
    cells: list[str]
    digests: list[str]
    variables: dict[str, VariableInfo] = field(default_factory=dict)
    failure: tuple[str, str, int | None] | None = None  # (type, message, line) of the first failed cell


class Background(Protocol):
    """Something writing a stage's records after its cell returned, that reads must wait for."""

    @property
    def pending(self) -> int: ...

    def flush(self, timeout: float | None = None) -> bool: ...


class Session:
    """Process-wide state: which store, which run, which stage is open."""

    def __init__(self) -> None:
        self.store_url: str | None = None
        self.default_trigger = "manual"
        self.user_ns: dict[str, Any] | None = None
        self.implicit_run_id: str | None = None
        self.attached_run_id: str | None = os.environ.get("MLOPS_RUN_ID") or None
        self.run_stack: list[str] = []
        self.stage_stack: list[StageRun] = []
        self.listeners: list[Listener] = []
        self._steps: dict[str, dict[str, int]] = {}  # run id -> {metric key: highest step logged here}
        self._cell_groups: dict[tuple[str, str], _CellGroup] = {}
        self.failed_cell: str | None = None  # headless without the runner (plain papermill): where it stopped
        self.executed_notebook: str | None = None  # kept with the run when it closes (papermill's output)
        self.store_start: str | None = None  # where to look for the project (default: the working dir)
        self._lock = threading.RLock()
        self._store: tuple[tuple[Any, ...], Store] | None = None
        self._closing = False
        self.observers = Observers()  # what hangs on every stage: autolog, the stage cache (stage_hooks.py)
        self._contexts: dict[int, StageContext] = {}  # stage id -> its execution now running
        self.outputs = OutputFingerprints()  # stage cells' output fingerprints, hashed after the cell
        self._background: list[Background] = [self.outputs]  # what reads wait for (:meth:`wait_on`)

    # -- store --------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The session's store, resolved once: a kernel keeps recording where it started.

        What the session still writes in the background lands first (:meth:`flush`: output fingerprints
        being hashed, the last system sample of a stage that ended), so whatever reads or writes through
        the session (a magic, a gate, the next stage, the end of the run) sees every stage complete.
        """
        if any(work.pending for work in self._background):
            self.flush()
        return self._resolved_store()

    def _resolved_store(self) -> Store:
        """The store without waiting for the background: for the writes that close a stage, which those
        background writers complete (waiting there would put them back on the cell's path)."""
        key = (self.store_url, os.environ.get("MLOPS_STORE"), os.getpid(), self.store_start)
        cached = self._store
        if cached is not None and self._closing:
            return cached[1]  # at exit the environment may have changed: close the run where it was recorded
        if cached is None or cached[0] != key:
            cached = (key, open_store(self.store_url or os.environ.get("MLOPS_STORE") or None,
                                      start=self.store_start))
            self._store = cached
        return cached[1]

    def wait_on(self, work: Background) -> None:
        """Make every read through :attr:`store` wait for ``work`` (once; something that completes a stage's
        records after its cell returned, as the output fingerprints do)."""
        if not any(w is work for w in self._background):
            self._background.append(work)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything written in the background so far is in the store; False on a timeout."""
        done = True
        for work in list(self._background):
            if work.pending:
                done = work.flush(timeout) and done
        return done

    def store_exists(self) -> bool:
        """Whether :attr:`store` would open an existing store rather than create ``.mlops/``."""
        if self._store is not None or self.store_url or os.environ.get("MLOPS_STORE"):
            return True
        return find_project_dir(self.store_start) is not None

    def use_store(self, url: str | None) -> Store:
        """Point this session at another store; later calls record there."""
        self.store_url = url
        self._store = None
        self.implicit_run_id = None
        self._steps.clear()
        self._cell_groups.clear()
        return self.store

    # -- runs ---------------------------------------------------------------------------------
    def active_run_id(self) -> str | None:
        """The run records would go into now, if there is one yet; never creates a run."""
        with self._lock:
            if self.run_stack:
                return self.run_stack[-1]
            return self.attached_run_id or self.implicit_run_id

    def recording_run_id(self) -> str:
        """The run to record into: the active run, else this session's implicit run, created on first use."""
        with self._lock:
            active = self.active_run_id()
            if active is not None:
                return active
            run = self._new_run(trigger=self.default_trigger)
            self.implicit_run_id = run.id
            self._notify("run-started", {"run_id": run.id})
            return run.id

    def run_ref(self, ref: str | None = None) -> str:
        """The run a command means: ``ref`` if given, else the active run, else the newest run in the store.

        Every face (``%mlops show``/``status``, ``mlops.show()``/``status()``, the panels) asks this one
        rule, so "the run" never means two things.
        """
        if ref:
            return self.store.resolve_run_id(ref)
        active = self.active_run_id()
        if active:
            return active
        runs = self.store.list_runs(limit=1)
        if not runs:
            raise NotFoundError("no runs yet: run a %%mlops stage cell, or `mlops run NOTEBOOK`, first")
        return runs[0].id

    def notebook_now(self) -> str | None:
        """The notebook this kernel runs, by the name it has now: Lab may have renamed it since the kernel
        started with its old name (``JPY_SESSION_NAME``); the store's rename log says."""
        detected = detect_notebook_path(self.user_ns)
        return self.store.current_notebook_name(detected, since=process_started()) if detected else None

    def renamed_notebook_file(self) -> str | None:
        """The notebook file under :meth:`notebook_now`, for when the file the kernel was started on is gone."""
        if not self.store_exists():
            return None  # nothing was recorded here, so nothing was renamed: and looking creates no store
        file = notebook_file(self.store, self.notebook_now())
        return str(file) if file is not None and file.is_file() else None

    def _new_run(self, *, trigger: str, name: str | None = None, notebook: str | None = None,
                 params: Mapping[str, Any] | None = None, parent_run_id: str | None = None) -> Run:
        notebook = notebook or self.notebook_now() or detect_script_path()
        commit, dirty = git_state()
        return self.store.create_run(notebook=notebook, trigger=trigger, name=name, params=params,
                                     code_version=commit, git_dirty=dirty, environment=environment(),
                                     parent_run_id=parent_run_id)

    def start_run(self, *, name: str | None = None, notebook: str | None = None,
                  params: Mapping[str, Any] | None = None, trigger: str | None = None,
                  tags: Mapping[str, Any] | None = None) -> ActiveRun:
        parent = self.active_run_id()
        run = self._new_run(trigger=trigger or "manual", name=name, notebook=notebook, params=params,
                            parent_run_id=parent)
        if tags:
            self.store.set_tags(run.id, tags)
        with self._lock:
            self.run_stack.append(run.id)
        self._notify("run-started", {"run_id": run.id})
        return ActiveRun(self, run.id)

    def end_run(self, run_id: str | None = None, status: str = RunStatus.SUCCEEDED, error: str | None = None) -> Run:
        """Close an explicit run (or the implicit one); an attached headless run is the runner's to close."""
        with self._lock:
            run_id = run_id or self.active_run_id()
            if run_id is None:
                raise InvalidInputError("no run is active")
            if run_id == self.attached_run_id and run_id not in self.run_stack:
                raise InvalidInputError("this run belongs to the headless runner; it closes it when the notebook ends")
            self.stage_stack = [s for s in self.stage_stack if s.run_id != run_id]
            if run_id in self.run_stack:
                self.run_stack.remove(run_id)
            if run_id == self.implicit_run_id:
                self.implicit_run_id = None
        run = self.store.finish_run(run_id, status, error)
        self._notify("run-finished", {"run_id": run_id, "status": status})
        return run

    def active_run(self) -> Run | None:
        run_id = self.active_run_id()
        return None if run_id is None else self.store.get_run(run_id)

    def close_implicit_run(self) -> None:
        """At exit: the kernel session's run ends failed if a stage's latest attempt failed."""
        run_id = self.implicit_run_id
        if run_id is None or self._store is None:
            return
        self._closing = True
        try:
            stages = self.store.list_stages(run_id)
            latest: dict[str, StageRun] = {}
            for s in stages:
                latest[s.name] = s
            failed = [s for s in latest.values() if s.status == StageStatus.FAILED]
            not_kept = None
            if self.executed_notebook and os.path.isfile(self.executed_notebook):
                try:
                    self.store.log_artifact(run_id, self.executed_notebook, name="executed.ipynb")
                except MlopsError as exc:  # the artifact store is unreachable or refuses us: say so, end the run
                    not_kept = f"the executed notebook could not be stored: {exc}"[:2000]
            unfinished = [s for s in latest.values() if s.status == StageStatus.RUNNING]
            if unfinished:  # the kernel is exiting mid-cell: shut down, or papermill's --execution-timeout
                for s in unfinished:
                    self._finish_observers(s.id, KernelExit("the kernel exited while this stage ran"))
                    self.store.finish_stage(s.id, StageStatus.FAILED, error_type="KernelExit",
                                            error_message="the kernel exited while this stage ran")
                self.end_run(run_id, RunStatus.KILLED, f"the kernel exited while stage {unfinished[-1].name} ran")
            elif self.failed_cell:
                self.end_run(run_id, RunStatus.FAILED, self.failed_cell)
            elif not_kept and not failed:
                self.end_run(run_id, RunStatus.FAILED, not_kept)
            else:
                self.end_run(run_id, RunStatus.FAILED if failed else RunStatus.SUCCEEDED,
                             f"stage {failed[-1].name} failed" if failed else None)
        except Exception:  # never let a broken store turn interpreter exit into a traceback
            pass

    def cell_failed(self, message: str) -> None:
        """A cell raised in a headless execution that stops at the first error (plain papermill)."""
        if self.failed_cell is None:
            self.failed_cell = message[:2000]

    # -- stages -------------------------------------------------------------------------------
    @property
    def current_stage(self) -> StageRun | None:
        return self.stage_stack[-1] if self.stage_stack else None

    def add_observer(self, observer: StageObserver, *, first: bool = False) -> None:
        """Call ``observer`` around every stage from now on (see :mod:`.stage_hooks`); ``first``: started
        before the others and finished after them."""
        self.observers.add(observer, first=first)

    def remove_observer(self, name: str) -> None:
        self.observers.remove(name)

    def stage_context(self, stage_id: int) -> StageContext | None:
        """The execution of stage ``stage_id`` running now, as observers see it."""
        return self._contexts.get(stage_id)

    def settle(self) -> None:
        """Let observers write what they buffered for the stages running now (before a read of this run)."""
        for ctx in list(self._contexts.values()):
            self.observers.settle(ctx)

    def begin_stage(self, kind: str, name: str | None = None, *, code_digest: str | None = None,
                    notes: str | None = None, code: str | None = None,
                    namespace: dict[str, Any] | None = None, options: Mapping[str, Any] | None = None) -> StageRun:
        run_id = self.recording_run_id()
        stage = self.store.start_stage(run_id, kind, name, code_digest=code_digest, notes=notes)
        self._started(stage, code, namespace, options)
        return stage

    def _started(self, stage: StageRun, code: str | None, namespace: dict[str, Any] | None,
                 options: Mapping[str, Any] | None) -> None:
        with self._lock:
            self.stage_stack.append(stage)
        if self.observers:
            ctx = StageContext(stage, code=code, namespace=namespace, options=dict(options or {}))
            self._contexts[stage.id] = ctx
            self.observers.started(ctx)
        self._notify("stage-started", {"run_id": stage.run_id, "stage_id": stage.id, "name": stage.name})

    def _finish_observers(self, stage_id: int, error: BaseException | None) -> None:
        ctx = self._contexts.pop(stage_id, None)
        if ctx is not None:
            self.observers.finished(ctx, error)

    def begin_cell_stage(self, kind: str, name: str | None, *, cell_id: str | None, code_digest: str,
                         notes: str | None = None, code: str | None = None,
                         namespace: dict[str, Any] | None = None,
                         options: Mapping[str, Any] | None = None) -> StageRun:
        """A stage cell starts: a new attempt, or the continuation of the stage run it shares.

        Cells that share a stage in one execution are one stage run: a cell (by id) of a stage whose
        latest run in this kernel and run has not included it yet continues that run, and the run's
        code digest covers all its cells. A cell that already ran in it is a re-execution: a new
        attempt. Without a cell id (a terminal IPython) every stage cell is a new attempt. Observers
        see each cell's execution on its own.
        """

        run_id = self.recording_run_id()
        key = (run_id, name or kind)
        group = self._cell_groups.get(key) if cell_id else None
        if group is not None and cell_id not in group.cells and group.kind == kind:
            group.cells.append(str(cell_id))
            group.digests.append(code_digest)
            stage = self.store.resume_stage(group.stage_id, combined_digest(group.digests))
            self._started(stage, code, namespace, options)
            return stage
        stage = self.begin_stage(kind, name, code_digest=code_digest, notes=notes, code=code,
                                 namespace=namespace, options=options)
        if cell_id:
            self._cell_groups[key] = _CellGroup(stage.id, kind, [str(cell_id)], [code_digest])
        else:
            self._cell_groups.pop(key, None)
        return stage

    def end_stage(self, stage: StageRun, error: BaseException | None = None, *,
                  variables: list[VariableInfo] | None = None, error_line: int | None = None,
                  after_cell: bool = False) -> None:
        """Close ``stage``: its observers, then its status, error and variables.

        ``after_cell`` (a stage cell's own end): the status is written by the session's worker once the
        cell has returned, as its output fingerprints are, unless this kernel runs a headless run (the
        runner kills it as soon as the notebook is saved); every read through :attr:`store` waits for it.
        """
        self._finish_observers(stage.id, error)  # before the status is written: what they record is the stage's
        with self._lock:
            if stage in self.stage_stack:
                self.stage_stack.remove(stage)
        status = StageStatus.FAILED if error is not None else StageStatus.SUCCEEDED
        failure: dict[str, Any] = {}
        if error is not None:
            failure = {"error_type": type(error).__name__, "error_message": str(error) or repr(error),
                       "error_line": error_line if error_line is not None else _error_line(error)}
        group = self._cell_groups.get((stage.run_id, stage.name))
        if group is not None and group.stage_id == stage.id:  # a stage spread over cells: merge them
            group.variables.update({v.name: v for v in variables or []})
            variables = list(group.variables.values())
            if error is not None and group.failure is None:
                group.failure = (failure["error_type"], failure["error_message"], failure["error_line"])
            if group.failure is not None:  # one failed cell fails the stage run, whatever comes after
                status = StageStatus.FAILED
                failure = dict(zip(("error_type", "error_message", "error_line"), group.failure))
        store = self._resolved_store()  # not waiting for what completes the stage in the background
        kept = list(variables or [])
        if after_cell and not self.attached_run_id:
            self.outputs.later(lambda: _finish_later(store, stage, status, kept, failure))
        else:
            store.finish_stage(stage.id, status, variables=kept, **failure)
        self._notify("stage-finished", {"run_id": stage.run_id, "stage_id": stage.id, "name": stage.name,
                                        "status": status})

    @contextmanager
    def stage(self, kind: str, name: str | None = None, *, notes: str | None = None,
              code: str | None = None) -> Iterator[StageRun]:
        """A stage of the current run; an exception marks it failed and propagates unchanged."""

        check_kind(kind)
        stage = self.begin_stage(kind, name, notes=notes, code_digest=code_digest(code) if code else None,
                                 code=code, namespace=self.user_ns)
        try:
            yield stage
        except BaseException as exc:
            self.end_stage(stage, exc)
            raise
        else:
            self.end_stage(stage)

    def _stage_id(self) -> int | None:
        stage = self.current_stage
        return stage.id if stage else None

    # -- logging ------------------------------------------------------------------------------
    def requested_params(self) -> dict[str, Any]:
        """Parameters this run was started with by the runner (``-p``); they win over defaults."""
        run_id = self.active_run_id()
        return self.store.run_requested_params(run_id) if run_id else {}

    def log_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Log parameters and return the values in force: a headless run's ``-p`` wins over these defaults.

        So a notebook's ``%mlops params lr=0.1`` or ``mlops.log_params({"lr": 0.1})`` composes with
        ``mlops run -p lr 0.5`` the way papermill's parameters cell does, whichever face sets them.
        """
        requested = self.requested_params()
        values = {k: requested.get(k, v) for k, v in params.items()}
        self.store.log_params(self.recording_run_id(), values, self._stage_id())
        return values

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        run_id = self.recording_run_id()
        step = self._next_step(run_id, key) if step is None else int(step)
        self.store.log_metric(run_id, key, value, step, stage_id=self._stage_id())
        steps = self._steps.setdefault(run_id, {})
        if steps.get(key, -1) < step:
            steps[key] = step
        self._notify("metric", {"run_id": run_id, "key": key})

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        run_id = self.recording_run_id()
        if step is None:
            rows = [(key, value, self._next_step(run_id, key)) for key, value in metrics.items()]
        else:
            rows = list(zip(metrics, metrics.values(), repeat(int(step))))
        self.store.log_metrics(run_id, rows, stage_id=self._stage_id())
        steps = self._steps.setdefault(run_id, {})
        if step is not None and max(map(steps.get, metrics, repeat(-1)), default=-1) < int(step):
            steps.update(dict.fromkeys(metrics, int(step)))  # one step, above every one so far: at C speed
        else:
            for key, _, s in rows:
                if steps.get(key, -1) < s:
                    steps[key] = s
        self._notify("metric", {"run_id": run_id, "keys": list(metrics)})

    def _next_step(self, run_id: str, key: str) -> int:
        last = self._steps.get(run_id, {}).get(key)
        if last is None:
            stored = self.store.last_step(run_id, key)
            last = -1 if stored is None else stored
        return last + 1

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Artifact:
        run_id = self.recording_run_id()
        artifact = self.store.log_artifact(run_id, path, name, self._stage_id())
        self._notify("artifact", {"run_id": run_id, "name": artifact.name})
        return artifact

    def log_outputs(self, stage: StageRun, outputs: Sequence[tuple[str, Any]],
                    known: Mapping[str, Fingerprint] | None = None) -> list[Pending]:
        """Fingerprint what a stage cell produced (name, value): after the cell, on the session's worker,
        when the values cannot change meanwhile (``tracking/background.py``); inline in a run the runner
        started, whose kernel is killed once the notebook is saved."""
        return self.outputs.record(self._resolved_store(), stage, outputs, defer=not self.attached_run_id,
                                   known=known)

    def log_fingerprint(self, data: Any, name: str | None = None, role: str = "input") -> Fingerprint:
        if role not in ("input", "output"):
            raise InvalidInputError(f"role must be 'input' or 'output', not {role!r}")
        fp = fingerprint(data, name=name, role=role)
        run_id = self.recording_run_id()
        self.store.log_fingerprint(run_id, fp, stage_id=self._stage_id())
        return fp

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        run_id = self.recording_run_id()
        self.store.set_tags(run_id, tags)

    # -- live updates -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event, info)`` on every change; returns a function that unsubscribes."""
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener) if listener in self.listeners else None

    def _notify(self, event: str, info: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            try:
                listener(event, info)
            except Exception:  # a broken panel must never break the user's cell
                pass


class ActiveRun:
    """What ``start_run()`` returns: usable with ``with``, closes the run failed on an exception."""

    def __init__(self, session: Session, run_id: str) -> None:
        self._session = session
        self.id = run_id

    @property
    def run(self) -> Run:
        return self._session.store.get_run(self.id)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self._session.end_run(self.id, RunStatus.SUCCEEDED)
        elif isinstance(exc, KeyboardInterrupt):
            self._session.end_run(self.id, RunStatus.KILLED, "interrupted")
        else:
            self._session.end_run(self.id, RunStatus.FAILED, f"{type(exc).__name__}: {exc}"[:2000])

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id}>"




def _finish_later(store: Store, stage: StageRun, status: StageStatus, variables: list[VariableInfo],
                  failure: dict[str, Any]) -> None:
    """A stage cell's status, written by the session's worker: a failure is one line, as on the cell."""
    try:
        store.finish_stage(stage.id, status, variables=variables, **failure)
    except MlopsError as exc:
        print(f"mlops: stage {stage.name} result not recorded: {exc}", file=sys.stderr)


def _error_line(error: BaseException) -> int | None:
    """Line of the innermost frame that is the user's: the last frame not in site-packages or stdlib."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    if isinstance(error, SyntaxError) and error.lineno:
        return error.lineno
    for frame in reversed(frames):
        if "site-packages" not in frame.filename and "/lib/python" not in frame.filename:
            return frame.lineno
    return frames[-1].lineno if frames else None


_session: Session | None = None
_session_lock = threading.Lock()


def get_session() -> Session:
    global _session
    with _session_lock:
        if _session is None:
            _session = Session()
            atexit.register(_session.close_implicit_run)
        return _session


def reset_session() -> Session:
    """Start over (tests, and after ``%mlops init`` moves the store)."""
    global _session
    with _session_lock:
        if _session is not None:
            _session.flush()  # what the old session still writes in the background lands in its store
        _session = None
    return get_session()


# -- the public functional API (thin over the session) -----------------------------------------
def start_run(name: str | None = None, *, notebook: str | None = None, params: Mapping[str, Any] | None = None,
              trigger: str | None = None, tags: Mapping[str, Any] | None = None) -> ActiveRun:
    """Open a run; use as ``with start_run():`` so an exception marks it failed."""
    return get_session().start_run(name=name, notebook=notebook, params=params, trigger=trigger, tags=tags)


def end_run(status: str = RunStatus.SUCCEEDED) -> Run:
    return get_session().end_run(status=status)


def active_run() -> Run | None:
    return get_session().active_run()


def stage(kind: str, name: str | None = None, *, notes: str | None = None) -> AbstractContextManager[StageRun]:
    """``with stage("train"):`` records a stage of the current run (one is opened if none is)."""
    return get_session().stage(kind, name, notes=notes)


def log_param(key: str, value: Any) -> Any:
    """Log one parameter; returns the value in force (a headless run's ``-p`` wins)."""
    return get_session().log_params({key: value})[key]


def log_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Log parameters; returns the values in force (a headless run's ``-p`` wins), e.g. ``p = log_params({...})``."""
    return get_session().log_params(params)


def log_metric(key: str, value: Any, step: int | None = None) -> None:
    """Record one value; without ``step`` it continues the key's series (0, 1, 2, …)."""
    get_session().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    get_session().log_metrics(metrics, step)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> Artifact:
    return get_session().log_artifact(path, name)


def log_fingerprint(data: Any, name: str | None = None, role: str = "input") -> Fingerprint:
    return get_session().log_fingerprint(data, name, role)


def set_tags(tags: Mapping[str, Any]) -> None:
    get_session().set_tags(tags)


def store() -> Store:
    return get_session().store


__all__ = ["ActiveRun", "MlopsError", "Session", "active_run", "end_run", "get_session", "log_artifact",
           "log_fingerprint", "log_metric", "log_metrics", "log_param", "log_params", "reset_session",
           "set_tags", "stage", "start_run", "store"]

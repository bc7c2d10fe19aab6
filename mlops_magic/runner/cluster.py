"""Headless runs on a Dask distributed cluster (``--executor dask://HOST:PORT``).

A run is *shipped*, not assumed: the prepared run (notebook content, parameters,
stage selection, run id), the store URL and the ``MLOPS_*`` environment travel
with the task, so a worker never needs the notebook file. The store is the only
state both sides share:

* the submitter creates the run ``queued`` (with why it waits), then hands the
  task to the Dask scheduler with the run's resources;
* the worker *starts* it (:func:`~mlops_magic.store.dispatch.start_on_worker`:
  ``running`` with its address and pid; a second start means the first worker
  died, which is the next attempt when retries allow, else ``killed``), runs it
  in its own kernel (which exits if the worker dies) and finishes it;
* a worker watches the run in the store while it executes: a run ended from
  outside (Ctrl-C on the submitter) has its kernel killed at once;
* the submitter watches its futures: ``--queue-timeout`` fails a run still
  queued, a future that errs ends its run, and :func:`reconcile` ends runs the
  cluster no longer knows about (a submitter or worker that vanished).

``distributed`` is imported only here and only inside functions: without the
``[dask]`` extra, asking for a cluster says which command installs it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entities import ACTIVE_STATUSES, RunStatus, says_no
from ..errors import ClusterError
from ..store import Store, dispatch, open_store, runs
from ..store.location import redact_url
from .execute import create_run, execute_created, launch_kernel, runs_dir, skip_run, unchanged_since
from .executors import Executor
from .kernels import KernelSlot
from .prepare import PreparedRun
from .request import RunResult
from .warm import adopt

INSTALL_HINT = 'pip install "mlops-magic[dask]"'
#: Environment variables a run never takes from its submitter (the worker sets them per run).
_NOT_SHIPPED = {"MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE", "MLOPS_STORE", "MLOPS_EXECUTOR",
                "MLOPS_PARENT_PID"}
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def task_key(run_id: str) -> str:
    return f"mlops-run-{run_id}"


def scheduler_address(url: str) -> str:
    """``dask://h:p`` → ``tcp://h:p`` (what ``distributed`` dials); other schemes as given."""
    return "tcp://" + url.split("://", 1)[1] if url.startswith("dask://") else url


def connect(url: str, timeout: float | None = None) -> Any:
    """A ``distributed.Client`` for the scheduler at ``url``, shared within this process."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--executor {url} needs Dask, which is not installed: {INSTALL_HINT}") from None
    address = scheduler_address(url)
    with _clients_lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":  # not a run status: distributed.Client.status
            return client
        wait = timeout if timeout is not None else float(os.environ.get("MLOPS_DASK_CONNECT_TIMEOUT", "10"))
        try:
            client = distributed.Client(address, timeout=wait, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ClusterError(f"cannot reach the Dask scheduler at {url}: {first}") from None
        _clients[address] = client
        return client


def warm_workers(client: Any, label: str) -> None:
    """Have each worker keep a kernel booted for its next run (``warm.py``); a cluster that refuses still runs."""
    if says_no(os.environ.get("MLOPS_DASK_WARM_KERNEL", "1")):
        return
    try:
        from .warm_plugin import register  # lazy: imports distributed

        register(client)
    except Exception as exc:
        logging.getLogger("mlops_magic.runner").warning(
            "the workers of %s keep no warm kernel (%s): each run starts its own", label, exc)


def shipped_env() -> dict[str, str]:
    """The submitter's ``MLOPS_*`` settings a kernel on a worker needs (notifications, fingerprint limits …)."""
    return {k: v for k, v in os.environ.items() if k.startswith("MLOPS_") and k not in _NOT_SHIPPED}


def describe_resources(resources: dict[str, float]) -> str:
    return ",".join(f"{k}={v:g}" for k, v in sorted(resources.items()))


@dataclass
class _Pending:
    prep: PreparedRun
    task: Any  # distributed.Future
    future: Future[RunResult]
    submitted: float
    started: bool = False


class DaskExecutor(Executor):
    """Ships prepared runs to a Dask cluster; the store is where both sides meet."""

    poll = 0.2  # seconds between looks at the futures
    reasons_every = 2.0  # seconds between updates of why queued runs wait

    def __init__(self, store: Store, address: str | None = None, client: Any = None) -> None:
        self.store = store
        if client is not None:
            self.client = client
            self.label = "dask://" + str(client.scheduler.address).split("://", 1)[-1]
        else:
            if not address:
                raise ClusterError("a Dask executor needs a scheduler address, e.g. dask://127.0.0.1:8786")
            self.label = address
            self.client = connect(address)
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._monitor: threading.Thread | None = None
        reconcile(store, self.client, self.label)
        warm_workers(self.client, self.label)

    # -- submitting ------------------------------------------------------------------------------
    def submit(self, prep: PreparedRun) -> Future[RunResult]:
        future: Future[RunResult] = Future()
        req = prep.request
        if req.if_changed:
            previous = unchanged_since(self.store, prep)
            if previous:
                future.set_result(skip_run(self.store, prep, previous))
                return future
        create_run(self.store, prep, status=RunStatus.QUEUED, executor=self.label,
                   waiting=self.waiting_reason(req.resources))
        try:
            task = self.client.submit(run_on_worker, prep, self.store.url, self.label, shipped_env(),
                                      key=task_key(prep.run_id), pure=False, retries=0,
                                      resources=dict(req.resources) or None)
        except Exception as exc:  # e.g. the scheduler went away between connecting and submitting
            error = f"could not submit to {self.label}: {type(exc).__name__}: {exc}".splitlines()[0][:500]
            dispatch.end_active(self.store.db, prep.run_id, RunStatus.FAILED, error)
            future.set_result(_result(prep, RunStatus.FAILED, error))
            return future
        with self._lock:
            self._pending[prep.run_id] = _Pending(prep, task, future, time.monotonic())
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(target=self._watch, name="mlops-dask-monitor", daemon=True)
                self._monitor.start()
        self._wake.set()
        return future

    def run_all(self, preps: Any, on_result: Any = None) -> list[RunResult]:
        try:
            return super().run_all(preps, on_result)
        except BaseException as exc:  # Ctrl-C (or anything) in the submitter cancels its cluster tasks
            why = "the submitting process was interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) \
                else f"the submitting process stopped: {type(exc).__name__}"
            self.cancel_all(f"cancelled: {why}")
            raise

    def cancel_all(self, reason: str) -> None:
        """End every run this executor still waits for as ``killed`` and cancel its cluster task."""
        with self._lock:
            items, self._pending = list(self._pending.values()), {}
        for p in items:
            dispatch.end_active(self.store.db, p.prep.run_id, RunStatus.KILLED, reason)
            if not p.future.done():
                p.future.set_result(timed(_result(p.prep, RunStatus.KILLED, reason), self.store, p))
        if items:
            try:
                self.client.cancel([p.task for p in items], force=True)
            except Exception:  # the cluster is gone: the store already says what happened
                pass

    def reconcile(self) -> int:
        """End the runs recorded on this cluster whose task it no longer has, except those this executor
        still waits for (see :func:`reconcile`)."""
        with self._lock:
            mine = frozenset(self._pending)
        return reconcile(self.store, self.client, self.label, skip=mine)

    def shutdown(self, wait: bool = True) -> None:
        if wait:
            with self._lock:
                futures = [p.future for p in self._pending.values()]
            for f in futures:
                f.result()
        else:
            self.cancel_all("cancelled: the executor was shut down")
        self._closed = True
        self._wake.set()

    # -- watching --------------------------------------------------------------------------------
    def _watch(self) -> None:
        last_reasons = time.monotonic()
        while not self._closed:
            with self._lock:
                items = list(self._pending.values())
            for p in items:
                try:
                    self._check(p)
                except Exception as exc:  # never let the monitor die with futures unresolved
                    self._resolve(p, _result(p.prep, RunStatus.FAILED, f"runner error: {type(exc).__name__}: {exc}"))
            if items and time.monotonic() - last_reasons >= self.reasons_every:
                last_reasons = time.monotonic()
                self._refresh_reasons()
            self._wake.wait(self.poll if items else 5.0)
            self._wake.clear()

    def _check(self, p: _Pending) -> None:
        if p.task.done():
            self._resolve(p, self._outcome(p))
            return
        timeout = p.prep.request.queue_timeout
        if timeout and not p.started and time.monotonic() - p.submitted > timeout:
            state = runs.state(self.store.db, p.prep.run_id)
            if state is not None and state[0] != RunStatus.QUEUED:
                p.started = True
                return
            reason = self.waiting_reason(p.prep.request.resources)
            error = f"queued {timeout:g}s without a worker ({reason}); gave up (--queue-timeout {timeout:g})"
            if dispatch.end_active(self.store.db, p.prep.run_id, RunStatus.FAILED, error, expect=(RunStatus.QUEUED,)):
                try:
                    self.client.cancel([p.task], force=True)
                except Exception:
                    pass
                self._resolve(p, _result(p.prep, RunStatus.FAILED, error))
            else:
                p.started = True

    def _outcome(self, p: _Pending) -> RunResult:
        from distributed import KilledWorker  # lazy: distributed is imported only when a cluster is used

        status = p.task.status  # a Dask future's state: finished, cancelled, error
        if status == "finished":
            result: RunResult = p.task.result()
        elif status == "cancelled":
            result = _result(p.prep, RunStatus.KILLED, "cancelled: the cluster dropped its task")
        else:
            exc = p.task.exception()
            if isinstance(exc, KilledWorker):
                result = _result(p.prep, RunStatus.KILLED, f"killed: its workers kept dying ({exc})"[:500])
            elif isinstance(exc, ImportError) and "mlops_magic" in str(exc):
                result = _result(p.prep, RunStatus.FAILED, f"the workers of {self.label} cannot import mlops_magic: "
                                                           "install mlops-magic (and the notebooks' packages) on "
                                                           "every worker")
            else:
                result = _result(p.prep, RunStatus.FAILED,
                                 f"runner error on the cluster: {type(exc).__name__}: {exc}".splitlines()[0][:500])
        # The store must agree with what the cluster said (a worker that could not open it, a task error).
        state = runs.state(self.store.db, p.prep.run_id)
        if state is not None and state[0] in ACTIVE_STATUSES:
            dispatch.end_active(self.store.db, p.prep.run_id, result.status, result.error)
        return result

    def _resolve(self, p: _Pending, result: RunResult) -> None:
        with self._lock:
            self._pending.pop(p.prep.run_id, None)
        if not p.future.done():
            p.future.set_result(timed(result, self.store, p))

    def _workers(self) -> dict[str, Any]:
        try:
            return dict(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        except Exception:
            return {}

    def waiting_reason(self, resources: dict[str, float]) -> str:
        """Why a run needing ``resources`` waits, in words ``mlops runs`` shows."""
        workers = self._workers()
        if not workers:
            return f"no worker is connected to {self.label}"
        if not resources:
            return f"waiting for a free worker ({len(workers)} connected)"
        wanted = describe_resources(resources)
        able = [w for w in workers.values()
                if all(float((w.get("resources") or {}).get(k, 0)) >= v for k, v in resources.items())]
        if able:
            return f"waiting for a free worker with {wanted} ({len(able)} of {len(workers)} have it)"
        offers = sorted({describe_resources(w.get("resources") or {}) or "none" for w in workers.values()})
        return f"no worker offers {wanted} (workers offer: {'; '.join(offers)})"

    def _refresh_reasons(self) -> None:
        with self._lock:
            queued = [p for p in self._pending.values() if not p.started]
        groups: dict[str, tuple[dict[str, float], list[str]]] = {}
        for p in queued:
            wanted = p.prep.request.resources
            groups.setdefault(describe_resources(wanted), (wanted, []))[1].append(p.prep.run_id)
        for wanted, run_ids in groups.values():
            dispatch.set_waiting(self.store.db, run_ids, self.waiting_reason(wanted))


def timed(result: RunResult, store: Store, p: _Pending) -> RunResult:
    """``result`` with how long its run waited in the queue and, when the worker could not say (it
    died, or none ever started the run), how long it ran: from the store's record of the run, whose
    ``started`` a worker sets when it takes the run (``dispatch.start_on_worker``).

    ``started`` comes from the worker's clock and the submission time from ours: skew between hosts is
    not corrected, and a negative wait counts as none.
    """
    try:
        run = store.get_run(result.run_id)
    except Exception:  # never recorded (could not submit): nothing to say
        return result
    submitted = time.time() - (time.monotonic() - p.submitted)
    ended = run.ended.timestamp() if run.ended else time.time()
    if run.worker is None:  # no worker ever took it: it only waited
        return dataclasses.replace(result, duration=0.0, waited=max(0.0, ended - submitted))
    started = run.started.timestamp()
    return dataclasses.replace(result, waited=max(0.0, started - submitted),
                               duration=result.duration or max(0.0, ended - started))


def _result(prep: PreparedRun, status: RunStatus, error: str | None) -> RunResult:
    return RunResult(run_id=prep.run_id, notebook=prep.recorded_notebook, status=status, error=error)


def reconcile(store: Store, client: Any, label: str, *, grace: float = 10.0,
              skip: frozenset[str] = frozenset()) -> int:
    """End runs the store says are queued or running on ``label`` but whose task the cluster no longer has.

    Such a run lost its submitter before any worker started it, or its worker and submitter both went
    away; nothing will ever finish it. Runs younger than ``grace`` seconds are left alone (their
    submitter may be between recording and submitting them). Returns how many runs it ended.
    """
    active = [r for r in runs.active_on(store.db, label, older_than=time.time() - grace) if r[0] not in skip]
    if not active:
        return 0

    def task_states(dask_scheduler: Any, keys: list[str]) -> dict[str, str | None]:
        return {k: (dask_scheduler.tasks[k].state if k in dask_scheduler.tasks else None) for k in keys}

    try:
        states = client.run_on_scheduler(task_states, keys=[task_key(r[0]) for r in active])
    except Exception:  # cannot ask: leave the store as it is
        return 0
    ended = 0
    for run_id, status, worker in active:
        if states.get(task_key(run_id)) is not None:
            continue
        reason = (f"killed: worker {worker} and the process that submitted the run are gone"
                  if status == RunStatus.RUNNING
                  else "killed: the cluster no longer has its task (its submitter went away before a worker "
                       "started it)")
        ended += dispatch.end_active(store.db, run_id, RunStatus.KILLED, reason, expect=(status,))
    return ended


# -- on the worker ---------------------------------------------------------------------------------
def run_on_worker(prep: PreparedRun, store_url: str, executor: str, env: dict[str, str]) -> RunResult:
    """The Dask task: start the run in the store, execute it in a fresh kernel, finish it."""
    started = time.monotonic()
    try:
        from distributed import get_worker

        address = str(get_worker().address)
    except (ImportError, ValueError):  # called outside a worker (tests, debugging)
        address = f"{socket.gethostname()}:{os.getpid()}"
    try:
        store = open_store(store_url, create=False)
        store.ping()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        return _result(prep, RunStatus.FAILED,
                       f"worker {address} cannot open the store {redact_url(store_url)}: {first}")
    decision = dispatch.start_on_worker(store.db, prep.run_id, worker=address, host=socket.gethostname(),
                                        pid=os.getpid(), max_attempts=max(0, prep.request.retries) + 1)
    if not decision.start:
        return _result(prep, decision.status or RunStatus.KILLED, decision.error)
    if decision.lost_worker:
        store.set_tags(prep.run_id, {"mlops.lost_worker": decision.lost_worker})
    return execute_on_worker(prep, store, address, env, decision.attempt, started)


def execute_on_worker(prep: PreparedRun, store: Store, address: str, env: dict[str, str], attempt: int,
                      started: float) -> RunResult:
    cwd = prep.cwd if Path(prep.cwd).is_dir() else runs_dir(store) / prep.run_id
    cwd.mkdir(parents=True, exist_ok=True)
    prep = dataclasses.replace(prep, cwd=cwd, env={**env, **prep.env, "MLOPS_PARENT_PID": str(os.getpid())})
    current: dict[str, Any] = {"slot": None, "stopped": None}
    done = threading.Event()

    def watch() -> None:  # a run ended from outside (cancelled) loses its kernel at once
        while not done.wait(0.5):
            try:
                state = runs.state(store.db, prep.run_id)
            except Exception:
                continue
            if state is None or state[0] != RunStatus.RUNNING or state[1] != address:
                current["stopped"] = "cancelled while running on " + address
                slot = current["slot"]
                if slot is not None:
                    slot.hard_kill()
                return

    def finish(st: Store, run_id: str, status: RunStatus, error: str | None) -> bool:
        return dispatch.end_active(st.db, run_id, status, error, expect=(RunStatus.RUNNING,), worker=address)

    def on_slot(slot: Any) -> None:
        current["slot"] = slot
        if slot is not None and current["stopped"]:
            slot.hard_kill()

    watcher = threading.Thread(target=watch, name=f"mlops-watch-{prep.run_id[:8]}", daemon=True)
    watcher.start()
    try:
        slot = adopted_kernel(prep, store) or launch_kernel(prep, store)
        return execute_created(prep, store, slot, started=started, first_attempt=attempt, finish=finish,
                               on_slot=on_slot, stopped=lambda: current["stopped"])
    except Exception as exc:  # a broken run must not take the worker down; the store says why
        error = f"runner error on {address}: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        finish(store, prep.run_id, RunStatus.FAILED, error)
        return _result(prep, RunStatus.FAILED, error)
    finally:
        done.set()


def adopted_kernel(prep: PreparedRun, store: Store) -> KernelSlot | None:
    """This worker's warm kernel set up for the run, or None (no plugin, another kernel, a failed set-up)."""
    from .warm_plugin import worker_pool  # lazy: imports distributed

    pool = worker_pool()
    return adopt(pool, prep, store) if pool is not None else None

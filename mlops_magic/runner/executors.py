"""The executor seam: where prepared runs execute.

An executor takes :class:`~.prepare.PreparedRun` values and returns futures
of :class:`~.request.RunResult`. Runs share nothing but the store, so an
engine for a cluster only has to ship a prepared run (picklable) to a worker
that can open the same store URL. Two executors ship here:

* :class:`InlineExecutor` runs one after another in this process;
* :class:`LocalProcessExecutor` keeps N worker processes.

Both launch the kernel of the *next* run while the current one executes, so
kernel start-up is hidden; each kernel still serves exactly one run.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from ..entities import RunStatus
from ..store import Store, open_store
from .engine import import_papermill, register
from .execute import launch_kernel, run_prepared, unchanged_since
from .kernels import KernelSlot, kill_all
from .prepare import PreparedRun
from .request import RunResult


class Executor(ABC):
    """Runs prepared runs; ``run_all`` keeps input order in its results."""

    #: What runs record as their executor (``local``, ``local:N``, ``dask://HOST:PORT``).
    label: str = "local"

    @abstractmethod
    def submit(self, prep: PreparedRun) -> Future[RunResult]: ...

    def shutdown(self, wait: bool = True) -> None:
        """Release workers; pending runs finish first when ``wait``."""
        return None

    def reconcile(self) -> int:
        """End the runs recorded on this executor that it can no longer finish; how many it ended.

        Local executors have nothing to do: their runs die with this process or its workers, and the
        store's orphan reaping ends those. A cluster executor asks its cluster (see ``cluster.py``).
        """
        return 0

    def cancel_all(self, reason: str) -> None:
        """Stop waiting for every submitted run, ending each ``killed`` with ``reason`` where it still runs
        elsewhere. Local executors' runs stop with their processes (Ctrl-C reaches the workers too)."""
        return None

    def run_all(self, preps: Sequence[PreparedRun],
                on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
        futures = [self.submit(p) for p in preps]
        results = []
        for future in futures:
            result = future.result()
            if on_result:
                on_result(result)
            results.append(result)
        return results

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def _prefetch(prep: PreparedRun | None, store: Store) -> KernelSlot | None:
    """Start the kernel of a run that will execute next (not of one that will be skipped)."""
    if prep is None or (prep.request.if_changed and unchanged_since(store, prep)):
        return None
    try:
        return launch_kernel(prep, store)
    except Exception:  # the run itself will report the problem when it starts its own kernel
        return None


def _safe_run(prep: PreparedRun, store: Store, slot: KernelSlot | None, label: str = "local") -> RunResult:
    started = time.monotonic()
    try:
        return run_prepared(prep, store, slot, executor=label)
    except Exception as exc:  # a broken run must not take the batch (or the scheduler) down
        if slot is not None:
            slot.kill()
        return RunResult(run_id=prep.run_id, notebook=prep.recorded_notebook, status=RunStatus.FAILED,
                         error=f"runner error: {type(exc).__name__}: {exc}".splitlines()[0][:500],
                         duration=time.monotonic() - started)


class InlineExecutor(Executor):
    """One run after another in this process; ``run_all`` pre-starts the next kernel."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def submit(self, prep: PreparedRun) -> Future[RunResult]:
        future: Future[RunResult] = Future()
        future.set_result(_safe_run(prep, self.store, None))
        return future

    def run_all(self, preps: Sequence[PreparedRun],
                on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
        results: list[RunResult] = []
        slot = None
        for i, prep in enumerate(preps):
            if slot is None and (not prep.request.if_changed or not unchanged_since(self.store, prep)):
                slot = launch_kernel(prep, self.store)
            upcoming = _prefetch(preps[i + 1], self.store) if i + 1 < len(preps) else None
            result = _safe_run(prep, self.store, slot)
            slot = upcoming
            if on_result:
                on_result(result)
            results.append(result)
        return results


def _worker_main(store_url: str, jobs: Any, results: Any, label: str = "local") -> None:
    try:
        _serve_jobs(store_url, jobs, results, label)
    except KeyboardInterrupt:  # Ctrl-C reaches the workers too: their run is already marked killed

        kill_all()


def _serve_jobs(store_url: str, jobs: Any, results: Any, label: str) -> None:
    """A worker process: take a run, pre-start the kernel of the one after it, execute, report."""
    store = open_store(store_url)
    current: tuple[int, PreparedRun] | None = jobs.get()
    slot = _prefetch(current[1], store) if current else None
    while current is not None:
        try:
            upcoming = jobs.get(timeout=0.05)
        except queue.Empty:
            upcoming = ()  # nothing queued yet: fetch after this run
        next_slot = _prefetch(upcoming[1], store) if upcoming else None
        job_id, prep = current
        try:
            results.put((job_id, _safe_run(prep, store, slot, label), None))
        except BaseException:
            results.put((job_id, None, traceback.format_exc()))
            raise
        if upcoming == ():
            upcoming = jobs.get()
        current, slot = upcoming, next_slot


class LocalProcessExecutor(Executor):
    """N worker processes on this machine, each running one notebook at a time."""

    def __init__(self, store: Store, workers: int = 2) -> None:
        self.store = store
        self.workers = max(1, int(workers))
        self.label = f"local:{self.workers}"
        self._futures: dict[int, Future[RunResult]] = {}
        self._preps: dict[int, PreparedRun] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._procs: list[Any] = []
        self._collector: threading.Thread | None = None
        ctx_name = "fork" if "fork" in multiprocessing.get_all_start_methods() and \
            threading.active_count() == 1 else "spawn"
        self._ctx = multiprocessing.get_context(ctx_name)
        self._jobs: Any = None
        self._results: Any = None

    def _start(self) -> None:
        import_papermill()  # imported once here so forked workers start warm
        register()
        self._jobs = self._ctx.Queue()
        self._results = self._ctx.Queue()
        for _ in range(self.workers):
            proc = self._ctx.Process(  # type: ignore[attr-defined]
                target=_worker_main, args=(self.store.url, self._jobs, self._results, self.label), daemon=True)
            proc.start()
            self._procs.append(proc)
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        while True:
            try:
                item = self._results.get(timeout=1.0)
            except queue.Empty:
                if self._procs and not any(p.is_alive() for p in self._procs):
                    self._fail_pending("every worker process died")
                    return
                continue
            if item is None:
                return
            job_id, result, error = item
            with self._lock:
                future = self._futures.pop(job_id, None)
                self._preps.pop(job_id, None)
            if future is None:
                continue
            if result is not None:
                future.set_result(result)
            else:
                future.set_exception(RuntimeError(error or "worker failed"))

    def _fail_pending(self, reason: str) -> None:
        """Resolve what is left as killed (every worker died); the store ends those runs ``killed`` when
        the next tick or runs listing reaps orphans."""
        with self._lock:
            pending, self._futures = self._futures, {}
        for job_id, future in pending.items():
            prep = self._preps.pop(job_id, None)
            future.set_result(RunResult(run_id=prep.run_id if prep else "?" * 16,
                                        notebook=prep.recorded_notebook if prep else "?",
                                        status=RunStatus.KILLED, error=f"runner error: {reason}"))

    def submit(self, prep: PreparedRun) -> Future[RunResult]:
        with self._lock:
            if not self._procs:
                self._start()
            job_id = self._next_id
            self._next_id += 1
            future: Future[RunResult] = Future()
            self._futures[job_id] = future
            self._preps[job_id] = prep
        self._jobs.put((job_id, prep))
        return future

    def shutdown(self, wait: bool = True) -> None:
        if not self._procs:
            return
        for _ in self._procs:
            self._jobs.put(None)
        for proc in self._procs:
            proc.join(None if wait else 0.1)
            if proc.is_alive():
                proc.terminate()
        self._results.put(None)
        if self._collector is not None:
            self._collector.join(5)
        self._procs = []

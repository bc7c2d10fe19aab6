"""System metrics of the stages a kernel runs itself: one sampler thread per process, off the cell's path.

A kernel that owns its run (an interactive notebook, a script) samples its own process tree while each
stage runs (``tracking/system.py`` reads the tree). Starting a thread per stage and joining it, then
taking the stage's last sample on the cell's path, cost a stage cell about a millisecond; here one daemon
thread, started by the first sampled stage, serves every stage of the process:

- a stage starting hands the thread a :class:`Watch` and returns at once; the thread takes the stage's
  first sample :data:`FIRST_SAMPLE` seconds in, then one every interval, stamped with the innermost
  stage still running (a quick cell is not slowed by a sample taken while it runs: CPU time ticks in
  10 ms steps, so a stretch that short says nothing about cores anyway);
- a stage ending hands its watch back and returns at once; the thread takes the stage's last sample (a
  stage shorter than one interval has just that one), then sleeps until the next stage;
- between stages nothing is sampled, and the next stage counts CPU from its own start.

**When the last sample lands**: the session's store waits for it (:meth:`StageSampler.flush` is one of
the session's background writers, :meth:`Session.store <mlops_magic.tracking.session.Session.store>`),
so every read through the session (``%mlops show``, a gate, the next stage, the end of the run) sees the
stage's last sample. The writes that close the stage itself do not wait for it.

A headless run's kernel (attached to the runner's run) samples nothing: the runner samples the whole
kernel from outside (``runner/system.py``), and each stage's share is read by time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from ..store import Store
from .stage_hooks import StageContext
from .system import RSS, Gpus, ProcessTree, sampling_interval, take_sample

log = logging.getLogger("mlops_magic.system")

THREAD_NAME = "mlops-stage-sampler"
#: Seconds into a stage before its first sample (a shorter stage has only its last one).
FIRST_SAMPLE = 0.05


class Watch:
    """One stage being sampled: where its points go, and when the next one is due."""

    def __init__(self, store: Store, run_id: str, stage_id: int) -> None:
        self.store, self.run_id, self.stage_id = store, run_id, stage_id
        self.interval: float | None = None  # read by the thread at the first sample (config is a file read)
        self.due = time.monotonic() + FIRST_SAMPLE  # of the next sample
        self.samples = 0
        self.off = False  # sampling is off, or failed for this stage


class StageSampler:
    """The process's sampler of its own tree while stages run (see the module docstring)."""

    #: A read waits at most this long for a last sample (a stuck /proc read must not hang the kernel).
    FLUSH_TIMEOUT = 30.0

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._open: list[Watch] = []  # stages running, the innermost last
        self._closing: list[Watch] = []  # stages ended whose last sample is not written yet
        self._thread: threading.Thread | None = None
        self._steps: dict[str, int] = {}  # run id -> the next step of its system series
        self._gpus: Gpus | None = None

    @property
    def pending(self) -> int:
        """Stages ended whose last sample is not in the store yet (read without the lock)."""
        return len(self._closing)

    def watching(self) -> int:
        """Stages being sampled now."""
        return len(self._open)

    def begin(self, store: Store, run_id: str, stage_id: int) -> Watch:
        """Sample stage ``stage_id`` of ``run_id`` from now until :meth:`end`; returns without waiting."""
        if os.getpid() != self._pid:  # a forked child: the parent's thread did not come along
            self._reset()
        watch = Watch(store, run_id, stage_id)
        with self._cond:
            self._open.append(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return watch

    def end(self, watch: Watch) -> None:
        """The stage ended: its last sample is taken by the thread; returns without waiting for it."""
        with self._cond:
            if any(w is watch for w in self._open):
                self._open = [w for w in self._open if w is not watch]
                self._closing.append(watch)
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the last sample of every ended stage is in the store; False if ``timeout`` passed."""
        if not self._closing or threading.current_thread() is self._thread:
            return True
        if os.getpid() != self._pid:
            self._reset()
            return True
        if self._thread is not None and not self._thread.is_alive():  # it died: nothing will land
            with self._cond:
                self._closing = []
            return True
        with self._cond:
            return self._cond.wait_for(lambda: not self._closing,
                                       self.FLUSH_TIMEOUT if timeout is None else timeout)

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        tree: ProcessTree | None = None
        while True:
            with self._cond:
                while True:
                    if self._closing:
                        watch, last = self._closing[0], True
                        break
                    if not self._open:
                        tree = None  # idle: the next stage's CPU counts from its own start
                        self._cond.wait()
                        continue
                    watch, last = self._open[-1], False
                    delay = watch.due - time.monotonic()
                    if delay <= 0:
                        break
                    self._cond.wait(None if delay == float("inf") else delay)
            try:
                tree = self._sample(watch, tree, last=last)
            finally:
                if last:
                    with self._cond:
                        self._closing = [w for w in self._closing if w is not watch]
                        self._cond.notify_all()

    def _sample(self, watch: Watch, tree: ProcessTree | None, *, last: bool) -> ProcessTree | None:
        """One sample of ``watch``'s stage (its last when ``last``); the tree read, to keep the CPU baseline."""
        if watch.interval is None and not watch.off:
            watch.interval = sampling_interval(watch.store)
            watch.off = watch.interval is None
        if watch.off:
            watch.due = float("inf")
            return tree
        assert watch.interval is not None
        try:
            if tree is None:
                tree = ProcessTree(self._pid)
            if self._gpus is None:
                self._gpus = Gpus()
            step = self._steps.get(watch.run_id)
            if watch.samples == 0 or step is None:  # the run's series may have grown elsewhere (before)
                stored = watch.store.last_step(watch.run_id, RSS)
                step = max(step or 0, 0 if stored is None else stored + 1)
            if take_sample(watch.store, watch.run_id, watch.stage_id, tree, self._gpus, step or 0):
                self._steps[watch.run_id] = (step or 0) + 1
            watch.samples += 1
        except Exception as exc:  # sampling never fails the stage; say so once in the log
            log.warning("mlops: system metrics of run %s stopped: %s", watch.run_id[:8], exc)
            watch.off = True
        watch.due = float("inf") if watch.off or last else time.monotonic() + watch.interval
        return tree


_sampler: StageSampler | None = None
_sampler_lock = threading.Lock()


def stage_sampler() -> StageSampler:
    """This process's stage sampler (its thread starts with the first sampled stage)."""
    global _sampler
    with _sampler_lock:
        if _sampler is None:
            _sampler = StageSampler()
        return _sampler


class SystemObserver:
    """A stage observer sampling this process's tree while each stage of a run this kernel owns runs.

    Registered first, so it is finished last: a stage's last sample covers what the other observers do
    at its end (autolog writing its records and models, the stage cache saving its entry).
    """

    name = "system"

    def __init__(self, session: Any) -> None:
        self.session = session

    def stage_started(self, ctx: StageContext) -> None:
        if ctx.stage.run_id == self.session.attached_run_id:
            return
        ctx.state[self.name] = stage_sampler().begin(self.session.store, ctx.stage.run_id, ctx.stage.id)

    def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None:
        watch = ctx.state.pop(self.name, None)
        if watch is not None:
            stage_sampler().end(watch)


def ensure_registered(session: Any) -> None:
    """Sample system metrics around ``session``'s stages (once; a second call changes nothing); the
    session's reads wait for each stage's last sample."""
    if SystemObserver.name not in session.observers.names():
        session.add_observer(SystemObserver(session), first=True)
        session.wait_on(stage_sampler())

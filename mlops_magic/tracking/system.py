"""What a run costs the machine: CPU, memory and GPU of the process tree running the notebook, sampled.

A :class:`SystemSampler` is a daemon thread that, every few seconds, reads the CPU time and resident
memory of a process and all its descendants (psutil; a kernel's ``multiprocessing`` or joblib workers
count) and, when NVML answers (``pip install "mlops-magic[gpu]"``), each GPU's utilisation and the
memory the tree's processes hold on it, and logs them as the run's ``system.*`` metric series through
the store (the points carry the stage when a stage is being sampled). It samples only between
``start()`` and ``stop()``: the runner brackets a headless run's execution (``runner/system.py``).
``stop()`` is idempotent and always ends the thread. A kernel that owns its run samples its own stages
with one thread for its whole life (``tracking/stage_sampling.py``), with the same readers.

Series (one point per sample): ``system.cpu`` (cores busy since the previous sample: 1.0 is one core),
``system.rss`` (bytes), ``system.gpu.N.util`` (percent), ``system.gpu.N.mem`` (bytes).
:mod:`.system_summary` turns them into peaks and averages.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from ..store import Store
from ..store.project import project_config

log = logging.getLogger("mlops_magic.system")

INTERVAL_ENV = "MLOPS_SYSTEM_METRICS_INTERVAL"
DEFAULT_INTERVAL = 2.0
MIN_INTERVAL = 0.05
CPU, RSS = "system.cpu", "system.rss"


def sampling_interval(store: Store | None = None) -> float | None:
    """Seconds between samples: ``MLOPS_SYSTEM_METRICS_INTERVAL`` (``0`` or ``off`` turns sampling off), else
    ``"system_metrics": {"interval": N}`` (or ``false``) in ``.mlops/config.json``, else 2 s."""
    text = os.environ.get(INTERVAL_ENV, "").strip().lower()
    value: Any = text or None
    if value is None:
        try:
            config = project_config(store).get("system_metrics")
        except Exception:  # an unreadable config is reported by the commands that need it
            config = None
        value = config.get("interval") if isinstance(config, dict) else config
    if value is None or value is True:
        return DEFAULT_INTERVAL
    if value is False or str(value) in ("off", "false", "no", "0", "0.0"):
        return None
    try:
        return max(MIN_INTERVAL, float(value))
    except (TypeError, ValueError):
        log.warning("mlops: %s=%r is not a number of seconds; sampling every %g s", INTERVAL_ENV, value,
                    DEFAULT_INTERVAL)
        return DEFAULT_INTERVAL


def descendant_pids(pid: int, proc: str = "/proc") -> list[int] | None:
    """The pids of ``pid``'s descendants, breadth-first, from ``/proc/PID/task/TID/children`` (Linux with
    CONFIG_PROC_CHILDREN); None when ``pid`` has no such file (not Linux, an older kernel, ``pid`` gone).

    Why not psutil's ``children(recursive=True)``: it reads every process's ``/proc/PID/stat`` on the
    machine, and a sampler thread in a kernel running a Python loop waits a GIL switch interval after each
    read; this reads only the tree's own files. A process that ends mid-walk is skipped, its subtree too
    (its children are reparented out of the tree), as psutil skips it.
    """
    if not os.path.exists(f"{proc}/{pid}/task/{pid}/children"):
        return None
    tree, seen = [pid], {pid}
    for parent in tree:  # grows while it is walked: breadth-first
        for child in _children(parent, proc):
            if child not in seen:  # a pid cannot recur in a tree read at once, but a walk takes time
                seen.add(child)
                tree.append(child)
    return tree[1:]


def _children(pid: int, proc: str) -> list[int]:
    """The children of every thread of ``pid`` (each thread lists the processes it forked); none once it ended."""
    tasks = f"{proc}/{pid}/task"
    try:
        threads = os.listdir(tasks)
    except OSError:
        return []
    out: list[int] = []
    for tid in threads:
        try:
            with open(f"{tasks}/{tid}/children", "rb") as f:
                out += map(int, f.read().split())
        except OSError:  # the thread ended
            continue
    return out


class ProcessTree:
    """CPU cores busy and resident memory of a process and its descendants, between two reads."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid)
        self._cpu: dict[tuple[int, float], float] = {}
        self._last: float | None = None

    def processes(self) -> list[Any]:
        """The root and its descendants now, as psutil's ``children(recursive=True)`` finds them (the root
        gone or its pid reused: none), listed through :func:`descendant_pids` where the kernel has it."""
        psutil = self._psutil
        try:
            pids = descendant_pids(self.root.pid)
            if pids is None:
                return [self.root, *self.root.children(recursive=True)]
            if not self.root.is_running():
                return []
        except psutil.Error:
            return []
        found = [self.root]
        for pid in pids:
            try:
                child = psutil.Process(pid)
            except psutil.NoSuchProcess:  # ended since it was listed
                continue
            if child.create_time() >= self.root.create_time():  # else its pid was reused: as psutil's check
                found.append(child)
        return found

    def read(self) -> tuple[float | None, int, list[int]]:
        """(cores busy since the previous read (None at the first), RSS bytes, the pids now in the tree).

        A process seen before counts its CPU time since then; one born since counts all of its own.
        """
        psutil = self._psutil
        busy, rss, seen, pids = 0.0, 0, {}, []
        for process in self.processes():
            try:
                with process.oneshot():
                    if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped: holds nothing
                        continue
                    key = (process.pid, process.create_time())
                    times = process.cpu_times()
                    memory = process.memory_info().rss
            except psutil.Error:  # gone or not ours to read between listing and reading
                continue
            cpu = times.user + times.system
            previous = self._cpu.get(key)
            if previous is not None:
                busy += max(0.0, cpu - previous)
            elif self._last is not None:
                busy += cpu
            seen[key] = cpu
            rss += memory
            pids.append(process.pid)
        now = time.monotonic()
        # CPU times tick in 10 ms steps: a stretch much shorter than that says nothing about cores, so
        # a short one keeps its start and the next read measures from there (a fast interval still has CPU)
        if self._last is not None and now - self._last < 0.1:
            return None, rss, pids
        cores = None if self._last is None else busy / (now - self._last)
        self._cpu, self._last = seen, now
        return cores, rss, pids


class Gpus:
    """Per GPU: utilisation and the memory the given processes hold (device memory in use when the driver
    does not list processes). Empty without pynvml or a driver: then nothing is sampled."""

    #: pynvml missing in this process: known after the first look (each failed import costs ~0.3 ms,
    #: and a sampler starts with every stage)
    _absent = False

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        if Gpus._absent:
            return
        try:
            import pynvml  # lazy: optional, and only where a stage is sampled
        except ImportError:
            Gpus._absent = True
            return
        try:
            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # no driver, no device: CPU and memory only
            self.handles = []

    def read(self, pids: list[int]) -> list[tuple[str, float]]:
        rows: list[tuple[str, float]] = []
        wanted = set(pids)
        for index, handle in enumerate(self.handles):
            try:
                util = float(self.nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                processes = self.nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                if processes:
                    memory = float(sum(p.usedGpuMemory or 0 for p in processes if p.pid in wanted))
                else:
                    memory = float(self.nvml.nvmlDeviceGetMemoryInfo(handle).used)
            except Exception:
                continue
            rows += [(f"system.gpu.{index}.util", util), (f"system.gpu.{index}.mem", memory)]
        return rows


def take_sample(store: Store, run_id: str, stage_id: int | None, tree: ProcessTree, gpus: Gpus, step: int) -> bool:
    """Read ``tree`` (and the GPUs) once and write the points at ``step``; False when the process is gone
    (nothing is said about that stretch)."""
    cores, rss, pids = tree.read()
    if not pids or not rss:
        return False
    rows = [(RSS, float(rss), step)] + ([(CPU, round(cores, 4), step)] if cores is not None else [])
    rows += [(key, value, step) for key, value in gpus.read(pids)]
    store.log_metrics(run_id, rows, time.time(), stage_id)
    return True


class SystemSampler:
    """Samples a process tree into a run's ``system.*`` series every ``interval`` seconds until stopped."""

    def __init__(self, store: Store, run_id: str, pid: int, interval: float, *, stage_id: int | None = None) -> None:
        self.store, self.run_id, self.pid, self.interval, self.stage_id = store, run_id, pid, interval, stage_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tree: ProcessTree | None = None
        self._gpus: Gpus | None = None
        self._step = 0
        self._failed = False
        self.samples = 0

    def start(self) -> SystemSampler:
        """Start sampling; the first sample is taken by the thread, so a stage does not wait for it."""
        self._tree = ProcessTree(self.pid)
        self._thread = threading.Thread(target=self._loop, name=f"mlops-system-{self.run_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            self._gpus = Gpus()
            last = self.store.last_step(self.run_id, RSS)  # a kernel's later stages continue the same series
            self._step = 0 if last is None else last + 1
        except Exception as exc:
            self._fail(exc)
            return
        if not self._stop.is_set():  # (stopped already: ``stop`` takes the one sample of a short stage)
            self._sample()
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        try:
            assert self._tree is not None and self._gpus is not None
            if take_sample(self.store, self.run_id, self.stage_id, self._tree, self._gpus, self._step):
                self._step += 1
                self.samples += 1
        except Exception as exc:  # sampling never fails the run; say so once in the log
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if not self._failed:
            log.warning("mlops: system metrics of run %s stopped: %s", self.run_id[:8], exc)
        self._failed = True
        self._stop.set()

    def stop(self) -> None:
        """End the thread (waiting for a sample in progress) and take a last sample of the final stretch."""
        if self._stop.is_set() and self._thread is None:
            return
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=max(5.0, self.interval * 2))
            if not self._failed:
                self._sample()


def start_sampler(store: Store, run_id: str, pid: int | None, *, stage_id: int | None = None) -> SystemSampler | None:
    """A started sampler of ``pid``'s tree, or None when sampling is off, psutil is missing or ``pid`` is gone."""
    interval = sampling_interval(store)
    if interval is None or pid is None:
        return None
    try:
        return SystemSampler(store, run_id, pid, interval, stage_id=stage_id).start()
    except Exception as exc:
        log.warning("mlops: no system metrics for run %s: %s", run_id[:8], exc)
        return None

"""A real Dask cluster on 127.0.0.1 for the cluster tests: one scheduler, two single-thread workers.

Every process is started here and stopped here by pid (nanny, worker and their children, recorded
with psutil, including workers a nanny restarted); nothing is ever killed by name. Waits are bounded
polls. Worker ``gpu`` advertises ``GPU=1``; worker ``cpu`` advertises nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from _support import free_port, python_env

DASK = str(Path(sys.executable).with_name("dask"))


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


@dataclass
class LocalCluster:
    port: int
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)  # every pid started, directly or by a nanny
    worker_env: dict[str, str] = field(default_factory=dict)  # e.g. the bucket's endpoint and credentials
    worker_dirs: Path | None = None  # each worker in a folder of its own (cwd and TMPDIR), else the test's cwd

    @property
    def url(self) -> str:
        return f"dask://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str], *, worker: bool = False) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        env = python_env()
        env.pop("MLOPS_EXECUTOR", None)
        env.pop("MLOPS_STORE", None)
        cwd = None
        if worker:
            env.update(self.worker_env)
            if self.worker_dirs is not None:
                cwd = self.worker_dirs / name
                cwd.mkdir(parents=True, exist_ok=True)
                env["TMPDIR"] = str(cwd)
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=cwd)
        self.procs[name] = proc
        self.seen.add(proc.pid)

    def start(self) -> LocalCluster:
        self._spawn("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--no-dashboard"])
        for name, extra in (("gpu", ["--resources", "GPU=1"]), ("cpu", [])):
            self._spawn(name, [DASK, "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                               "--no-dashboard", "--name", name, *extra], worker=True)
        wait_for(lambda: len(self.workers()) == 2, 60, "two Dask workers to join")
        self.record_children()
        return self

    def client(self) -> Any:
        from mlops_magic.runner.cluster import connect

        return connect(self.url, timeout=20)

    def workers(self) -> dict[str, dict[str, Any]]:
        """name → {address, pid, resources} of the workers the scheduler knows now."""
        try:
            info = self.client().scheduler_info(n_workers=-1)["workers"]
        except Exception:
            return {}
        return {w["name"]: {"address": a, "resources": w.get("resources") or {}} for a, w in info.items()}

    def record_children(self) -> None:
        for proc in self.procs.values():
            try:
                self.seen.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))
            except psutil.NoSuchProcess:
                pass

    def worker_pid(self, name: str) -> int:
        """The worker process (the nanny's child) of worker ``name``."""
        address = self.workers()[name]["address"]
        pid = self.client().run(os.getpid, workers=[address])[address]
        assert pid and pid != self.procs[name].pid
        self.seen.add(pid)
        return int(pid)

    def stop(self) -> None:
        from mlops_magic.runner import cluster

        self.record_children()
        for address, client in list(cluster._clients.items()):
            try:
                client.close(timeout=5)
            except Exception:
                pass
            cluster._clients.pop(address, None)
        for name in ("gpu", "cpu", "scheduler"):  # nannies first: they take their workers down
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for pid in sorted(self.seen):  # whatever outlived its parent (a nanny's worker, a kernel)
            try:
                p = psutil.Process(pid)
                if p.status() != psutil.STATUS_ZOMBIE:
                    p.kill()
            except psutil.NoSuchProcess:
                pass


def start_cluster(log_dir: Path, *, worker_env: dict[str, str] | None = None,
                  worker_dirs: Path | None = None) -> Iterator[LocalCluster]:
    log_dir.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(port=free_port(), log_dir=log_dir, worker_env=dict(worker_env or {}),
                           worker_dirs=worker_dirs)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def notebook(path: Path, cells: list[str], tags: dict[int, list[str]] | None = None) -> Path:
    """A tiny notebook of code ``cells`` (cell ``i`` tagged ``tags[i]``)."""
    import json

    nb = {
        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {"tags": (tags or {}).get(i, [])},
                   "source": src, "outputs": [], "execution_count": None} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def kernels_of(pid: int) -> list[int]:
    """Kernel processes (ipykernel) below process ``pid``."""
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)
                if "ipykernel" in " ".join(c.cmdline())]
    except psutil.NoSuchProcess:
        return []


__all__ = ["LocalCluster", "free_port", "kernels_of", "notebook", "os", "start_cluster", "wait_for"]

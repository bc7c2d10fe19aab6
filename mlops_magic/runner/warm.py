"""One warm kernel per cluster worker: kernel start-up leaves the path of a cluster run.

Kernel start-up (~0.6 s here) is most of a small run. On one machine the executors launch the next
run's kernel while the current one executes; a cluster task cannot, because its kernel must start
where the task lands. So each worker process keeps one kernel booted (:class:`WarmKernel`, kept by
the worker plugin in ``warm_plugin.py``), started with the worker's environment and nothing of any
run (mlops-magic's modules imported, the extension not loaded). A task *adopts* it (:func:`adopt`):
its run's ``MLOPS_*`` variables and working directory are set in the kernel, then the extension is
loaded, as a fresh kernel's start-up line would; and another kernel boots for the next task. A kernel
still serves exactly one run and is killed after it.

The kernel is not adopted (the run starts a fresh one, as before) when the run's environment differs
from the warm kernel's in anything but ``MLOPS_*`` variables (``PYTHONPATH``, thread counts and the
like take effect only at interpreter start), when it asks for another kernel, or when the warm
kernel died. No mlops-magic module reads the environment at import (``tests/test_warm_kernels.py``
checks), so importing them before the run's variables are set changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from ..store import Store
from .execute import kernel_env, runs_dir, write_input
from .kernels import AUTOLOAD, KernelSlot, resolve_kernel_name
from .prepare import PreparedRun

log = logging.getLogger("mlops_magic.runner")

#: Seconds to wait for a warm kernel that is still booting, and for its set-up to run.
ADOPT_TIMEOUT = 60.0


def warm_env() -> dict[str, str]:
    """The environment of a kernel booted for no run yet: the worker's, as ``kernel_env`` starts from."""
    env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", "MLOPS_RUN_ID")}
    env["MLOPS_PARENT_PID"] = str(os.getpid())  # it exits with its worker, as a run's kernel does
    return env


class WarmKernel:
    """At most one booted, unused kernel, replaced in the background each time one is taken."""

    def __init__(self, folder: Path, kernel_name: str = "python3", native: bool = False) -> None:
        self.folder = folder
        self.kind = (resolve_kernel_name(kernel_name), native)
        self._slot: KernelSlot | None = None
        self._booting = False
        self._closed = False
        self._count = 0
        self._lock = threading.Lock()

    def refill(self) -> None:
        """Boot a kernel in the background unless one is ready or booting."""
        with self._lock:
            if self._closed or self._booting or self._slot is not None:
                return
            self._booting = True
            self._count += 1
            kind, count = self.kind, self._count
        threading.Thread(target=self._boot, args=(kind, count), name="mlops-warm-kernel", daemon=True).start()

    def _boot(self, kind: tuple[str, bool], count: int) -> None:
        slot: KernelSlot | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            slot = KernelSlot(kind[0], warm_env(), self.folder, self.folder / f"warm-kernel-{os.getpid()}-{count}.log",
                              native=kind[1], autoload=False).launch()
        except Exception as exc:  # no warm kernel: runs start their own, as without the plugin
            log.warning("could not start a warm kernel: %s", exc)
        with self._lock:
            self._booting = False
            if slot is not None and (self._closed or self._slot is not None):
                slot.kill()
            elif slot is not None:
                self._slot = slot

    def take(self, kernel_name: str, native: bool) -> KernelSlot | None:
        """The warm kernel if it is of this kind and alive (it is then the caller's); a new one boots."""
        wanted = (resolve_kernel_name(kernel_name), native)
        with self._lock:
            slot, self._slot = self._slot, None
            stale = slot is not None and slot.kind != wanted
            self.kind = wanted  # the next one is booted for what the last run asked for
        if slot is not None and (stale or not slot.alive()):
            slot.kill()
            slot = None
        self.refill()
        return slot

    def close(self) -> None:
        with self._lock:
            self._closed = True
            slot, self._slot = self._slot, None
        if slot is not None:
            slot.kill()


def setup_code(env: dict[str, str], unset: list[str], cwd: str) -> str:
    """What an adopted kernel runs first: its run's variables and folder, then mlops-magic's start-up line.

    The values travel as one JSON string literal (``repr`` of the text), parsed by ``json.loads`` in the
    kernel: nothing of them is ever code.
    """
    data = json.dumps({"set": env, "unset": unset, "cwd": cwd})
    return ("(lambda o, d: (o.environ.update(d['set']), [o.environ.pop(k, None) for k in d['unset']], "
            f"o.chdir(d['cwd'])))(__import__('os'), __import__('json').loads({data!r})) and None\n{AUTOLOAD}")


def adopt(pool: WarmKernel, prep: PreparedRun, store: Store) -> KernelSlot | None:
    """The pool's warm kernel set up for this run, or None when the run needs a fresh one."""
    slot = pool.take(prep.kernel, prep.native_kernel)
    if slot is None:
        return None
    input_path = write_input(prep, store)
    env = kernel_env(prep, store, input_path)
    changed = {k: v for k, v in env.items() if slot.env.get(k) != v}
    unset = [k for k in slot.env if k not in env]
    if any(not k.startswith("MLOPS_") for k in [*changed, *unset]):
        slot.kill()
        return None
    try:
        _run_silently(slot, setup_code(changed, unset, str(prep.cwd)))
    except Exception as exc:
        log.warning("a warm kernel could not be set up for run %s (%s); starting a fresh one", prep.run_id[:8], exc)
        slot.kill()
        return None
    slot.env, slot.cwd = env, prep.cwd
    _move_log(slot, runs_dir(store) / prep.run_id / "kernel.log")
    return slot


def _run_silently(slot: KernelSlot, code: str) -> None:
    from jupyter_client.blocking import BlockingKernelClient  # lazy: only a worker adopting a kernel

    client = BlockingKernelClient()
    client.load_connection_info(slot.km.get_connection_info())
    client.start_channels()
    try:
        client.wait_for_ready(timeout=ADOPT_TIMEOUT)
        reply = client.execute_interactive(code, silent=True, store_history=False, timeout=ADOPT_TIMEOUT)
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename', 'error')}: {content.get('evalue', '')}".strip())
    finally:
        client.stop_channels()


def _move_log(slot: KernelSlot, target: Path) -> None:
    """The kernel's output file becomes the run's ``kernel.log`` (the kernel keeps writing to it)."""
    if slot.log_path is None:
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(slot.log_path, target)
        slot.log_path = target
    except OSError:  # another file system: the run's errors quote the log where it is
        pass

"""Kernels for headless runs: started early, used by exactly one run, killed when done.

Kernel start-up (~0.5 s) dominates small runs, so an executor may *launch*
the kernel of its next run while the current one executes: the launch only
spawns the process, which boots in the background. Each kernel is started
with its run's environment (``MLOPS_RUN_ID`` …) and working directory, so no
state is ever shared between runs. Once the executed notebook is saved the
kernel is killed rather than asked to exit: a polite shutdown sometimes
waits seconds for a kernel that will not go.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from ..errors import ExecutionError
from .engine import cell_id_client_class

#: Loads the extension at kernel start without binding a name and without marking it loaded, so a
#: notebook's own ``%load_ext mlops_magic`` stays silent and a notebook that only uses ``mlops:KIND``
#: tags (or forgot ``%load_ext``) still records its stages.
AUTOLOAD = "__import__('mlops_magic').load_ipython_extension(get_ipython())"


#: A warm kernel (``warm.py``) imports mlops_magic's IPython side ahead of its run (~0.1 s), binding no name;
#: no module of it reads the environment at import, so the run's variables, set later, are the ones used.
PRELOAD = "__import__('mlops_magic.ipython.extension') and None"


#: With ``MLOPS_PARENT_PID`` in its environment (cluster workers set it) the kernel exits when that
#: process dies, so a worker killed mid-run never leaves its notebook executing on its own.
WATCH_PARENT = "__import__('mlops_magic.runner.kernels', fromlist=['watch_parent']).watch_parent()"


#: As nbclient (so papermill) starts its IPython kernels: the history lives in memory. A notebook may rely
#: on it, and concurrent headless kernels must not share (and lock) the user's on-disk history database.
IN_MEMORY_HISTORY = "--HistoryManager.hist_file=:memory:"


def autoload_arguments(argv: list[str], env: dict[str, str] | None = None, autoload: bool = True) -> list[str]:
    """Extra kernel arguments that load mlops_magic and keep the history in memory, for IPython kernels only.

    ``autoload=False`` only imports mlops_magic: a warm kernel (``warm.py``) loads it once it knows its run.
    """
    if any("ipykernel" in part for part in argv):
        lines = [AUTOLOAD if autoload else PRELOAD] + ([WATCH_PARENT] if (env or {}).get("MLOPS_PARENT_PID") else [])
        return [IN_MEMORY_HISTORY] + [f"--InteractiveShellApp.exec_lines={line}" for line in lines]
    return []


def resolve_kernel_name(name: str) -> str:
    """The kernelspec a kernel name means, as jupyter_client's ``KernelManager`` resolves it (so as
    papermill runs it): ``python`` is the native ``python3`` kernel; any other name is looked up as given
    (the kernelspec manager ignores its case)."""
    from jupyter_client.kernelspec import NATIVE_KERNEL_NAME

    return NATIVE_KERNEL_NAME if name == "python" else name


#: Kernels launched and not yet killed, so an interrupted runner (Ctrl-C) can leave none behind,
#: including one pre-started for a run that never began.
_live: set[KernelSlot] = set()


def kill_all() -> None:
    """Kill every kernel this process launched and has not killed yet."""
    for slot in list(_live):
        slot.kill()


def native_kernel_spec() -> Any:
    """A kernelspec for the ipykernel of the interpreter running this code (mlops-magic's own)."""
    import sys

    from jupyter_client.kernelspec import KernelSpec

    return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                      display_name="Python 3 (mlops-magic)", language="python", metadata={})
def watch_parent(interval: float = 0.25) -> None:
    """In a kernel: exit at once when the process named by ``MLOPS_PARENT_PID`` is no longer our parent."""
    import threading
    import time

    text = os.environ.get("MLOPS_PARENT_PID", "")
    if not text.isdigit():
        return
    parent = int(text)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(137)

    threading.Thread(target=watch, name="mlops-watch-parent", daemon=True).start()


class KernelSlot:
    """One kernel process reserved for one run."""

    def __init__(self, kernel_name: str | None, env: dict[str, str], cwd: Path, log_path: Path | None,
                 native: bool = False, autoload: bool = True) -> None:
        self.kernel_name = resolve_kernel_name(kernel_name or "python3")
        self.native = native  # this interpreter's ipykernel, not a kernelspec found by name
        self.autoload = autoload  # mlops_magic loaded at start (a warm kernel loads it when adopted)
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.km: Any = None
        self._log: Any = None

    def launch(self) -> KernelSlot:
        from jupyter_client import AsyncKernelManager
        from jupyter_client.kernelspec import NoSuchKernel
        from jupyter_core.utils import run_sync

        try:
            km = AsyncKernelManager(kernel_name=self.kernel_name)
            km.client_factory = cell_id_client_class()
            if self.native:
                km._kernel_spec = native_kernel_spec()
            _ = km.kernel_spec  # resolve now: an unknown kernel is a usage error, not a failed run
        except NoSuchKernel:
            from jupyter_client.kernelspec import KernelSpecManager

            names = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none installed"
            raise ExecutionError(f"no Jupyter kernel named {self.kernel_name!r}; installed: {names}") from None
        stream: Any = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = stream = open(self.log_path, "ab")  # noqa: SIM115 - closed in kill()
        run_sync(km.start_kernel)(env=self.env, cwd=str(self.cwd), stdout=stream, stderr=stream,
                                  extra_arguments=autoload_arguments(km.kernel_spec.argv if km.kernel_spec else [],
                                                                     self.env, self.autoload))
        self.km = km
        _live.add(self)
        return self

    @property
    def kind(self) -> tuple[str, bool]:
        """(kernelspec name, native): what a run asks for when it could use this kernel."""
        return self.kernel_name, self.native

    @property
    def pid(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def alive(self) -> bool:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is not None and process.poll() is None

    def hard_kill(self) -> None:
        """SIGKILL the kernel process; safe from any thread (the run's watchdog uses it)."""
        pid = self.pid
        if pid is not None and self.alive():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """Kill the kernel and free its connection files; never waits for a polite exit."""
        from jupyter_core.utils import run_sync

        _live.discard(self)
        if self.km is not None:
            self.hard_kill()
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # already gone: nothing to free but files
                pass
            try:
                run_sync(self.km.cleanup_resources)()
            except Exception:
                pass
            self.km = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 5) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        kept = [ln for ln in text.splitlines() if ln.strip() and "without encryption" not in ln]
        return "\n".join(kept[-lines:])

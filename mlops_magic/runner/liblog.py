"""Library noise off the runner's stderr: papermill's, nbclient's and asyncio's own lines.

The runner prints one line per outcome. papermill and nbclient log their own ("Kernel died while
waiting for execute reply.", "Executing notebook with kernel: python3"): those go to the run's
``runner.log``. asyncio reports nbclient's cell task, left pending when the runner kills a kernel, as
"Task exception was never retrieved" with a traceback when the loop closes: that is dropped.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any


class _DropDeadKernelTasks:
    """asyncio reports nbclient's cell task, left pending when we kill the kernel, at loop close.

    Only those (an nbclient or jupyter_client error, or the task itself being nbclient's): a Jupyter
    server running run-now shares the asyncio logger, and its own lost tasks must still be reported.
    """

    def filter(self, record: Any) -> bool:
        text = str(record.msg)
        if not text.startswith(("Task exception was never retrieved", "Task was destroyed")):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        origin = type(exc).__module__ if exc is not None else ""
        return not (origin.startswith(("nbclient", "jupyter_client")) or "nbclient" in text)


def quiet_asyncio() -> None:
    aio = logging.getLogger("asyncio")
    if not any(isinstance(f, _DropDeadKernelTasks) for f in aio.filters):
        aio.addFilter(_DropDeadKernelTasks())


class LibraryLog:
    """papermill's and nbclient's log lines ("Kernel died while waiting for execute reply.") go to the
    run's ``runner.log``, not around the runner's own one-line outcome on stderr."""

    def __init__(self, path: Path) -> None:
        quiet_asyncio()
        self.loggers = [logging.getLogger(n) for n in ("papermill", "nbclient", "traitlets")]
        self.handler: logging.Handler | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handler = logging.FileHandler(path, encoding="utf-8", delay=True)
            self.handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        except OSError:
            self.handler = logging.NullHandler()
        with _capture_lock:  # runs in threads (run-now) share the loggers: save and restore once
            global _captures, _saved
            if _captures == 0:
                _saved = [(lg.propagate, lg.level) for lg in self.loggers]
                for lg in self.loggers:
                    lg.propagate = False
                    if lg.level == logging.NOTSET:
                        lg.setLevel(logging.INFO)
            _captures += 1
            for lg in self.loggers:
                lg.addHandler(self.handler)

    def close(self) -> None:
        global _captures
        assert self.handler is not None
        with _capture_lock:
            for lg in self.loggers:
                lg.removeHandler(self.handler)
            _captures -= 1
            if _captures == 0:
                for lg, (propagate, level) in zip(self.loggers, _saved):
                    lg.propagate, lg.level = propagate, level
        self.handler.close()


_capture_lock = threading.Lock()
_captures = 0
_saved: list[tuple[bool, int]] = []

"""Who and which process writes: the user a change is recorded under, and whether a process still runs
(how the store tells a crashed writer's leftovers from live work).

Runs left ``running``, scheduler claims and half-written uploads all carry their host and pid.
"""

from __future__ import annotations

import getpass
import os
import socket


def current_user() -> str:
    """Who this process acts for: ``MLOPS_USER``, else ``JUPYTERHUB_USER`` (a hub's single-user server and its
    kernels), else the OS user. Runs, alias moves and schedule changes record it; it is a label people
    read and filter on, not an authentication."""
    for var in ("MLOPS_USER", "JUPYTERHUB_USER"):
        value = os.environ.get(var, "").strip()
        if value:
            return value[:200]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (a container's arbitrary uid)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def who() -> str:
    """:func:`current_user` at this host (``alice@build-01``), for audit lines people read in an alert; a
    ``MLOPS_USER`` that already names a host is kept as it is."""
    user = current_user()
    return user if "@" in user else f"{user}@{socket.gethostname()}"


def pid_alive(pid: int) -> bool:
    """Whether a process of this host still runs (a zombie counts as gone)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


_started: float | None = None


def process_started() -> float:
    """When this process started (epoch seconds): a kernel follows only renames made after it began."""
    global _started
    if _started is None:
        try:
            with open("/proc/self/stat", encoding="ascii") as fh:
                ticks = int(fh.read().rsplit(") ", 1)[1].split()[19])
            with open("/proc/stat", encoding="ascii") as fh:
                boot = next(float(line.split()[1]) for line in fh if line.startswith("btime "))
            _started = boot + ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, StopIteration):
            import time  # lazy: only where /proc is missing

            _started = time.time()  # not /proc: the first time anyone asked is the best we know
    return _started

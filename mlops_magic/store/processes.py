"""Whether a process still runs: how the store tells a crashed writer's leftovers from live work.

Runs left ``running``, scheduler claims and half-written uploads all carry their host and pid.
"""

from __future__ import annotations

import os


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

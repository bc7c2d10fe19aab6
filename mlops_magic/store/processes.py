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

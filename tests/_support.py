"""Helpers the test modules import (pytest fixtures live in conftest.py)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def python_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python that imports this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def failing_subcommand(ctx: object, args: object) -> None:
    """A %mlops handler with a bug, to check the magic still answers in one line."""
    raise KeyError("internal detail")


def stop_group(process: object, first: int | None = None) -> None:
    """End a server started with ``start_new_session=True`` and all its children: ``first`` (SIGTERM by
    default), then SIGKILL if it is still there after 30 s."""
    import signal
    import subprocess

    assert isinstance(process, subprocess.Popen)
    os.killpg(process.pid, first or signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

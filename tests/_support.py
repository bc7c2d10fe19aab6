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


def install_tiny_package(root: Path, version: str, *, record: bool = True) -> None:
    """``tinypkg`` (``K = 1``) installed the way pip does: the module and its ``tinypkg-VERSION.dist-info``
    side by side in ``root`` (put on ``sys.path``); calling it again replaces the dist-info, as an upgrade
    does. ``record``: the dist-info names the module in RECORD (else in ``top_level.txt``)."""
    (root / "tinypkg").mkdir(parents=True, exist_ok=True)
    (root / "tinypkg" / "__init__.py").write_text("K = 1\n")
    for old in root.glob("tinypkg-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = root / f"tinypkg-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tinypkg\nVersion: {version}\n")
    if record:
        (info / "RECORD").write_text("tinypkg/__init__.py,,\n")
    else:
        (info / "top_level.txt").write_text("tinypkg\n")

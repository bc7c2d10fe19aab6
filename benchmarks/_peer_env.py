"""Peers (MLflow, Evidently, MLServer) live in their own virtualenvs under benchmarks/.envs, never in ours;
and a server process, ours or a peer's, is measured once it answers."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ENVS = Path(__file__).resolve().parent / ".envs"


def peer_python(name: str, requirements: list[str]) -> Path:
    """The python of a peer's virtualenv, created and filled on first use, and filled again when the
    requirements changed since (the marker file holds those it was filled with)."""
    venv = ENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists() or marker.read_text() != "\n".join(requirements):
        print(f"  (filling {venv} with {' '.join(requirements)}; once per change)", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
        marker.write_text("\n".join(requirements))
    return python


def run_peer(python: Path, script: str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run([str(python), str(Path(__file__).resolve().parent / script), *args],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_until_ready(port: int, path: str, server: subprocess.Popen, timeout: float,
                     failed: Callable[[], str]) -> http.client.HTTPConnection:
    """A keep-alive connection to the server on ``port`` once ``GET path`` answers 200; SystemExit with
    ``failed()`` when the process ends or ``timeout`` seconds pass first."""
    deadline = time.time() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return conn
        except OSError:
            pass
        if time.time() > deadline or server.poll() is not None:
            raise SystemExit(failed())
        time.sleep(0.1)

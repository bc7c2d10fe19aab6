"""Peers (MLflow, Evidently) live in their own virtualenvs under benchmarks/.envs, never in ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENVS = Path(__file__).resolve().parent / ".envs"


def peer_python(name: str, requirements: list[str]) -> Path:
    """The python of a peer's virtualenv, created and filled on first use."""
    venv = ENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        print(f"  (creating {venv} with {' '.join(requirements)}; once only)", flush=True)
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

"""At exit a session closes its run in the store it recorded into, whatever the environment says by then."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from _support import PYTHON, python_env

SCRIPT = """
import os
import mlops_magic as mlops
with mlops.stage("data"):
    pass
os.environ.pop("MLOPS_STORE")      # what a test fixture's monkeypatch undoes before atexit runs
os.chdir(os.environ["ELSEWHERE"])   # and a working directory with no project
"""


def test_exit_closes_the_run_where_it_was_recorded_and_creates_no_store(tmp_path: Path) -> None:
    store, elsewhere = tmp_path / "store", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = python_env(MLOPS_STORE=str(store), ELSEWHERE=str(elsewhere))
    for var in ("MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "JPY_SESSION_NAME"):
        env.pop(var, None)
    subprocess.run([PYTHON, "-c", SCRIPT], env=env, cwd=tmp_path, check=True, timeout=120)
    assert not (elsewhere / ".mlops").exists()
    with sqlite3.connect(store / ".mlops" / "mlops.db") as db:
        assert db.execute("SELECT status FROM runs").fetchall() == [("succeeded",)]

"""Warm kernels (``runner/warm.py``): what makes adopting one the same as starting a fresh one.

The cluster tests (``test_dask_cluster.py``) run notebooks on adopted kernels end to end; these check
the rules that keep an adopted kernel indistinguishable, with real kernels and no cluster.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dask_support import notebook, wait_for

from mlops_magic.runner import RunRequest
from mlops_magic.runner.execute import create_run, execute_created, runs_dir
from mlops_magic.runner.prepare import prepare
from mlops_magic.runner.warm import WarmKernel, adopt, setup_code
from mlops_magic.store import clear_cache, open_store

PACKAGE = Path(__file__).resolve().parent.parent / "mlops_magic"
ENVIRONMENT_READS = {"environ", "getenv", "getcwd", "cwd", "getuser"}


def _reads_environment(node: ast.AST) -> bool:
    return any((isinstance(n, ast.Attribute) and n.attr in ENVIRONMENT_READS)
               or (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in ENVIRONMENT_READS)
               for n in ast.walk(node))


def test_no_module_reads_the_environment_or_the_folder_at_import() -> None:
    """A warm kernel imports mlops-magic before its run's variables and folder are set."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            parts = node.body if isinstance(node, ast.ClassDef) else [node]
            for part in parts:
                if isinstance(part, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Import, ast.ImportFrom)):
                    continue
                if _reads_environment(part):
                    found.append(f"{path.relative_to(PACKAGE)}: {ast.unparse(part)[:80]}")
    assert found == []


def test_the_set_up_carries_any_value_as_data(tmp_path: Path) -> None:
    weird = {"MLOPS_X": "'); import os; os._exit(3) #\n\\\"", "MLOPS_Y": "é ☃"}
    first_line = setup_code(weird, ["MLOPS_GONE"], str(tmp_path)).split("\n")[0]  # the rest loads the extension
    check = "import json, os; print(json.dumps([os.environ.get('MLOPS_X'), os.environ.get('MLOPS_Y'), " \
            "'MLOPS_GONE' in os.environ, os.getcwd()]))"
    proc = subprocess.run([sys.executable, "-c", first_line + "\n" + check], env={**os.environ, "MLOPS_GONE": "1"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [weird["MLOPS_X"], weird["MLOPS_Y"], False, str(tmp_path)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_STORE", "MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    (tmp_path / ".mlops").mkdir()
    yield tmp_path
    clear_cache()


def _ready(pool: WarmKernel) -> int:
    return wait_for(lambda: pool._slot is not None and pool._slot.pid, 60, "a warm kernel")


def test_an_adopted_kernel_runs_its_notebook_as_a_fresh_one_would(project: Path) -> None:
    store = open_store(str(project))
    nb = notebook(project / "nb.ipynb", ["import json, os", "%%mlops stage train\nx = 1\n"
                  "json.dump({'pid': os.getpid(), 'run': os.environ['MLOPS_RUN_ID'], 'cwd': os.getcwd()}, "
                  "open('seen.json', 'w'))"])
    pool = WarmKernel(project / "warm")
    try:
        pool.refill()
        warm_pid = _ready(pool)
        prep = prepare(RunRequest(notebook=str(nb), store_url=store.url), project)
        slot = adopt(pool, prep, store)
        assert slot is not None and slot.pid == warm_pid
        create_run(store, prep)
        result = execute_created(prep, store, slot, started=time.monotonic())
        assert result.status == "succeeded", result.line()
        seen = json.loads((project / "seen.json").read_text())
        assert seen == {"pid": warm_pid, "run": prep.run_id, "cwd": str(project)}
        assert [s.name for s in store.list_stages(prep.run_id)] == ["train"]
        assert (runs_dir(store) / prep.run_id / "kernel.log").exists()  # the kernel's output file became the run's
        assert not psutil.pid_exists(warm_pid) or psutil.Process(warm_pid).status() == psutil.STATUS_ZOMBIE
        assert _ready(pool) != warm_pid  # the next run gets another kernel
    finally:
        pool.close()


def test_a_run_whose_environment_differs_beyond_mlops_settings_gets_a_fresh_kernel(project: Path) -> None:
    store = open_store(str(project))
    nb = notebook(project / "nb.ipynb", ["x = 1"])
    pool = WarmKernel(project / "warm")
    try:
        pool.refill()
        warm_pid = _ready(pool)
        prep = prepare(RunRequest(notebook=str(nb), store_url=store.url), project)
        prep.env = {"PYTHONHASHSEED": "7"}  # takes effect only at interpreter start
        assert adopt(pool, prep, store) is None
        wait_for(lambda: not psutil.pid_exists(warm_pid) or psutil.Process(warm_pid).status() == psutil.STATUS_ZOMBIE,
                 30, "the unusable warm kernel to be killed")
        # a run asking for another kind of kernel does not get this one either; the next is booted as it asked
        _ready(pool)
        assert pool.take("python3", native=True) is None
        assert pool.kind[1] is True
    finally:
        pool.close()

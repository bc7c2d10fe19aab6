"""`mlops sweep` on a real Dask cluster (a scheduler and two workers on 127.0.0.1), and Ctrl-C on a sweep."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support import python_env
from dask_support import LocalCluster, start_cluster, wait_for
from test_sweep import TRAIN, notebook

from mlops_magic.entities import ACTIVE_STATUSES, RunStatus
from mlops_magic.store import clear_cache, open_store
from mlops_magic.tracking.queries import cached_from
from mlops_magic.tracking.sweeps import sweep_detail

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    yield from start_cluster(tmp_path_factory.mktemp("dask-logs"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_STORE", "MLOPS_EXECUTOR", "MLOPS_RUN_ID", "MLOPS_CACHE", "MLOPS_NOTEBOOK",
                "MLOPS_NOTEBOOK_SOURCE"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    (tmp_path / ".mlops").mkdir()
    yield tmp_path
    clear_cache()


def cli(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops_magic.cli", *args], cwd=project, env=python_env(),
                          capture_output=True, text=True, timeout=timeout)


def test_six_points_on_the_cluster_share_one_data_stage(cluster: LocalCluster, project: Path) -> None:
    nb = notebook(project / "train.ipynb", *TRAIN)
    proc = cli(project, "sweep", str(nb), "-p", "alpha", "0.5,1,2", "-p", "depth", "2,3", "--cache",
               "--executor", cluster.url, "--select", "max score")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store = open_store(str(project))
    [sweep] = [r for r in store.list_runs(trigger="sweep") if r.parent_run_id is None]
    points = sweep_detail(store, sweep.id)["points"]
    assert len(points) == 6 and {p["status"] for p in points} == {RunStatus.SUCCEEDED}
    runs = {p["id"]: store.get_run(p["id"]) for p in points}
    assert {r.executor for r in runs.values()} == {cluster.url}
    assert len({r.worker for r in runs.values()}) == 2  # the points spread over both workers
    computed = [pid for pid in runs
                if not cached_from(store, stage_ids=[s.id for s in store.list_stages(pid) if s.name == "data"])]
    assert len(computed) == 1  # one point computed the data stage; five restored it, on either worker
    assert sweep_detail(store, sweep.id)["sweep"]["best_run_id"] in runs


def test_ctrl_c_cancels_the_remaining_points_and_ends_every_run(project: Path) -> None:
    nb = notebook(project / "slow.ipynb", ("wait = 60", ["parameters"]), "%load_ext mlops_magic\nimport time",
                  "%%mlops stage train\ntime.sleep(wait)")
    proc = subprocess.Popen([sys.executable, "-m", "mlops_magic.cli", "sweep", str(nb), "-p", "wait", "60,61,62"],
                            cwd=project, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = open_store(str(project))
    try:
        wait_for(lambda: any(r.status == RunStatus.RUNNING and r.parent_run_id for r in store.list_runs())
                 and any(s.name == "train" for r in store.list_runs() if r.parent_run_id
                         for s in store.list_stages(r.id)), 90, "the first point to start its stage")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: sweep" in err
    runs = store.list_runs()
    assert all(r.status not in ACTIVE_STATUSES for r in runs), [(r.id, r.status) for r in runs]
    [sweep] = [r for r in runs if r.parent_run_id is None]
    assert sweep.status == RunStatus.KILLED and "interrupted" in (sweep.error or "")
    assert len([r for r in runs if r.parent_run_id == sweep.id]) == 1  # the other two never started

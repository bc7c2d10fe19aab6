"""The lab's *Run headlessly now* (REST ``POST run-now``) goes to the project's executor: a real Jupyter
server, a real Dask cluster (scheduler and two workers on 127.0.0.1) and a SQLite store in its root."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dask_support import LocalCluster, notebook, start_cluster
from server_support import API, jp_server_config  # noqa: F401 - the fixture, by name
from tornado.httpclient import HTTPClientError

from mlops_magic.store import clear_cache, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    yield from start_cluster(tmp_path_factory.mktemp("dask-logs"))



@pytest.fixture
def store(jp_root_dir: Path, cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> Any:
    for var in ("MLOPS_STORE", "MLOPS_EXECUTOR"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    (jp_root_dir / ".mlops").mkdir(exist_ok=True)
    (jp_root_dir / ".mlops" / "config.json").write_text(json.dumps({"executor": cluster.url}))
    yield open_store(str(jp_root_dir))
    clear_cache()


async def test_run_now_goes_to_the_configured_cluster(jp_fetch: Any, store: Any, jp_root_dir: Path,
                                                      cluster: LocalCluster) -> None:
    notebook(jp_root_dir / "quick.ipynb", ["x = 1", "%%mlops stage train\ny = x + 1"], tags={0: ["parameters"]})
    response = await jp_fetch(API, "run-now", method="POST", body=json.dumps({"path": "quick.ipynb",
                                                                               "params": {"x": 2}}))
    assert response.code == 202
    run_id = json.loads(response.body)["id"]
    run: dict[str, Any] = {}
    seen = set()
    for _ in range(600):
        try:
            run = json.loads((await jp_fetch(API, "runs", run_id)).body)
            seen.add(run["status"])
            if run["status"] not in ("queued", "running"):
                break
        except HTTPClientError:
            pass
        await asyncio.sleep(0.1)
    assert run["status"] == "succeeded", run
    assert run["params"]["x"] == 2 and run["executor"] == cluster.url
    assert run["worker"] in {w["address"] for w in cluster.workers().values()}
    assert seen <= {"queued", "running", "succeeded"}

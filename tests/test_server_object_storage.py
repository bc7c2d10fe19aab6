"""The lab's REST API on a real Jupyter server over a store whose artifacts are in S3 (moto's server on
127.0.0.1): an executed notebook and a run's report are served from the bucket through the authenticated
API, never as a bucket URL; runs carry who started them and filter by it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from s3_support import moto_server, s3_artifacts  # noqa: F401 - fixtures
from server_support import API, error_of, get_json, jp_server_config  # noqa: F401 - fixtures, by name

from mlops_magic.store import clear_cache, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def store(jp_root_dir: Path, s3_artifacts: str, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    monkeypatch.setenv("MLOPS_ARTIFACTS", s3_artifacts)  # the project's store, its artifacts in the bucket
    clear_cache()
    st = open_store(str(jp_root_dir))
    yield st
    clear_cache()


EXECUTED = {
    "cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "execution_count": 1, "source": "print(6 * 7)",
               "outputs": [{"output_type": "stream", "name": "stdout", "text": "answer from the bucket 42\n"}]}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


async def test_the_lab_serves_an_executed_notebook_kept_in_s3(jp_fetch: Any, store: Any, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_USER", "alice")
    executed = tmp_path / "executed.ipynb"
    executed.write_text(json.dumps(EXECUTED), encoding="utf-8")
    run = store.create_run(notebook="train.ipynb", trigger="manual")
    artifact = store.log_artifact(run.id, executed, name="executed.ipynb")
    store.finish_run(run.id, "succeeded")
    monkeypatch.setenv("MLOPS_USER", "bob")
    other = store.create_run(notebook="train.ipynb")
    store.finish_run(other.id, "succeeded")
    assert artifact.path.startswith("s3://")
    assert not (Path(store.url.split("sqlite:///", 1)[1].split("?")[0]).parent / "artifacts").exists()

    response = await jp_fetch(API, "runs", run.id, "artifacts", "executed.ipynb")
    assert response.code == 200 and response.body == executed.read_bytes()
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''executed.ipynb"
    detail = await get_json(jp_fetch, "runs", run.id)
    assert detail["user"] == "alice"
    assert [a["name"] for a in detail["artifacts"]] == ["executed.ipynb"]
    assert "s3://" not in json.dumps(detail)  # where the bytes live is the server's business
    report = await jp_fetch(API, "runs", run.id, "report")
    assert "answer from the bucket 42" in report.body.decode()
    # who started each run: the runs list filters by it, the runs table has the column
    page = await get_json(jp_fetch, "runs", params={"user": "alice"})
    assert [r["id"] for r in page["runs"]] == [run.id] and page["total"] == 1
    table = await get_json(jp_fetch, "runs-table")
    assert dict(zip(table["columns"]["id"], table["columns"]["user"])) == {run.id: "alice", other.id: "bob"}
    # bytes that went missing from the bucket are a 404, not a 500
    store.artifacts.delete([artifact.digest])
    status, body = await error_of(jp_fetch, "runs", run.id, "artifacts", "executed.ipynb")
    assert status == 404 and body["error"] == "NotFoundError"

"""GET runs-table (the runs view's columnar answer) on a real Jupyter server and a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_support import API, error_of, get_json, jp_server_config  # noqa: F401 - fixtures, by name
from tornado.httpclient import HTTPClientError

from mlops_magic.entities import RUN_STATUSES
from mlops_magic.server.runs_table import ROUTES
from mlops_magic.store import clear_cache, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def store(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    st = open_store(str(jp_root_dir))
    yield st
    clear_cache()


@pytest.fixture
def runs(store: Any, jp_root_dir: Path) -> list[str]:
    """Three runs of demo.ipynb (the last failed, one NaN metric) and one of other.ipynb without metrics."""
    (jp_root_dir / "demo.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                         "nbformat_minor": 5}), encoding="utf-8")
    ids = []
    for i in range(3):
        run = store.create_run(notebook="demo.ipynb", trigger="manual", params={"lr": 0.1 * (i + 1), "depth": i})
        store.log_metrics(run.id, [("acc", 0.5 + 0.1 * s + i, s) for s in range(3)])
        if i == 1:
            store.log_metrics(run.id, [("loss", float("nan"), 0)])
        store.finish_run(run.id, "failed" if i == 2 else "succeeded")
        ids.append(run.id)
    other = store.create_run(notebook="other.ipynb", trigger="schedule", params={"lr": 1})
    store.finish_run(other.id, "succeeded")
    ids.append(other.id)
    return ids


async def table(jp_fetch: Any, **params: str) -> dict[str, Any]:
    response = await jp_fetch(API, "runs-table", params=params)
    assert response.headers["Content-Type"].startswith("application/json")
    return dict(json.loads(response.body))


async def test_columns_newest_first_with_params_and_metrics(jp_fetch: Any, runs: list[str]) -> None:
    body = await table(jp_fetch)
    assert body["unchanged"] is False and body["total"] == 4
    cols = body["columns"]
    assert cols["id"] == runs[::-1]
    assert cols["status"] == ["succeeded", "failed", "succeeded", "succeeded"]
    assert [body["notebooks"][i] for i in cols["notebook"]] == ["other.ipynb", "demo.ipynb", "demo.ipynb", "demo.ipynb"]
    assert body["notebook_paths"] == ["other.ipynb", "demo.ipynb"]
    assert cols["started"] == sorted(cols["started"], reverse=True)
    assert all(isinstance(e, float) for e in cols["ended"])
    # One column per key, null where a run lacks it; the latest metric value; NaN as its name.
    assert body["params"]["lr"] == [1, pytest.approx(0.3), pytest.approx(0.2), pytest.approx(0.1)]
    assert body["params"]["depth"] == [None, 2, 1, 0]
    assert body["metrics"]["acc"] == [None, pytest.approx(2.7), pytest.approx(1.7), pytest.approx(0.7)]
    assert body["metrics"]["loss"] == [None, None, "nan", None]
    # The enums the filters offer come from the API, queued and skipped included.
    assert body["statuses"] == list(RUN_STATUSES) and {"queued", "skipped"} <= set(body["statuses"])


async def test_filters_and_limit(jp_fetch: Any, runs: list[str]) -> None:
    failed = await table(jp_fetch, status="failed")
    assert failed["columns"]["id"] == [runs[2]]
    demo = await table(jp_fetch, notebook="demo.ipynb")
    assert demo["total"] == 3 and demo["notebooks"] == ["demo.ipynb"]
    newest = await table(jp_fetch, limit="2")
    assert newest["columns"]["id"] == [runs[3], runs[2]]
    empty = await table(jp_fetch, status="queued")
    assert empty["total"] == 0 and empty["columns"]["id"] == [] and empty["params"] == {}


async def test_a_sweeps_points_name_their_sweep(jp_fetch: Any, store: Any, runs: list[str]) -> None:
    """The view groups a sweep's points under it: each row says which run it belongs to (null for most)."""
    sweep = store.create_run(notebook="demo.ipynb", trigger="sweep")
    points = [store.create_run(notebook="demo.ipynb", trigger="sweep", parent_run_id=sweep.id, params={"lr": lr}).id
              for lr in (0.1, 0.2)]
    body = await table(jp_fetch)
    parent = dict(zip(body["columns"]["id"], body["columns"]["parent_run_id"], strict=True))
    assert parent == {**{r: None for r in runs}, sweep.id: None, points[0]: sweep.id, points[1]: sweep.id}
    assert [body["columns"]["trigger"][body["columns"]["id"].index(p)] for p in points] == ["sweep", "sweep"]


async def test_since_the_same_version_answers_unchanged_until_a_run_changes(
        jp_fetch: Any, store: Any, runs: list[str]) -> None:
    first = await table(jp_fetch)
    again = await table(jp_fetch, since=first["version"])
    assert again == {"version": first["version"], "unchanged": True}
    store.log_metrics(runs[0], [("acc", 9.0, 3)])
    changed = await table(jp_fetch, since=first["version"])
    assert changed["unchanged"] is False and changed["version"] != first["version"]
    assert changed["metrics"]["acc"][-1] == 9.0


@pytest.mark.parametrize("change", ["metric", "batch", "new run", "status", "param", "renamed notebook"])
async def test_every_change_the_table_shows_changes_the_answer(jp_fetch: Any, store: Any, runs: list[str],
                                                              jp_root_dir: Path, change: str) -> None:
    first = await table(jp_fetch)
    assert (await table(jp_fetch, since=first["version"]))["unchanged"] is True
    if change == "metric":
        store.log_metric(runs[0], "acc", 9.0, step=3)
    elif change == "batch":
        store.log_metrics(runs[0], [(f"m{i}", float(i), 0) for i in range(150)])
    elif change == "new run":
        store.create_run(notebook="demo.ipynb")
    elif change == "status":
        store.finish_run(store.create_run(notebook="demo.ipynb").id, "succeeded")
        first = await table(jp_fetch)
        store.finish_run(runs[3], "failed")
    elif change == "param":
        store.log_params(runs[0], {"lr": 5})
    else:
        from mlops_magic.scheduling.renames import rename_notebook

        rename_notebook(store, jp_root_dir / "demo.ipynb", jp_root_dir / "renamed.ipynb")
    changed = await table(jp_fetch, since=first["version"])
    assert changed["unchanged"] is False and changed["version"] != first["version"]


async def test_a_commit_from_another_process_changes_the_answer(jp_fetch: Any, store: Any, runs: list[str]) -> None:
    import subprocess
    import sys

    first = await table(jp_fetch)
    subprocess.run([sys.executable, "-c", "import sys; from mlops_magic.store import open_store; "
                    "open_store(sys.argv[1]).finish_run(sys.argv[2], 'killed')", store.url, runs[3]],
                   check=True, capture_output=True)
    changed = await table(jp_fetch, since=first["version"])
    assert changed["unchanged"] is False and changed["columns"]["status"][0] == "killed"
    assert (await table(jp_fetch, since=changed["version"]))["unchanged"] is True


async def test_an_unchanged_poll_reads_no_table(jp_fetch: Any, store: Any, runs: list[str]) -> None:
    first = await table(jp_fetch, status="succeeded")
    statements: list[str] = []
    store.db._conn.set_trace_callback(statements.append)  # every statement SQLite runs for this store
    try:
        again = await table(jp_fetch, status="succeeded", since=first["version"])
    finally:
        store.db._conn.set_trace_callback(None)
    assert again == {"version": first["version"], "unchanged": True}
    # The orphan check (queued and running runs only) and the change marker: nothing reads the metrics.
    assert statements and not any("metric" in s or "params" in s for s in statements), statements
    assert "PRAGMA data_version" in statements
    # Other filters are answers of their own: the kept version is not theirs.
    other = await table(jp_fetch, since=first["version"])
    assert other["unchanged"] is False and other["total"] == 4


async def test_no_runs_yet(jp_fetch: Any, store: Any) -> None:
    body = await table(jp_fetch)
    assert body["total"] == 0 and body["columns"]["id"] == [] and body["metrics"] == {}


async def test_no_store_yet_is_no_runs_yet_and_creates_none(jp_fetch: Any, jp_root_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    body = await table(jp_fetch)
    assert body["total"] == 0 and body["columns"]["id"] == [] and "queued" in body["statuses"]
    assert not (jp_root_dir / ".mlops").exists()
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, "runs-table", params={"status": "done"})
    assert info.value.code == 400


@pytest.mark.parametrize("query, message", [
    ({"status": "done"}, "unknown status 'done'"),
    ({"trigger": "nightly"}, "unknown trigger 'nightly'"),
    ({"limit": "0"}, "limit must be between"),
    ({"limit": "many"}, "limit must be an integer"),
    ({"notebook": "../outside.ipynb"}, ""),
])
async def test_bad_input_is_one_clear_400(jp_fetch: Any, store: Any, query: dict[str, str], message: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, "runs-table", params=query)
    assert info.value.code == 400
    body = json.loads(info.value.response.body if info.value.response else b"{}")
    assert message in body["message"] and body["error"] == "InvalidInputError"


@pytest.mark.parametrize("pattern", [p for p, _ in ROUTES])
async def test_refuses_without_token(jp_fetch: Any, store: Any, pattern: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, pattern, headers={"Authorization": ""})
    assert info.value.code == 403


async def test_a_run_whose_process_is_gone_is_listed_killed(jp_fetch: Any, store: Any) -> None:
    import subprocess
    import sys

    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    run = store.create_run(notebook="demo.ipynb", trigger="interactive", pid=gone)
    assert store.get_run(run.id).status == "running"  # reading never writes; the runs view reaps, once
    body = await table(jp_fetch)
    assert body["columns"]["status"] == ["killed"]
    assert "exited without closing the run" in (store.get_run(run.id).error or "")

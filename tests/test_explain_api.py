"""``GET /mlops/api/v1/diff``: the same diff as ``mlops diff --format json``, authenticated, 4xx on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_support import API, jp_server_config  # noqa: F401 - the fixture, by name
from tornado.httpclient import HTTPClientError

from mlops_magic.entities import Fingerprint
from mlops_magic.store import clear_cache, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]




@pytest.fixture
def two_runs(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Two recorded runs (no kernel): the data stage read other bytes, the evaluation moved."""
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    store = open_store(str(jp_root_dir))
    ids = []
    for rows, acc in ((100, 0.8), (120, 0.83)):
        run = store.create_run(notebook="nb.ipynb", trigger="manual", environment={"python": "3.11",
                                                                                    "packages": {"pandas": "2.2"}})
        data = store.start_stage(run.id, "data", code_digest="d1")
        store.log_fingerprint(run.id, Fingerprint(digest=f"{rows:032x}", kind="file", rows=rows,
                                                  schema={"path": "data/a.csv"}, name="raw", role="input"),
                              stage_id=data.id)
        store.finish_stage(data.id, "succeeded")
        ev = store.start_stage(run.id, "evaluate", code_digest="e1")
        store.log_metric(run.id, "acc", acc, stage_id=ev.id)
        store.finish_stage(ev.id, "succeeded")
        store.finish_run(run.id, "succeeded")
        ids.append(run.id)
    yield ids
    clear_cache()


async def test_diff_answers_the_cli_json(jp_fetch: Any, two_runs: list[str], jp_root_dir: Path) -> None:
    from mlops_magic.explain.diff import diff_runs

    a, b = two_runs
    response = await jp_fetch(API, "diff", params={"a": a[:8], "b": b})
    body = json.loads(response.body)
    assert body["headline"] == "only the data changed; acc +0.03"
    assert [s["name"] for s in body["stages"]] == ["data", "evaluate"]
    assert body["stages"][0]["inputs_changed"] == ["raw"]
    assert body["stages"][0]["input_changes"] == ["input `data/a.csv` changed: 100 → 120 rows"]
    assert body["stages"][1]["metrics"]["acc"]["delta"] == pytest.approx(0.03)
    assert body == json.loads(json.dumps(diff_runs(open_store(str(jp_root_dir)), a, b).to_dict(), default=str))


@pytest.mark.parametrize("params, status, words", [
    ({"a": "x"}, 400, "give both runs"),
    ({"a": "nosuchrun", "b": "nosuchrun"}, 404, "no run 'nosuchrun'"),
])
async def test_diff_bad_input_is_4xx(jp_fetch: Any, two_runs: list[str], params: dict[str, str], status: int,
                                     words: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, "diff", params=params)
    assert info.value.code == status
    assert words in json.loads(info.value.response.body)["message"]


async def test_diff_refuses_without_token(jp_fetch: Any, two_runs: list[str]) -> None:
    a, b = two_runs
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, "diff", params={"a": a, "b": b}, headers={"Authorization": ""})
    assert info.value.code == 403

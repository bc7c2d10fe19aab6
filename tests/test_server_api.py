"""REST API v1 handlers on a real Jupyter server and a real SQLite store in tmp_path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from server_support import API, error_of, get_json, jp_server_config  # noqa: F401 - fixtures, by name
from tornado.httpclient import HTTPClientError

from mlops_magic.server import routes
from mlops_magic.store import clear_cache, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def store(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    st = open_store(str(jp_root_dir))
    yield st
    clear_cache()

ROUTES = routes()


def write_notebook(path: Path, cells: list[tuple[str, list[str]]]) -> None:
    nb = {
        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags}, "source": src,
                   "outputs": [], "execution_count": None} for i, (src, tags) in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture
def demo(store: Any, jp_root_dir: Path) -> dict[str, Any]:
    write_notebook(jp_root_dir / "demo.ipynb", [
        ("import pandas", []),
        ("%%mlops stage data\ndf = 1", []),
        ("model = 2", ["mlops:train"]),
        ("%%mlops stage evaluate --name holdout\nacc = 0.9", []),
    ])
    runs = []
    for i in range(3):
        run = store.create_run(notebook="demo.ipynb", trigger="interactive", params={"lr": 0.1 * (i + 1)})
        data = store.start_stage(run.id, "data")
        store.finish_stage(data.id, "succeeded")
        train = store.start_stage(run.id, "train")
        store.finish_stage(train.id, "failed" if i == 2 else "succeeded", error_type="ValueError",
                           error_message="boom")
        store.log_metrics(run.id, [("acc", 0.5 + 0.1 * s, s) for s in range(4)])
        store.log_artifact_bytes(run.id, "model.txt", b"weights")
        store.finish_run(run.id, "failed" if i == 2 else "succeeded")
        runs.append(run.id)
    other = store.create_run(notebook="other.ipynb", trigger="manual")
    store.finish_run(other.id, "succeeded")
    return {"runs": runs, "other": other.id}


# -- runs --------------------------------------------------------------------------------------
async def test_info(jp_fetch: Any, store: Any) -> None:
    info = await get_json(jp_fetch, "info")
    assert info["api"] == "v1" and info["store"].startswith("sqlite:///")
    assert "features" not in info and info["api"] == "v1"


async def test_runs_paginated_and_filtered(jp_fetch: Any, demo: dict[str, Any]) -> None:
    page = await get_json(jp_fetch, "runs", params={"limit": "2"})
    assert page["total"] == 4 and len(page["runs"]) == 2 and page["next_offset"] == 2
    rest = await get_json(jp_fetch, "runs", params={"limit": "2", "offset": "2"})
    assert rest["next_offset"] is None
    assert {r["id"] for r in page["runs"] + rest["runs"]} == {*demo["runs"], demo["other"]}

    mine = await get_json(jp_fetch, "runs", params={"notebook": "demo.ipynb"})
    assert mine["total"] == 3
    assert all(r["notebook_path"] == "demo.ipynb" for r in mine["runs"])
    assert mine["runs"][0]["metrics"]["acc"] == pytest.approx(0.8)
    failed = await get_json(jp_fetch, "runs", params={"status": "failed"})
    assert [r["id"] for r in failed["runs"]] == [demo["runs"][2]]
    manual = await get_json(jp_fetch, "runs", params={"trigger": "manual"})
    assert [r["id"] for r in manual["runs"]] == [demo["other"]]


@pytest.mark.parametrize("params, fragment", [
    ({"limit": "0"}, "limit must be between"),
    ({"limit": "many"}, "limit must be an integer"),
    ({"offset": "-1"}, "offset must be between"),
    ({"status": "exploded"}, "unknown status"),
    ({"trigger": "cosmic-ray"}, "unknown trigger"),
    ({"notebook": "../outside.ipynb"}, "'..'"),
])
async def test_runs_bad_input_is_400(jp_fetch: Any, store: Any, params: dict[str, str],
                                     fragment: str) -> None:
    code, body = await error_of(jp_fetch, "runs", params=params)
    assert code == 400 and fragment in body["message"]
    assert body["error"] == "InvalidInputError"


async def test_run_detail_stages_metrics(jp_fetch: Any, demo: dict[str, Any]) -> None:
    run_id = demo["runs"][0]
    detail = await get_json(jp_fetch, "runs", run_id[:8])
    assert detail["id"] == run_id and detail["notebook_path"] == "demo.ipynb"
    assert [s["kind"] for s in detail["stages"]] == ["data", "train"]
    assert detail["artifacts"][0]["name"] == "model.txt" and "path" not in detail["artifacts"][0]

    stages = await get_json(jp_fetch, "runs", run_id, "stages")
    assert [s["status"] for s in stages["stages"]] == ["succeeded", "succeeded"]

    series = await get_json(jp_fetch, "runs", run_id, "metrics", "acc")
    assert [p["step"] for p in series["points"]] == [0, 1, 2, 3]

    artifact = await jp_fetch(API, "runs", run_id, "artifacts", "model.txt")
    assert artifact.body == b"weights"
    assert artifact.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("parts", [
    ("runs", "nosuchrun"),
    ("runs", "nosuchrun", "stages"),
    ("runs", "nosuchrun", "metrics", "acc"),
    ("runs", "nosuchrun", "artifacts", "model.txt"),
    ("runs", "nosuchrun", "report"),
])
async def test_missing_run_is_404(jp_fetch: Any, demo: dict[str, Any], parts: tuple[str, ...]) -> None:
    code, body = await error_of(jp_fetch, *parts)
    assert code == 404 and body["error"] == "NotFoundError"


async def test_run_report_is_html_served_sandboxed(jp_fetch: Any, demo: dict[str, Any], store: Any) -> None:
    run_id = demo["runs"][0]
    store.log_params(run_id, {"evil": "<script>alert(1)</script>"})
    response = await jp_fetch(API, "runs", run_id[:8], "report")
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    page = response.body.decode()
    assert run_id in page and "demo.ipynb" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


async def test_missing_metric_and_artifact_are_404(jp_fetch: Any, demo: dict[str, Any]) -> None:
    run_id = demo["runs"][0]
    assert (await error_of(jp_fetch, "runs", run_id, "metrics", "loss"))[0] == 404
    assert (await error_of(jp_fetch, "runs", run_id, "artifacts", "nope.bin"))[0] == 404


# -- lifecycle ---------------------------------------------------------------------------------
async def test_lifecycle_of_a_notebook(jp_fetch: Any, demo: dict[str, Any]) -> None:
    view = await get_json(jp_fetch, "lifecycle", params={"path": "demo.ipynb"})
    assert view["path"] == "demo.ipynb"
    rows = [(s["kind"], s["name"], s["status"], s["form"]) for s in view["stages"]]
    assert rows == [("data", "data", "succeeded", "magic"), ("train", "train", "failed", "tag"),
                    ("evaluate", "holdout", "not run", "magic")]
    assert view["stages"][1]["cell_index"] == 2 and view["stages"][1]["error"] == "ValueError: boom"


async def test_lifecycle_path_safety(jp_fetch: Any, store: Any, jp_root_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ipynb"
    write_notebook(secret, [("%%mlops stage data", [])])
    (jp_root_dir / "link.ipynb").symlink_to(secret)
    for path, status in [("", 400), ("../secret.ipynb", 400), (str(secret), 404), ("link.ipynb", 400),
                         ("missing.ipynb", 404)]:
        code, body = await error_of(jp_fetch, "lifecycle", params={"path": path})
        assert code == status, (path, body)


async def test_lifecycle_of_a_broken_notebook_is_400(jp_fetch: Any, store: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "broken.ipynb").write_text("{not json", encoding="utf-8")
    code, body = await error_of(jp_fetch, "lifecycle", params={"path": "broken.ipynb"})
    assert code == 400 and "not a valid notebook" in body["message"]


# -- models and aliases ------------------------------------------------------------------------
@pytest.fixture
def models(store: Any) -> None:
    from sklearn.dummy import DummyClassifier

    from mlops_magic.registry import versions as registry

    model = DummyClassifier().fit([[0], [1]], [0, 1])
    for _ in range(2):
        registry.register(store, model, "churn")


async def test_models_promote_and_rollback(jp_fetch: Any, models: None) -> None:
    listing = await get_json(jp_fetch, "models")
    assert [(m["name"], m["latest"], m["versions"]) for m in listing["models"]] == [("churn", 2, 2)]
    for version in (1, 2):
        moved = await get_json(jp_fetch, "models", "churn", "aliases", "production", method="PUT",
                               body=json.dumps({"version": version}))
        assert moved["promoted"] and moved["change"]["to_version"] == version
    back = await get_json(jp_fetch, "models", "churn", "aliases", "production", "rollback", method="POST",
                          body=json.dumps({"reason": "bad canary"}))
    assert back["change"]["to_version"] == 1
    detail = await get_json(jp_fetch, "models", "churn")
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["versions"][0]["aliases"] == ["production"]


async def test_model_errors(jp_fetch: Any, models: None) -> None:
    assert (await error_of(jp_fetch, "models", "nosuch"))[0] == 404
    code, body = await error_of(jp_fetch, "models", "churn", "aliases", "production", method="PUT",
                                body=json.dumps({"version": "two"}))
    assert code == 400 and "integer" in body["message"]
    assert (await error_of(jp_fetch, "models", "churn", "aliases", "production", method="PUT",
                           body=json.dumps({"version": 9})))[0] == 404
    # Nothing to roll back to: the state forbids it.
    await jp_fetch(API, "models", "churn", "aliases", "staging", method="PUT", body=json.dumps({"version": 1}))
    code, body = await error_of(jp_fetch, "models", "churn", "aliases", "staging", "rollback", method="POST",
                                body="{}")
    assert code == 409 and body["error"] == "ConflictError"


# -- schedules (mlops_magic.scheduling) --------------------------------------------------------
async def post_json(jp_fetch: Any, *parts: str, body: Any, method: str = "POST") -> tuple[int, Any]:
    response = await jp_fetch(API, *parts, method=method, body=json.dumps(body))
    return response.code, json.loads(response.body) if response.body else None


async def test_schedules_add_list_pause_resume_remove(jp_fetch: Any, demo: dict[str, Any],
                                                      jp_root_dir: Path) -> None:
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "a.csv").write_text("x\n1\n")
    assert await get_json(jp_fetch, "schedules") == {"schedules": []}
    code, made = await post_json(jp_fetch, "schedules", body={
        "notebook": "demo.ipynb", "cron": "0  2 * * *", "timezone": "Europe/Paris", "on_change": ["data/*.csv"],
        "stages": ["train"], "params": {"lr": 0.5}, "after": "demo.ipynb", "on_drift": "churn"})
    assert code == 201
    sid = made["id"]
    assert made["notebook_path"] == "demo.ipynb" and made["cron"] == "0 2 * * *"
    assert made["triggers"] == "cron 0 2 * * * (Europe/Paris); on-change data/*.csv; after demo.ipynb; drift churn"
    assert made["stages"] == ["train"] and made["params"] == {"lr": 0.5} and not made["paused"]
    assert made["next_due"].endswith(("+01:00", "+02:00")) and "T02:00:00" in made["next_due"]
    _, other = await post_json(jp_fetch, "schedules", body={"notebook": "demo.ipynb", "on_change": ["data/*"]})

    listed = await get_json(jp_fetch, "schedules", params={"notebook": "demo.ipynb"})
    assert [s["id"] for s in listed["schedules"]] == [sid, other["id"]]
    assert (await get_json(jp_fetch, "schedules", sid[:4]))["id"] == sid

    code, paused = await post_json(jp_fetch, "schedules", sid, method="PATCH", body={"paused": True})
    assert code == 200 and paused["paused"] and paused["next_due"] is None
    _, resumed = await post_json(jp_fetch, "schedules", sid, method="PATCH", body={"paused": False})
    assert not resumed["paused"] and resumed["next_due"]

    gone = await jp_fetch(API, "schedules", sid, method="DELETE")
    assert gone.code == 204
    assert [s["id"] for s in (await get_json(jp_fetch, "schedules"))["schedules"]] == [other["id"]]
    assert (await error_of(jp_fetch, "schedules", sid))[0] == 404


async def test_schedules_of_another_notebook_are_not_listed(jp_fetch: Any, demo: dict[str, Any],
                                                            jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "other.ipynb", [("x = 1", [])])
    await post_json(jp_fetch, "schedules", body={"notebook": "other.ipynb", "cron": "*/5 * * * *"})
    assert (await get_json(jp_fetch, "schedules", params={"notebook": "demo.ipynb"}))["schedules"] == []
    assert len((await get_json(jp_fetch, "schedules"))["schedules"]) == 1
    assert (await error_of(jp_fetch, "schedules", params={"notebook": "../demo.ipynb"}))[0] == 400
    assert (await error_of(jp_fetch, "schedules", params={"notebook": "gone.ipynb"}))[0] == 404


@pytest.mark.parametrize("body, status, fragment", [
    ({"notebook": "demo.ipynb", "cron": "every day"}, 400, "bad cron expression"),
    ({"notebook": "demo.ipynb"}, 400, "needs a trigger"),
    ({"notebook": "demo.ipynb", "cron": "0 2 * * *", "timezone": "Mars/Olympus"}, 400, "unknown timezone"),
    ({"notebook": "demo.ipynb", "cron": "0 2 * * *", "stages": ["cook"]}, 400, "has no stage 'cook'"),
    ({"notebook": "demo.ipynb", "cron": "0 2 * * *", "stages": "train"}, 400, '"stages" must be'),
    ({"notebook": "demo.ipynb", "cron": "0 2 * * *", "colour": "red"}, 400, "unknown schedule field 'colour'"),
    ({"notebook": "demo.ipynb", "on_change": ["nothing/*.csv"]}, 404, "matches no file"),
    ({"notebook": "demo.ipynb", "on_change": ["../*.csv"]}, 400, "without '..'"),
    ({"notebook": "demo.ipynb", "on_change": ["/etc/*"]}, 400, "relative"),
    ({"notebook": "demo.ipynb", "after": "../x.ipynb"}, 400, "'..'"),
    ({"notebook": "../demo.ipynb", "cron": "0 2 * * *"}, 400, "'..'"),
    ({"notebook": "missing.ipynb", "cron": "0 2 * * *"}, 404, "no such file"),
    ({"cron": "0 2 * * *"}, 400, "notebook path is required"),
    ({"notebook": [None, None], "cron": "0 2 * * *"}, 400, "a path must be a string"),  # found by schemathesis
    ({"notebook": "demo.ipynb", "cron": "0 2 * * *", "params": {"x=1;open('f')#": 1}}, 400,
     "is not a valid Python name"),
    ({"notebook": "demo.ipynb", "cron": "0 2 * * *", "params": {"class": 1}}, 400, "'class' is not a valid"),
])
async def test_bad_schedule_is_refused(jp_fetch: Any, demo: dict[str, Any], body: dict[str, Any], status: int,
                                       fragment: str) -> None:
    code, reply = await error_of(jp_fetch, "schedules", method="POST", body=json.dumps(body))
    assert (code, reply["status"]) == (status, status) and fragment in reply["message"], reply
    assert "\n" not in reply["message"]
    assert (await get_json(jp_fetch, "schedules"))["schedules"] == []


@pytest.mark.parametrize("method, body, status, fragment", [
    ("GET", None, 404, "no schedule 'nosuch'"),
    ("PATCH", {"paused": True}, 404, "no schedule"),
    ("DELETE", None, 404, "no schedule"),
    ("PATCH", {"paused": "yes"}, 400, '"paused" must be'),
    ("PATCH", {"cron": "0 3 * * *"}, 400, "only \"paused\""),
])
async def test_schedule_errors(jp_fetch: Any, demo: dict[str, Any], method: str, body: Any, status: int,
                               fragment: str) -> None:
    _, made = await post_json(jp_fetch, "schedules", body={"notebook": "demo.ipynb", "cron": "0 2 * * *"})
    target = "nosuch" if status == 404 else made["id"]
    kwargs = {"method": method} | ({"body": json.dumps(body)} if body is not None else {})
    code, reply = await error_of(jp_fetch, "schedules", target, **kwargs)
    assert code == status and fragment in reply["message"], reply


@pytest.mark.parametrize("body, status", [
    ("{oops", 400),
    (json.dumps({"path": "demo.ipynb", "params": [1]}), 400),
    (json.dumps({"path": "demo.ipynb", "stages": "train"}), 400),
    (json.dumps({"path": "demo.ipynb", "stages": ["cook"]}), 400),
    (json.dumps({"path": "../demo.ipynb"}), 400),
    (json.dumps({"path": "nope.ipynb"}), 404),
    (json.dumps({"path": "demo.ipynb", "params": {"x=1;y": 1}}), 400),
])
async def test_run_now_bad_input(jp_fetch: Any, demo: dict[str, Any], body: str, status: int) -> None:
    code, reply = await error_of(jp_fetch, "run-now", method="POST", body=body)
    assert code == status, reply


async def test_run_now_runs_headlessly(jp_fetch: Any, store: Any, jp_root_dir: Path) -> None:
    import asyncio

    write_notebook(jp_root_dir / "quick.ipynb", [("x = 1", ["parameters"]), ("y = x + 1", [])])
    response = await jp_fetch(API, "run-now", method="POST", body=json.dumps({"path": "quick.ipynb",
                                                                               "params": {"x": 2}}))
    assert response.code == 202
    run_id = json.loads(response.body)["id"]
    for _ in range(300):
        try:
            run = await get_json(jp_fetch, "runs", run_id)
            if run["status"] != "running":
                break
        except HTTPClientError:
            pass
        await asyncio.sleep(0.1)
    assert run["status"] == "succeeded", run
    assert run["trigger"] == "manual" and run["params"]["x"] == 2 and run["notebook_path"] == "quick.ipynb"


# -- authentication ----------------------------------------------------------------------------
def _every_route() -> list[tuple[str, str]]:
    """Each (method, concrete path) the API serves, derived from ROUTES so none is forgotten."""
    out = []
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "x", pattern)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method.lower() in handler.__dict__:
                out.append((method, path))
    return out


def test_route_table_is_complete() -> None:
    methods = {(m, p) for m, p in _every_route()}
    assert {("GET", "runs"), ("POST", "run-now"), ("DELETE", "schedules/x")} <= methods
    assert len(methods) >= 17


@pytest.mark.parametrize("method, path", _every_route())
async def test_every_route_refuses_without_token(jp_fetch: Any, store: Any, method: str, path: str) -> None:
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, path, method=method, body=body, headers={"Authorization": ""})
    assert info.value.code == 403


def test_openapi_describes_every_route() -> None:
    import yaml

    spec = yaml.safe_load((Path(__file__).parents[1] / "labextension" / "openapi.yaml").read_text())
    described = {(m.upper(), re.sub(r"\{\w+\}", "x", p.lstrip("/"))) for p, item in spec["paths"].items()
                 for m in item if m in ("get", "post", "put", "patch", "delete")}
    assert set(_every_route()) == described

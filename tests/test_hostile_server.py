"""Hostile input against the lab's REST API on a real Jupyter server (issue 19, items 1-5 and 8).

Every case here answered 500, froze the server or reached a store outside the root before the fix:
long names and lone surrogates in paths, the root renamed, deep or broken JSON bodies, a lone surrogate
in a stage cell, a megabyte stage header, and stores above the root or behind a symlink.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from server_support import API, error_of, get_json
from traitlets.config import Config

from mlops_magic.errors import InvalidInputError
from mlops_magic.scheduling.renames import rename_notebook
from mlops_magic.scheduling.schedules import add_schedule, list_schedules
from mlops_magic.store import clear_cache, open_store
from mlops_magic.tracking.stages import MAX_HEADER_ARGS

pytest_plugins = ["pytest_jupyter.jupyter_server"]

LONG_NAME = "n" * 300 + ".ipynb"  # one name over NAME_MAX (255 bytes)
LONG_PATH = "/".join(["d" * 200] * 25) + "/x.ipynb"  # every name fits, the whole is over PATH_MAX (4,096)
SURROGATE = "sub/\ud800.ipynb"  # a JSON "\ud800": no file name can hold it


def write_notebook(path: Path, sources: list[str]) -> None:
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
                     "execution_count": None} for i, src in enumerate(sources)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture
def allowed_stores() -> list[str]:
    """``c.MlopsExtension.allowed_stores`` of the server under test; ``ABOVE`` stands for the root's parent."""
    return []


@pytest.fixture
def jp_server_config(jp_server_config: Any, allowed_stores: list[str], jp_root_dir: Path) -> Any:
    """pytest-jupyter's server config with the extension enabled (as ``server_support``'s) and its setting."""
    jp_server_config["ServerApp"]["jpserver_extensions"]["mlops_magic.server"] = True
    entries = [str(jp_root_dir.parent) if e == "ABOVE" else e for e in allowed_stores]
    jp_server_config["MlopsExtension"] = Config({"allowed_stores": entries})
    return jp_server_config


@pytest.fixture
def root(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A store at the server root: sub/c.ipynb has a stage cell, one run and a schedule."""
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    write_notebook(jp_root_dir / "sub" / "c.ipynb", ["%%mlops stage train\nx = 1"])
    (jp_root_dir / "sub2").mkdir()
    store = open_store(str(jp_root_dir))
    run = store.create_run(notebook="sub/c.ipynb", trigger="interactive")
    store.finish_stage(store.start_stage(run.id, "train").id, "succeeded")
    store.finish_run(run.id, "succeeded")
    schedule = add_schedule(store, str(jp_root_dir / "sub" / "c.ipynb"), cron="0 2 * * *")
    yield {"dir": jp_root_dir, "store": store, "run": run.id, "schedule": schedule.id}
    clear_cache()


def body_of(value: Any) -> str:
    return json.dumps(value)  # ensure_ascii: a lone surrogate travels as the JSON escape "\ud800"


def assert_one_line_4xx(code: int, body: dict[str, Any], status: int = 400) -> str:
    message = body.get("message", "")
    assert code == status and message and "\n" not in message and len(message) < 400, (code, body)
    return message


# -- item 1: long names and lone surrogates in every path input ------------------------------------------
PATH_CASES = [
    ("GET", "info", {"at": LONG_NAME}, None),
    ("GET", "info", {"at": LONG_PATH}, None),
    ("GET", "runs", {"notebook": LONG_NAME}, None),
    ("GET", "runs-table", {"notebook": LONG_PATH}, None),
    ("GET", "schedules", {"notebook": LONG_NAME}, None),
    ("GET", "lifecycle", {"path": LONG_NAME}, None),
    ("GET", "lifecycle", {"path": LONG_PATH}, None),
    ("POST", "lifecycle", None, {"path": LONG_NAME, "cells": []}),
    ("POST", "lifecycle", None, {"path": SURROGATE, "cells": []}),
    ("POST", "notebooks/rename", None, {"from": LONG_NAME, "to": "sub2"}),
    ("POST", "notebooks/rename", None, {"from": "sub/c.ipynb", "to": SURROGATE}),
    ("POST", "schedules", None, {"notebook": LONG_PATH, "cron": "0 2 * * *"}),
    ("POST", "schedules", None, {"notebook": "sub/c.ipynb", "after": SURROGATE, "cron": "0 2 * * *"}),
    ("POST", "run-now", None, {"path": LONG_NAME}),
    ("POST", "run-now", None, {"path": SURROGATE}),
]


@pytest.mark.parametrize(("method", "route", "params", "body"), PATH_CASES)
async def test_long_names_and_lone_surrogates_in_paths_are_one_line_400s(
        jp_fetch: Any, root: Any, method: str, route: str, params: Any, body: Any) -> None:
    kwargs: dict[str, Any] = {"method": method, "params": params or {}}
    if body is not None:
        kwargs["body"] = body_of(body)
    code, answer = await error_of(jp_fetch, route, **kwargs)
    message = assert_one_line_4xx(code, answer)
    assert any(word in message for word in ("too long", "longer than", "lone surrogate")), message
    assert [s.notebook for s in list_schedules(root["store"])] == ["sub/c.ipynb"]  # nothing was written


# -- item 2: the root is never renamed, and one path rule normalises the rest -----------------------------
@pytest.mark.parametrize(("old", "new"), [(".", "sub2"), ("", "sub2"), ("/", "sub2"), ("./", "sub2"),
                                          ("sub/c.ipynb", "."), ("sub/c.ipynb", "")])
async def test_renaming_the_root_or_to_the_root_is_refused(jp_fetch: Any, root: Any, old: str, new: str) -> None:
    code, answer = await error_of(jp_fetch, "notebooks/rename", method="POST",
                                  body=body_of({"from": old, "to": new}))
    message = assert_one_line_4xx(code, answer)
    assert "server root" in message or "is required" in message, message
    store = root["store"]
    assert [s.notebook for s in list_schedules(store)] == ["sub/c.ipynb"]
    assert store.get_run(root["run"]).notebook == "sub/c.ipynb"


async def test_non_normalised_names_are_normalised_by_the_one_rule(jp_fetch: Any, root: Any) -> None:
    (root["dir"] / "sub2").rmdir()
    (root["dir"] / "sub").rename(root["dir"] / "sub2")
    answer = json.loads((await jp_fetch(API, "notebooks/rename", method="POST",
                                        body=body_of({"from": "./sub//", "to": "/sub2/."}))).body)
    assert answer == {"from": "sub", "to": "sub2", "runs": 1, "schedules": 1}
    assert root["store"].get_run(root["run"]).notebook == "sub2/c.ipynb"
    assert [s.notebook for s in list_schedules(root["store"])] == ["sub2/c.ipynb"]


def test_the_core_refuses_to_move_the_project_folder_itself(root: Any) -> None:
    store, project = root["store"], root["dir"]
    for old, new in ((project, project / "sub2"), (project / "sub" / "c.ipynb", project)):
        with pytest.raises(InvalidInputError, match="project folder itself"):
            rename_notebook(store, old, new)
    assert store.get_run(root["run"]).notebook == "sub/c.ipynb"


# -- item 3: every JSON body, every route: 4xx -----------------------------------------------------------
BODY_ROUTES = [("POST", "lifecycle"), ("POST", "notebooks/rename"), ("PUT", "models/churn/aliases/prod"),
               ("POST", "models/churn/aliases/prod/rollback"), ("POST", "schedules"), ("PATCH", "schedules/{id}"),
               ("POST", "run-now")]
DEEP = b"[" * 100_000 + b"]" * 100_000  # RecursionError in json.loads
# under Python's recursion limit, over the reader's MAX_DEPTH
NESTED = '{"path": "sub/c.ipynb", "cells": [], "params": {"a": ' + "[" * 40 + "1" + "]" * 40 + "}}"
BAD_BODIES = [(DEEP, "nested too deeply"), (NESTED.encode(), "nested too deeply"),
              (b"\xff\xfe{}", "not UTF-8"), (b'{"path": 1e999999', "not JSON"), (b"[1, 2]", "JSON object"),
              (b'{"path": "' + b"1" * 10 + b'"' + b"}" * 3, "not JSON")]


@pytest.mark.parametrize(("method", "route"), BODY_ROUTES)
async def test_every_json_body_is_read_by_one_reader_that_answers_4xx(jp_fetch: Any, root: Any, method: str,
                                                                     route: str) -> None:
    route = route.replace("{id}", root["schedule"])
    for body, fragment in BAD_BODIES:
        code, answer = await error_of(jp_fetch, route, method=method, body=body)
        message = assert_one_line_4xx(code, answer)
        assert fragment in message, (body[:30], message)
    assert (await get_json(jp_fetch, "info"))["api"] == "v1"


# -- item 4: a lone surrogate in a stage cell ----------------------------------------------------------
async def test_a_lone_surrogate_in_a_stage_cell_is_read_not_a_500(jp_fetch: Any, root: Any) -> None:
    cells = [{"cell_type": "code", "id": "c0", "source": "%%mlops stage train\nx = '\ud800'"}]
    view = json.loads((await jp_fetch(API, "lifecycle", method="POST",
                                      body=body_of({"path": "sub/c.ipynb", "cells": cells}))).body)
    [stage] = view["stages"]
    assert stage["name"] == "train" and stage["status"] == "succeeded" and view["invalid_cells"] == []
    write_notebook(root["dir"] / "sub" / "c.ipynb", ["%%mlops stage train\nx = '\ud800'"])  # saved escaped
    view = await get_json(jp_fetch, "lifecycle", params={"path": "sub/c.ipynb"})
    assert view["stages"][0]["status"] == "succeeded" and view["invalid_cells"] == []
    cells[0]["source"] = "%%mlops stage train --name \ud800\nx = 1"  # a name no store can hold
    view = json.loads((await jp_fetch(API, "lifecycle", method="POST",
                                      body=body_of({"path": "sub/c.ipynb", "cells": cells}))).body)
    assert view["stages"] == [] and "lone surrogate" in view["invalid_cells"][0]["error"]


# -- item 5: a long stage header is bounded, and lifecycle work never blocks the server --------------------
async def test_a_stage_header_longer_than_the_limit_is_an_invalid_cell(jp_fetch: Any, root: Any) -> None:
    for size in (200_000, 10_000_000):
        header = "%%mlops stage train --name " + "x" * size
        cells = [{"cell_type": "code", "id": "c0", "source": header + "\nx = 1"}]
        view = json.loads((await jp_fetch(API, "lifecycle", method="POST",
                                          body=body_of({"path": "sub/c.ipynb", "cells": cells}))).body)
        [invalid] = view["invalid_cells"]
        assert view["stages"] == [] and f"at most {MAX_HEADER_ARGS:,} are read" in invalid["error"]
    write_notebook(root["dir"] / "sub" / "c.ipynb", [header + "\nx = 1"])
    view = await get_json(jp_fetch, "lifecycle", params={"path": "sub/c.ipynb"})
    assert view["stages"] == [] and "at most" in view["invalid_cells"][0]["error"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_lifecycle_work_runs_off_the_event_loop(jp_fetch: Any, root: Any, method: str) -> None:
    """While a lifecycle request waits on the store, the server still answers others.

    The store's connection lock (re-entrant) is held by this test, on the event loop's thread: a lifecycle
    answer computed on the loop re-enters it at once and is done before /api/status is even read; computed
    off the loop it waits in its thread until the lock is released, and /api/status answers meanwhile.
    No clock is involved.
    """
    lock = root["store"].db._lock
    lock.acquire()
    try:
        if method == "GET":
            pending = asyncio.ensure_future(jp_fetch(API, "lifecycle", params={"path": "sub/c.ipynb"}))
        else:
            cells = [{"cell_type": "code", "id": "c0", "source": "%%mlops stage train\nx = 1"}]
            pending = asyncio.ensure_future(jp_fetch(API, "lifecycle", method="POST",
                                                     body=body_of({"path": "sub/c.ipynb", "cells": cells})))
        status = json.loads((await jp_fetch("api", "status")).body)
        assert "started" in status and not pending.done()
    finally:
        lock.release()
    view = json.loads((await pending).body)
    assert view["stages"][0]["status"] == "succeeded"


# -- item 8: no store outside the root unless allowed --------------------------------------------------
@pytest.fixture
def above(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A store in the root's parent (a home folder's .mlops) with one run, and a notebook under the root."""
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    outer = open_store(str(jp_root_dir.parent))
    run = outer.create_run(notebook="root_dir/nb.ipynb", trigger="interactive")
    outer.finish_run(run.id, "succeeded")
    write_notebook(jp_root_dir / "nb.ipynb", ["%%mlops stage train\nx = 1"])
    yield {"store": outer, "run": run.id}
    clear_cache()


async def test_a_store_above_the_root_is_not_used(jp_fetch: Any, above: Any, jp_root_dir: Path) -> None:
    at = {"at": "nb.ipynb"}
    info = await get_json(jp_fetch, "info", params=at)
    assert info["store"] is None and "outside the server root" in info["hint"], info
    assert (await get_json(jp_fetch, "runs", params=at))["runs"] == []
    assert (await get_json(jp_fetch, "runs-table", params=at))["total"] == 0
    code, answer = await error_of(jp_fetch, "runs", above["run"], params=at)
    assert "allowed_stores" in assert_one_line_4xx(code, answer, 403)
    code, answer = await error_of(jp_fetch, "schedules", method="POST", params=at,
                                  body=body_of({"notebook": "nb.ipynb", "cron": "0 2 * * *"}))
    assert "allowed_stores" in assert_one_line_4xx(code, answer, 403)
    assert list_schedules(above["store"]) == [] and not (jp_root_dir / ".mlops").exists()


async def test_a_symlinked_store_is_not_followed_out_of_the_root(jp_fetch: Any, jp_root_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    outside = jp_root_dir.parent / "outside"
    store = open_store(str(outside))
    store.finish_run(store.create_run(notebook="nb.ipynb", trigger="interactive").id, "succeeded")
    write_notebook(jp_root_dir / "proj" / "nb.ipynb", ["x = 1"])
    (jp_root_dir / "proj" / ".mlops").symlink_to(outside / ".mlops")
    at = {"at": "proj/nb.ipynb"}
    assert (await get_json(jp_fetch, "runs", params=at))["runs"] == []
    assert "outside the server root" in (await get_json(jp_fetch, "info", params=at))["hint"]
    view = await get_json(jp_fetch, "lifecycle", params={"path": "proj/nb.ipynb"})
    assert view["stages"] == []
    clear_cache()


@pytest.mark.parametrize("allowed_stores", [["ABOVE"]])
async def test_an_allowed_store_outside_the_root_is_used(jp_fetch: Any, above: Any, allowed_stores: Any) -> None:
    at = {"at": "nb.ipynb"}
    info = await get_json(jp_fetch, "info", params=at)
    assert info["store"].endswith("/.mlops/mlops.db") and info["hint"] is None
    assert [r["id"] for r in (await get_json(jp_fetch, "runs", params=at))["runs"]] == [above["run"]]
    created = json.loads((await jp_fetch(API, "schedules", method="POST", params=at,
                                         body=body_of({"notebook": "nb.ipynb", "cron": "0 2 * * *"}))).body)
    assert [s.id for s in list_schedules(above["store"])] == [created["id"]]

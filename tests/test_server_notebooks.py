"""The lab's notebook-facing reads on a real Jupyter server: a typo cell, the open document, the store
found per notebook (a Lab root above the project), and a rename that runs, schedules and kernels follow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_support import API, error_of, get_json, jp_server_config  # noqa: F401 - fixtures, by name

from mlops_magic.store import clear_cache, open_store
from mlops_magic.store.processes import process_started

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def write_notebook(path: Path, sources: list[str], tags: dict[int, list[str]] | None = None) -> None:
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {"tags": (tags or {}).get(i, [])},
                     "source": src, "outputs": [], "execution_count": None} for i, src in enumerate(sources)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture
def project(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A Lab root *above* the project: root/proj/.mlops holds the runs of root/proj/nb.ipynb."""
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    proj = jp_root_dir / "proj"
    write_notebook(proj / "nb.ipynb", ["%%mlops stage data\nx = 1", "%%mlops stage train\ny = 2"])
    store = open_store(str(proj))
    run = store.create_run(notebook="nb.ipynb", trigger="interactive")
    store.finish_stage(store.start_stage(run.id, "data").id, "succeeded")
    store.finish_run(run.id, "succeeded")
    clear_cache()  # the server finds the store itself, as a Lab in its own process does
    store = open_store(f"sqlite:///{proj}/.mlops/mlops.db")  # the tests' own handle: by URL, no project folder
    yield {"root": jp_root_dir, "proj": proj, "store": store, "run": run.id}
    clear_cache()




async def post_json(jp_fetch: Any, part: str, body: Any, **kwargs: Any) -> Any:
    response = await jp_fetch(API, part, method="POST", body=json.dumps(body), **kwargs)
    return json.loads(response.body)




# -- the store is found per notebook -------------------------------------------------------------------
async def test_a_root_above_the_project_reads_the_notebooks_store(jp_fetch: Any, project: Any) -> None:
    at = {"at": "proj/nb.ipynb"}
    info = await get_json(jp_fetch, "info", params=at)
    assert info["store"].endswith("/proj/.mlops/mlops.db")
    assert info["project"] == "proj" and info["hint"] is None
    runs = await get_json(jp_fetch, "runs", params={**at, "notebook": "proj/nb.ipynb"})
    assert [r["id"] for r in runs["runs"]] == [project["run"]]
    view = await get_json(jp_fetch, "lifecycle", params={"path": "proj/nb.ipynb"})
    assert {s["name"]: s["status"] for s in view["stages"]} == {"data": "succeeded", "train": "not run"}


async def test_no_read_creates_a_store(jp_fetch: Any, project: Any) -> None:
    root = project["root"]
    write_notebook(root / "elsewhere" / "fresh.ipynb", ["%%mlops stage data\nx = 1"])
    at = {"at": "elsewhere/fresh.ipynb"}
    info = await get_json(jp_fetch, "info", params=at)
    assert info["store"] is None and "elsewhere" in info["hint"]
    assert info["enums"]["run_status"][:2] and "queued" in info["enums"]["run_status"]
    assert "skipped" in info["enums"]["run_status"] and "train" in info["enums"]["stage_kinds"]
    assert (await get_json(jp_fetch, "runs", params=at))["runs"] == []
    assert (await get_json(jp_fetch, "models", params=at))["models"] == []
    assert (await get_json(jp_fetch, "schedules", params=at))["schedules"] == []
    view = await get_json(jp_fetch, "lifecycle", params={"path": "elsewhere/fresh.ipynb"})
    assert view["stages"][0]["status"] == "not run"
    assert (await get_json(jp_fetch, "info"))["store"] is None  # the root itself has no store either
    assert not (root / ".mlops").exists() and not (root / "elsewhere" / ".mlops").exists()
    code, body = await error_of(jp_fetch, "runs", "abc", params=at)
    assert code == 404 and "no mlops store" in body["message"]


async def test_at_cannot_escape_the_root(jp_fetch: Any, project: Any) -> None:
    code, body = await error_of(jp_fetch, "info", params={"at": "../../etc/passwd"})
    assert code == 400 and ".." in body["message"]


# -- one bad cell stays one bad cell --------------------------------------------------------------------
async def test_a_mistyped_stage_cell_is_reported_on_its_cell(jp_fetch: Any, project: Any) -> None:
    write_notebook(project["proj"] / "nb.ipynb", ["%%mlops stage data\nx = 1", "%%mlops stage trian\ny = 2"])
    view = await get_json(jp_fetch, "lifecycle", params={"path": "proj/nb.ipynb"})
    assert [s["name"] for s in view["stages"]] == ["data"]
    [bad] = view["invalid_cells"]
    assert bad["cell_index"] == 1 and bad["cell_id"] == "c1" and "trian" in bad["error"]


# -- the open document is the truth ---------------------------------------------------------------------
async def test_the_open_document_is_read_not_the_file(jp_fetch: Any, project: Any) -> None:
    cells = [{"cell_type": "markdown", "source": "# unsaved"},
             {"cell_type": "code", "source": "%%mlops stage data\nx = 1", "id": "c0"},
             {"cell_type": "code", "source": "z = 3", "tags": ["mlops:evaluate"], "id": "new"},
             {"cell_type": "code", "source": "%%mlops stage deploy --bogus", "id": "bad"}]
    view = await post_json(jp_fetch, "lifecycle", {"path": "proj/nb.ipynb", "cells": cells})
    assert [(s["name"], s["status"], s["cell_index"]) for s in view["stages"]] == [
        ("data", "succeeded", 1), ("evaluate", "not run", 2)]
    assert view["warnings"] == []  # train is not in the open document, but it never ran either
    assert [c["cell_id"] for c in view["invalid_cells"]] == ["bad"]


@pytest.mark.parametrize("body", [{"path": "proj/nb.ipynb"}, {"path": "proj/nb.ipynb", "cells": "x"},
                                  {"path": "proj/nb.ipynb", "cells": [{"source": 3}]},
                                  {"path": "proj/nb.ipynb", "cells": [{"source": "", "tags": "mlops:train"}]},
                                  {"path": "../x.ipynb", "cells": []}, {"cells": []}])
async def test_a_bad_open_document_is_a_400(jp_fetch: Any, project: Any, body: Any) -> None:
    code, reply = await error_of(jp_fetch, "lifecycle", method="POST", body=json.dumps(body))
    assert code == 400 and reply["message"]


# -- renames ----------------------------------------------------------------------------------------------
async def test_runs_and_schedules_follow_a_rename(jp_fetch: Any, project: Any) -> None:
    from mlops_magic.scheduling import add_schedule, list_schedules

    store, proj = project["store"], project["proj"]
    add_schedule(store, proj / "nb.ipynb", cron="0 3 * * *")
    (proj / "nb.ipynb").rename(proj / "renamed.ipynb")
    moved = await post_json(jp_fetch, "notebooks/rename", {"from": "proj/nb.ipynb", "to": "proj/renamed.ipynb"},
                            params={"at": "proj/renamed.ipynb"})
    assert moved == {"from": "proj/nb.ipynb", "to": "proj/renamed.ipynb", "runs": 1, "schedules": 1}
    runs = await get_json(jp_fetch, "runs", params={"at": "proj/renamed.ipynb", "notebook": "proj/renamed.ipynb"})
    assert [r["id"] for r in runs["runs"]] == [project["run"]]
    assert runs["runs"][0]["notebook_path"] == "proj/renamed.ipynb"
    view = await get_json(jp_fetch, "lifecycle", params={"path": "proj/renamed.ipynb"})
    assert view["stages"][0]["status"] == "succeeded"
    assert [s.notebook_path for s in list_schedules(store)] == [proj / "renamed.ipynb"]


async def test_a_folder_move_moves_the_notebooks_under_it(jp_fetch: Any, project: Any) -> None:
    store, proj = project["store"], project["proj"]
    write_notebook(proj / "sub" / "a.ipynb", ["x = 1"])
    run = store.create_run(notebook="sub/a.ipynb", trigger="interactive")
    store.create_run(notebook="sub_other/a.ipynb", trigger="interactive")  # a sibling with a longer name
    (proj / "sub").rename(proj / "moved")
    moved = await post_json(jp_fetch, "notebooks/rename", {"from": "proj/sub", "to": "proj/moved"})
    assert moved["runs"] == 1
    assert store.get_run(run.id).notebook == "moved/a.ipynb"
    assert {r.notebook for r in store.list_runs()} == {"nb.ipynb", "moved/a.ipynb", "sub_other/a.ipynb"}


@pytest.mark.parametrize("body", [{"from": "proj/nb.ipynb", "to": "proj/missing.ipynb"},
                                  {"from": "../nb.ipynb", "to": "proj/nb.ipynb"}, {"from": "proj/nb.ipynb"},
                                  {"from": 3, "to": "proj/nb.ipynb"}])
async def test_a_bad_rename_is_a_4xx(jp_fetch: Any, project: Any, body: Any) -> None:
    code, reply = await error_of(jp_fetch, "notebooks/rename", method="POST", body=json.dumps(body))
    assert code in (400, 404) and reply["message"]
    assert project["store"].get_run(project["run"]).notebook == "nb.ipynb"


def test_a_kernel_started_before_a_rename_records_under_the_new_name(tmp_path: Path) -> None:
    """The kernel's JPY_SESSION_NAME still names the old file; renames after its start are followed,
    older ones are not (a new notebook made under an old name is itself)."""
    import time

    from mlops_magic.scheduling.renames import rename_notebook

    clear_cache()
    store = open_store(str(tmp_path))
    started = process_started()
    assert started <= time.time()
    (tmp_path / "b.ipynb").write_text("{}")
    rename_notebook(store, tmp_path / "a.ipynb", tmp_path / "b.ipynb")
    rename_notebook(store, tmp_path / "b.ipynb", tmp_path / "c.ipynb")
    assert store.current_notebook_name("a.ipynb", since=started) == "c.ipynb"
    assert store.current_notebook_name("a.ipynb", since=time.time() + 1) == "a.ipynb"
    assert store.current_notebook_name("other.ipynb", since=started) == "other.ipynb"
    clear_cache()


def test_an_ipython_kernel_follows_the_rename(ip: Any, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real IPython shell whose JPY_SESSION_NAME names the notebook as it was when the kernel started."""
    from mlops_magic.scheduling.renames import rename_notebook
    from mlops_magic.tracking.session import get_session

    folder = store.project_dir
    monkeypatch.setenv("JPY_SESSION_NAME", str(folder / "old.ipynb"))
    ip.run_cell_magic("mlops", "stage data", "x = 1")
    [first] = store.list_runs()
    assert first.notebook == "old.ipynb"
    (folder / "new.ipynb").write_text("{}")
    assert rename_notebook(store, folder / "old.ipynb", folder / "new.ipynb")["runs"] == 1
    get_session().close_implicit_run()
    ip.run_cell_magic("mlops", "stage data", "x = 2")
    assert [r.notebook for r in store.list_runs()] == ["new.ipynb", "new.ipynb"]


def test_a_headless_run_in_progress_does_not_flood_the_lifecycle_with_stale_warnings(tmp_path: Path) -> None:
    from mlops_magic.tracking.queries import notebook_lifecycle

    clear_cache()
    store = open_store(str(tmp_path))
    nb = tmp_path / "nb.ipynb"
    write_notebook(nb, [f"%%mlops stage {k}\nx = 1" for k in ("data", "train", "evaluate", "deploy")])

    def run(trigger: str, kinds: tuple[str, ...], finish: bool) -> str:
        r = store.create_run(notebook="nb.ipynb", trigger=trigger)
        for kind in kinds:
            store.finish_stage(store.start_stage(r.id, kind).id, "succeeded")
        if finish:
            store.finish_run(r.id, "succeeded")
        return r.id

    run("manual", ("data", "train", "evaluate", "deploy"), True)
    headless = run("schedule", ("data",), False)  # mid-run: only its first stage has run
    view = notebook_lifecycle(store, nb)
    assert view["run_id"] == headless
    assert [w for s in view["stages"] for w in s["warnings"]] == []
    store.finish_run(headless, "failed")  # it stopped there: now the later stages are stale, one line each
    view = notebook_lifecycle(store, nb)
    assert {s["name"]: s["warnings"] for s in view["stages"]}["evaluate"] == ["stale: data ran again after it"]
    run("interactive", ("train",), False)  # an interactive run stays running: it still makes stale
    evaluate = {s["name"]: s["warnings"] for s in notebook_lifecycle(store, nb)["stages"]}["evaluate"]
    assert evaluate == ["stale: data, train ran again after it"]
    clear_cache()


def test_a_renamed_notebooks_tag_stages_still_count_in_its_kernel(ip: Any, store: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Tag stages (`mlops:train`) are read from the notebook file by cell id; after a rename the kernel
    finds the file under its new name through the store."""
    from mlops_magic.scheduling.renames import rename_notebook

    folder = store.project_dir
    monkeypatch.setenv("JPY_SESSION_NAME", str(folder / "old.ipynb"))
    write_notebook(folder / "new.ipynb", ["model = 1"], tags={0: ["mlops:train"]})
    rename_notebook(store, folder / "old.ipynb", folder / "new.ipynb")
    assert ip.run_cell("model = 1", cell_id="c0").success
    [run] = store.list_runs()
    assert [s.kind for s in store.list_stages(run.id)] == ["train"] and run.notebook == "new.ipynb"


async def test_filters_are_checked_even_without_a_store(jp_fetch: Any, project: Any) -> None:
    for part in ("runs", "runs-table"):
        code, body = await error_of(jp_fetch, part, params={"at": "elsewhere/x.ipynb", "status": "done"})
        assert code == 400 and "unknown status 'done'" in body["message"]

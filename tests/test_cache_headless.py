"""The stage cache in real kernels: `mlops run --cache` twice is a restart and Run All, plain papermill
restores too, a package version reaches the key, and two processes filling one key store one entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _support import install_tiny_package
from click.testing import CliRunner

from mlops_magic.cache.entries import list_entries
from mlops_magic.cli.main import main
from mlops_magic.entities import result_metrics
from mlops_magic.scheduling.schedules import get_schedule
from mlops_magic.scheduling.tick import request_for
from mlops_magic.store import clear_cache, open_store
from mlops_magic.tracking.queries import cached_from


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / ".mlops").mkdir()
    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_STORE", "MLOPS_RUN_ID", "MLOPS_CACHE", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    yield tmp_path
    clear_cache()


def notebook(path: Path, *cells: str | tuple[str, list[str]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        source, tags = cell if isinstance(cell, tuple) else (cell, [])
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    nbformat.write(nb, path)
    return path


def mlops(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def restored(run_id: str) -> dict[str, str]:
    """stage name → the run it was restored from, for the stages of ``run_id`` the cache restored."""
    store = open_store()
    names = {s.id: s.name for s in store.list_stages(run_id)}
    return {names[sid]: source["run_id"] for sid, source in cached_from(store, run_ids=[run_id]).items()}


def outputs(path: Path) -> list[str]:
    """Each cell's text outputs, one per line."""
    nb = json.loads(path.read_text())
    return ["\n".join("".join(o.get("text") or o.get("data", {}).get("text/plain") or "").rstrip("\n")
                      for o in c.get("outputs", [])) for c in nb["cells"]]


PIPELINE = (
    ("rows = 1000", ["parameters"]),
    "%load_ext mlops_magic\nimport pandas as pd",
    "%%mlops stage data\ndef label(x):\n    return f'row {x}'\n"
    "frame = pd.DataFrame({'a': range(rows), 'b': [label(i) for i in range(rows)]})\n"
    "frame['c'] = frame.b.astype('category')\nprint('built', len(frame))\nframe.shape",
    ("total = float(frame.a.sum())\n%mlops metric total=total", ["mlops:train"]),
    "import mlops_magic as mlops\nprint('fingerprint', mlops.fingerprint(frame).digest, label(2))",
)


def test_restart_then_run_all_restores_in_a_real_kernel_and_plain_papermill_too(project) -> None:
    nb = notebook(project / "pipeline.ipynb", *PIPELINE)
    first = mlops("run", str(nb), "--cache", "-o", "first.ipynb").split()[0]
    second = mlops("run", str(nb), "--cache", "-o", "second.ipynb").split()[0]
    store = open_store()
    run_a, run_b = store.get_run(first), store.get_run(second)
    assert restored(run_a.id) == {} and restored(run_b.id) == {"data": run_a.id, "train": run_a.id}
    before, after = outputs(project / "first.ipynb"), outputs(project / "second.ipynb")
    assert before[2] == "built 1000\n(1000, 3)"
    assert after[2].startswith("built 1000\n(1000, 3)")  # the recorded outputs, shown again
    assert after[2].splitlines()[-1].startswith(f"data: cached from run {run_a.id[:8]} (restored frame: ")
    assert before[4] == after[4] and after[4].endswith(" row 2")  # equal by fingerprint; the def rebound
    assert result_metrics(store.latest_metrics([run_b.id])[run_b.id]) == {"total": 499500.0}
    assert len(list_entries(store)) == 2
    env = {**os.environ, "MLOPS_CACHE": "1"}
    subprocess.run([sys.executable, "-m", "papermill", str(nb), str(project / "plain.ipynb"), "-k", "python3"],
                   check=True, capture_output=True, env=env, cwd=project)
    plain = outputs(project / "plain.ipynb")
    assert f"data: cached from run {run_a.id[:8]}" in plain[2] and plain[4] == before[4]


def test_a_package_version_reaches_the_key_in_a_kernel(project, monkeypatch) -> None:
    packages = project / "site"
    install_tiny_package(packages, "1.0", record=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(packages), os.environ.get("PYTHONPATH", "")]))
    nb = notebook(project / "versions.ipynb", "%%mlops stage data\nimport tinypkg\nvalues = [tinypkg.K] * 3")
    runs = [mlops("run", str(nb), "--cache").split()[0]]
    runs.append(mlops("run", str(nb), "--cache").split()[0])
    install_tiny_package(packages, "1.1", record=False)
    runs.append(mlops("run", str(nb), "--cache").split()[0])
    runs.append(mlops("run", str(nb), "--cache").split()[0])
    ids = [open_store().get_run(r).id for r in runs]
    assert [restored(i) for i in ids] == [{}, {"data": ids[0]}, {}, {"data": ids[2]}]


def test_two_processes_filling_the_same_key_store_one_entry(project) -> None:
    # both kernels wait inside the stage until both are there: both missed the cache, both save (the wait
    # is long: on a loaded machine the second kernel may start a minute after the first)
    barrier = ("%%mlops stage data\nimport os, time\nopen(f'arrived-{os.getpid()}', 'w').close()\n"
               "deadline = time.time() + 300\n"
               "while len([f for f in os.listdir('.') if f.startswith('arrived-')]) < 2 and time.time() < deadline:\n"
               "    time.sleep(0.05)\n"
               "table = {'rows': list(range(50))}")
    for name in ("a", "b"):
        notebook(project / f"{name}.ipynb", barrier)
    out = mlops("run", "a.ipynb", "b.ipynb", "--parallel", "2", "--cache", "--timeout", "600")
    store = open_store()
    ids = [store.get_run(line.split()[0]).id for line in out.strip().splitlines()]
    assert [restored(i) for i in ids] == [{}, {}] and len(list(project.glob("arrived-*"))) == 2
    [entry] = list_entries(store)
    assert entry["run_id"] in ids
    objects = [r[0] for r in store.db.query("SELECT digest FROM cache_objects")]
    assert all(store.artifacts.path_for(d).exists() for d in objects)
    executed = [outputs(Path(a.path))[0] for i in ids for a in store.list_artifacts(i) if a.name == "executed.ipynb"]
    lost = "data: not cached: another run stored the same entry first"
    assert sorted(lost in text for text in executed) == [False, True]


def test_a_schedule_added_with_cache_runs_with_it(project) -> None:
    nb = notebook(project / "nightly.ipynb", "%%mlops stage data\nx = 1")
    schedule_id = mlops("schedule", "add", str(nb), "--cron", "0 2 * * *", "--cache").split()[0]
    store = open_store()
    schedule = get_schedule(store, schedule_id)
    assert schedule.cache and request_for(store, schedule, "schedule").cache is True
    [row] = json.loads(mlops("schedule", "list", "--format", "json"))
    assert row["cache"] is True
    plain = get_schedule(store, mlops("schedule", "add", str(nb), "--cron", "0 3 * * *").split()[0])
    assert not plain.cache and request_for(store, plain, "schedule").cache is None


def test_mlops_cache_ls_and_clear(project) -> None:
    nb = notebook(project / "small.ipynb", "%%mlops stage data\nnumbers = list(range(10))")
    mlops("run", str(nb), "--cache")
    listing = mlops("cache", "ls")
    header, row, total = listing.strip().splitlines()
    assert header.split() == ["KEY", "STAGE", "NOTEBOOK", "RUN", "SIZE", "TOOK", "HITS", "LAST", "USED"]
    assert row.split()[1:3] == ["data", "small.ipynb"] and total.startswith("1 entry, ")
    [entry] = json.loads(mlops("cache", "ls", "--format", "json"))
    assert entry["stage"] == "data" and entry["notebook"] == "small.ipynb" and entry["hits"] == 0
    assert mlops("cache", "clear", "--older-than", "30d") == "removed 0 cache entries (0 B)\n"
    objects = [r[0] for r in open_store().db.query("SELECT digest FROM cache_objects")]
    assert mlops("cache", "clear").startswith("removed 1 cache entry (")
    assert not any(open_store().artifacts.path_for(d).exists() for d in objects)
    bad = CliRunner().invoke(main, ["cache", "clear", "--older-than", "soon"])
    assert bad.exit_code == 2 and "write an age such as 90m, 12h, 30d or 2w" in bad.output

"""The stage cache on a real IPython shell: what invalidates a stage, what a restore gives back, and how
it is recorded (every stage is cached here through MLOPS_CACHE=1, as `mlops run --cache` sets it)."""

from __future__ import annotations

import json

import pytest
from _support import install_tiny_package
from IPython.utils.capture import capture_output

from mlops_magic.cache.entries import list_entries
from mlops_magic.store import cache as cache_tables
from mlops_magic.tracking.fingerprint import fingerprint
from mlops_magic.tracking.queries import cached_from, run_detail
from mlops_magic.tracking.session import get_session


@pytest.fixture
def cached(ip, monkeypatch):
    monkeypatch.setenv("MLOPS_CACHE", "1")
    return ip


def run(ip, cell: str) -> str:
    """Run a cell; its printed output (the cell must succeed)."""
    return shown(ip, cell).stdout


def shown(ip, cell: str):
    """Run a cell; what it printed and displayed."""
    with capture_output() as out:
        result = ip.run_cell(cell)
    assert result.success, out.stdout + out.stderr
    return out


def last_stage(name: str):
    session = get_session()
    return [s for s in session.store.list_stages(session.active_run_id()) if s.name == name][-1]


def was_restored(name: str) -> bool:
    return last_stage(name).id in cached_from(get_session().store, stage_ids=[last_stage(name).id])


DATA_STAGE = """%%mlops stage data
import pandas as pd
import tinypkg
%mlops fingerprint data.csv --role input
raw = pd.read_csv("data.csv")
features = raw.assign(scaled=raw.x * rows + tinypkg.K, shifted=raw.x + base.offset.sum())
"""


def test_each_cause_reruns_the_stage_and_an_unchanged_stage_is_restored(cached, store_dir, monkeypatch) -> None:
    install_tiny_package(store_dir / "pkgs", "1.0")
    monkeypatch.syspath_prepend(str(store_dir / "pkgs"))
    (store_dir / "data.csv").write_text("x\n1\n2\n3\n")
    run(cached, "import pandas as pd\nrows = 3")
    run(cached, "%%mlops stage problem\nbase = pd.DataFrame({'offset': [1, 2]})")

    def again(cell: str = DATA_STAGE) -> bool:
        cached.user_ns.pop("features", None)
        run(cached, cell)
        return was_restored("data")

    assert not again()  # the first run computes
    assert again()  # nothing changed: restored
    assert not again(DATA_STAGE + "features['twice'] = features.x * 2\n") and again(DATA_STAGE + \
        "features['twice'] = features.x * 2\n")  # the code changed; then it is the new code's entry
    run(cached, "rows = 4")
    assert not again() and again()  # a parameter it reads
    run(cached, "%%mlops stage problem\nbase = pd.DataFrame({'offset': [5, 2]})")
    assert not again() and again()  # an upstream variable it reads
    run(cached, "%%mlops stage problem\nbase = pd.DataFrame({'offset': [5, 2]})  # same frame, other code")
    assert again()  # ... by value: the upstream stage's new code made the same frame
    (store_dir / "data.csv").write_text("x\n1\n2\n4\n")
    assert not again() and again()  # an input file
    install_tiny_package(store_dir / "pkgs", "2.0")
    assert not again() and again()  # the version of a package it imports


def test_restored_values_equal_the_originals_by_fingerprint(cached) -> None:
    run(cached, "import numpy as np\nimport pandas as pd")
    cell = """%%mlops stage data
frame = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64"), "c": pd.Categorical(["u", "v", "u"]),
                      "t": pd.to_datetime(["2020-01-01", None, "2021-06-01"]).tz_localize("Europe/Paris"),
                      "s": ["a", None, "c"]}, index=pd.Index(["p", "q", "r"], name="key"))
column = frame["c"]
matrix = np.arange(12, dtype="float32").reshape(3, 4)
settings = {"lr": 0.1, "layers": (64, 32), "tags": {"x"}, "seed": np.int64(7)}
"""
    run(cached, cell)
    names = ("frame", "column", "matrix")
    before = {n: fingerprint(cached.user_ns[n]).digest for n in names}
    dtypes = list(cached.user_ns["frame"].dtypes)
    settings = cached.user_ns["settings"]
    for name in (*names, "settings"):
        del cached.user_ns[name]
    out = run(cached, cell)
    assert out.startswith("data: cached from run ") and "(restored column, frame, matrix, settings: " in out
    assert {n: fingerprint(cached.user_ns[n]).digest for n in names} == before
    assert list(cached.user_ns["frame"].dtypes) == dtypes
    assert cached.user_ns["settings"] == settings and type(cached.user_ns["settings"]["seed"]).__name__ == "int64"
    recorded = {fp.name: fp.digest for fp in last_stage("data").fingerprints if fp.role == "output"}
    assert {n: recorded[n] for n in names} == before  # the restored stage's record names the same data


def test_a_restore_shows_the_outputs_again_and_binds_the_definitions(cached) -> None:
    cell = """%%mlops stage data
import math
from IPython.display import HTML, display
def area(r):
    return math.pi * r * r
print("computed", area(1.0))
display(HTML("<b>table</b>"))
total = 40 + 2
total
"""
    first = shown(cached, cell)
    for name in ("math", "area", "total", "HTML", "display"):
        cached.user_ns.pop(name)
    second = shown(cached, cell)
    assert "computed 3.14159" in first.stdout and "computed 3.14159" in second.stdout
    assert [o.data["text/plain"] for o in first.outputs] == ["<IPython.core.display.HTML object>"]
    assert [o.data for o in second.outputs] == [*[o.data for o in first.outputs], {"text/plain": "42"}]
    assert cached.user_ns["area"](2.0) == pytest.approx(12.566, rel=1e-3) and cached.user_ns["total"] == 42
    assert was_restored("data")


def test_a_value_no_safe_format_holds_leaves_the_stage_uncached_with_one_line(cached) -> None:
    cell = "%%mlops stage data\nimport threading\nlock = threading.Lock()\nvalue = 3"
    out = run(cached, cell)
    assert out.strip().splitlines() == [
        "data: not cached: lock is a _thread.lock, which the cache cannot store without pickle"]
    assert cached.user_ns["value"] == 3 and not list_entries(get_session().store)
    run(cached, cell)
    assert not was_restored("data")


def test_what_a_restore_cannot_repeat_or_see_is_said_and_the_stage_runs(cached) -> None:
    run(cached, "handle = open('notes.txt', 'w')")
    out = run(cached, "%%mlops stage data\nsize = handle.tell()")
    assert "data: not cached: it reads handle, a _io.TextIOWrapper, which the key cannot fingerprint" in out
    run(cached, "handle.close()")
    out = run(cached, "%%mlops stage evaluate\n%mlops metric auc=0.9\n%mlops gate 'auc >= 0.5'")
    assert "evaluate: not cached: it runs %mlops gate, which acts on the store; a restore would not do it again" in out
    out = run(cached, "%%mlops stage data\nimport numpy as np\nnoise = np.random.rand(3)")
    assert "data: --cache: it calls numpy.random.rand without a seed: a restore repeats the first run's draws" in out


def test_a_corrupt_or_missing_entry_falls_back_to_running_the_stage(cached) -> None:
    cell = "%%mlops stage data\nimport pandas as pd\ndf = pd.DataFrame({'a': range(100)})"
    run(cached, cell)
    store = get_session().store
    [entry] = list_entries(store)
    digests = [r[0] for r in store.db.query("SELECT digest FROM cache_objects WHERE key = ?", (entry["key"],))]
    frame_object = max((store.artifacts.path_for(d) for d in digests), key=lambda p: p.stat().st_size)
    frame_object.write_bytes(frame_object.read_bytes()[:-20] + b"x" * 20)  # a few bytes changed on disk
    out = run(cached, cell)
    assert f"data: cache entry {entry['key'][:12]} is unusable (object " in out and "running the stage" in out
    assert not was_restored("data") and cached.user_ns["df"].shape == (100, 1)
    assert run(cached, cell).startswith("data: cached from run")  # the run saved a good entry again
    for digest in digests:
        store.artifacts.remove(digest)
    out = run(cached, cell)
    assert "is unusable" in out and "is missing" in out and not was_restored("data")


def test_metrics_a_restored_stage_copies_are_marked_and_a_gate_says_so(cached) -> None:
    cell = "%%mlops stage evaluate\nauc = 0.91\n%mlops metric auc=auc\n%mlops params depth=3"
    run(cached, cell)
    first_run = get_session().active_run_id()
    get_session().end_run()  # a new kernel session: a new run
    run(cached, cell)
    run_id = get_session().active_run_id()
    assert run_id != first_run and was_restored("evaluate")
    store = get_session().store
    assert store.latest_metrics([run_id])[run_id] == {"auc": 0.91}
    assert store.get_run(run_id).params == {"depth": 3}
    detail = run_detail(store, run_id)
    [stage] = detail["stages"]
    assert stage["cached_from"]["run_id"] == first_run and stage["cached_from"]["restored"] == ["auc", "depth"]
    assert detail["metrics_latest"]["auc"]["cached_from"] == first_run
    out = run(cached, "%mlops gate 'auc >= 0.8'")
    assert f"✔ auc >= 0.8 [0.91, cached from run {first_run[:8]}]" in out
    shown = run(cached, f"%mlops show {run_id}")
    assert f"(cached from run {first_run[:8]}, saved " in shown and f"cached from run {first_run[:8]})" in shown
    from mlops_magic.display.runs import RunView
    from mlops_magic.report import run_report

    for html in (RunView(detail)._repr_html_(), run_report(store, run_id, include_notebook=False)):
        assert f"cached from run {first_run[:8]}" in html and "&lt;span" not in html  # the badge stays markup


def test_the_cache_keeps_to_its_size_by_evicting_the_least_recently_used(cached, monkeypatch) -> None:
    run(cached, "import numpy as np")
    run(cached, "%%mlops stage data\na = np.zeros(20_000)")  # ~160 KB
    store = get_session().store
    [first] = list_entries(store)
    first_objects = [r[0] for r in store.db.query("SELECT digest FROM cache_objects WHERE key = ?", (first["key"],))]
    monkeypatch.setenv("MLOPS_CACHE_MAX_BYTES", "250KB")
    run(cached, "%%mlops stage train\nb = np.ones(20_000)")
    assert [e["stage"] for e in list_entries(store)] == ["train"]
    assert not any(store.artifacts.path_for(d).exists() for d in first_objects)
    monkeypatch.setenv("MLOPS_CACHE_MAX_BYTES", "10KB")
    out = run(cached, "%%mlops stage evaluate\nc = np.ones(30_000)")
    assert "evaluate: not cached: its outputs (" in out and "exceed the cache's cap of 9.8 KiB" in out


def test_a_stage_of_comments_only_is_left_alone(cached) -> None:
    cell = "%%mlops stage problem\n# Predict churn; success metric: AUC >= 0.8"
    assert run(cached, cell) == "" and run(cached, cell) == ""
    assert not list_entries(get_session().store)


def test_mlops_cache_0_turns_the_cache_off(cached, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_CACHE", "0")
    cell = "%%mlops stage data\nx = 1"
    assert run(cached, cell) == "" and run(cached, cell) == ""
    assert not list_entries(get_session().store)


def test_the_lab_answer_and_the_store_row_name_the_source(cached) -> None:
    cell = "%%mlops stage data\nvalues = [1, 2, 3]"
    run(cached, cell)
    source = last_stage("data")
    run(cached, cell)
    store = get_session().store
    [row] = cache_tables.restores(store.db, stage_ids=[last_stage("data").id])
    assert (row["source_run_id"], row["source_stage_id"], row["restored"]) == (source.run_id, source.id, ["values"])
    assert json.loads(json.dumps(run_detail(store, source.run_id)))["stages"][-1]["cached_from"]["stage_id"] == \
        source.id


def test_a_timed_stage_is_cached_and_its_imports_rebound(cached) -> None:
    cell = "%%mlops stage data\n%%time\nimport json\nrows = json.loads('[1, 2, 3]')\n"
    assert "Wall time" in run(cached, cell)
    for name in ("json", "rows"):
        del cached.user_ns[name]
    out = run(cached, cell)
    assert "data: cached from run" in out and cached.user_ns["rows"] == [1, 2, 3]
    assert cached.user_ns["json"].dumps([1]) == "[1]"


def test_what_autolog_recorded_is_copied_to_a_restored_stage_and_stays_marked(cached) -> None:
    from mlops_magic.store import autolog as autolog_table

    cell = ("%%mlops stage train\nimport numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
            "X = np.arange(40.0).reshape(20, 2)\ny = np.arange(20) % 2\nmodel = LogisticRegression(C=0.5).fit(X, y)")
    run(cached, cell)
    first = get_session().active_run_id()
    get_session().end_run()
    run(cached, cell)
    second = get_session().active_run_id()
    assert was_restored("train")
    store = get_session().store
    before, after = autolog_table.marks(store.db, first), autolog_table.marks(store.db, second)
    assert before and set(after) == set(before)
    assert [value for _, value, _ in after.values()] == [value for _, value, _ in before.values()]
    assert store.get_run(second).params == store.get_run(first).params and store.get_run(first).params["C"] == 0.5


def test_outputs_too_large_to_keep_are_not_replayed_and_the_stage_says_so(cached) -> None:
    cell = "%%mlops stage data\nbig = 'x' * (11 * 2**20)\nprint(big)\nsize = len(big)"
    first = run(cached, cell)
    assert first.splitlines()[-1] == "data: --cache: the cell's outputs are over 10 MiB; a restore will not show them"
    for name in ("big", "size"):
        del cached.user_ns[name]
    second = run(cached, cell)
    assert second.startswith("data: cached from run") and cached.user_ns["size"] == 11 * 2**20


def test_the_header_caches_a_stage_with_its_inputs_and_outputs(ip, store_dir, monkeypatch) -> None:
    monkeypatch.delenv("MLOPS_CACHE", raising=False)
    (store_dir / "raw.txt").write_text("3 4 5\n")
    cell = ('%%mlops stage data --cache --inputs raw.txt --outputs "out/*.txt"\n'
            "numbers = [int(x) for x in open('raw.txt').read().split()]\n"
            "import os\nos.makedirs('out', exist_ok=True)\nwith open('out/sum.txt', 'w') as out:\n"
            "    out.write(str(sum(numbers)))\n")
    assert run(ip, cell) == ""  # declared input: no warning about reading a file
    (store_dir / "out" / "sum.txt").unlink()
    del ip.user_ns["numbers"], ip.user_ns["out"]
    assert run(ip, cell).startswith("data: cached from run") and was_restored("data")
    assert (store_dir / "out" / "sum.txt").read_text() == "12" and ip.user_ns["numbers"] == [3, 4, 5]
    (store_dir / "raw.txt").write_text("3 4 6\n")
    assert run(ip, cell) == "" and not was_restored("data")  # the input changed: computed again
    assert (store_dir / "out" / "sum.txt").read_text() == "13"
    plain = "%%mlops stage train\ntotal = sum(numbers)"
    run(ip, plain)
    assert run(ip, plain) == "" and not was_restored("train") and not list_entries(get_session().store)[2:]
    monkeypatch.setenv("MLOPS_CACHE", "0")  # a reproduction: not even --cache stages are restored
    assert run(ip, cell) == "" and not was_restored("data")

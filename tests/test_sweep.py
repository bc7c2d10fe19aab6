"""`mlops sweep` in real kernels: a parent run with one child per point, the cache shared by the points,
random points from a seed, failing points, selection and registration, and hostile specs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cache_headless import notebook

from mlops_magic.cli.main import main
from mlops_magic.entities import RunStatus
from mlops_magic.registry.versions import versions_of
from mlops_magic.store import open_store
from mlops_magic.store import sweeps as sweep_table
from mlops_magic.tracking.queries import cached_from
from mlops_magic.tracking.sweeps import sweep_detail

#: A data stage that reads no swept parameter (so the cache can share it) and a train stage that does.
TRAIN = (
    ("alpha = 1.0\ndepth = 2\nrows = 200\nfail_at = -1", ["parameters"]),
    "%load_ext mlops_magic\nimport numpy as np\nimport pandas as pd",
    "%%mlops stage data\nvalues = np.random.default_rng(0).normal(size=(rows, 2))\n"
    "X = pd.DataFrame({'a': values[:, 0], 'b': values[:, 1]})\n"
    "y = (X.a + 0.5 * X.b > 0).astype(int)",
    "%%mlops stage train\nfrom sklearn.linear_model import LogisticRegression\n"
    "assert depth != fail_at, f'depth {depth} fails on purpose'\n"
    "model = LogisticRegression(C=alpha, max_iter=200).fit(X, y)\n"
    "score = float(model.score(X, y)) - 0.001 * depth + 0.0001 * alpha\n"
    "%mlops metric score=score",
)


def sweep(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["sweep", *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def only_sweep(store) -> str:
    parents = store.list_runs(trigger="sweep")
    ids = [r.id for r in parents if sweep_table.get(store.db, r.id) is not None]
    assert len(ids) == 1, ids
    return ids[0]


def test_grid_with_cache_runs_the_data_stage_once_and_selects_the_best(store_dir) -> None:
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    out = sweep(str(nb), "-p", "alpha", "0.5,1,2", "-p", "depth", "2,3", "--cache", "--parallel", "2",
                "--select", "max score")
    store = open_store()
    sweep_id = only_sweep(store)
    detail = sweep_detail(store, sweep_id)
    points = detail["points"]
    assert len(points) == 6 and all(p["status"] == RunStatus.SUCCEEDED for p in points)
    assert {(p["params"]["alpha"], p["params"]["depth"]) for p in points} == {
        (a, d) for a in (0.5, 1.0, 2.0) for d in (2, 3)}
    assert all(isinstance(p["params"]["alpha"], float) for p in points)  # typed as the parameters cell: float
    # the data stage ran in one point; the five others restored it from that point (the stage records say so)
    data_ran = []
    for p in points:
        stages = {s.name: s for s in store.list_stages(p["id"])}
        sources = cached_from(store, stage_ids=[stages["data"].id])
        if stages["data"].id not in sources:
            data_ran.append(p["id"])
        else:
            assert stages["train"].id not in cached_from(store, stage_ids=[stages["train"].id])
    assert len(data_ran) == 1
    # the best child: the highest score, recorded on the sweep and logged as the parent's metric
    best = max(points, key=lambda p: p["metrics"]["score"])
    assert detail["sweep"]["best_run_id"] == best["id"]
    assert store.latest_metrics([sweep_id])[sweep_id]["score"] == pytest.approx(best["metrics"]["score"])
    assert store.get_run(sweep_id).status == RunStatus.SUCCEEDED
    assert f"best (max score): run {best['id'][:8]}" in out
    # `mlops runs` lists the points under their sweep; --sweep keeps only it
    listing = CliRunner().invoke(main, ["runs"]).output.splitlines()
    at = next(i for i, line in enumerate(listing) if line.startswith(sweep_id[:8]))
    assert all(line.startswith("└ ") for line in listing[at + 1:at + 7])
    only = CliRunner().invoke(main, ["runs", "--sweep", sweep_id[:8], "--format", "json"]).output
    assert only.count('"id"') == 7


def test_random_points_are_drawn_from_the_seed(store_dir) -> None:
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    args = [str(nb), "--random", "3", "--seed", "7", "-p", "alpha", "loguniform:0.01:10", "-p", "depth", "int:1:4"]
    sweep(*args)
    sweep(*args)
    store = open_store()
    sweeps = [r.id for r in store.list_runs(trigger="sweep") if sweep_table.get(store.db, r.id)]
    drawn = [[(p["params"]["alpha"], p["params"]["depth"]) for p in sweep_detail(store, s)["points"]]
             for s in sweeps]
    assert drawn[0] == drawn[1] and len(set(drawn[0])) == 3
    assert all(0.01 <= a <= 10 and isinstance(d, int) and 1 <= d <= 4 for a, d in drawn[0])
    assert sweep_detail(store, sweeps[0])["sweep"]["seed"] == 7


def test_a_failing_point_is_reported_and_the_others_are_kept(store_dir) -> None:
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    result = CliRunner().invoke(
        main, ["sweep", str(nb), "-p", "depth", "1,2,3", "-p", "fail_at", "2", "--select", "max score", "--report"])
    assert result.exit_code == 0, result.output
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed point")]
    assert len(failed) == 1 and "depth=2" in failed[0] and "fails on purpose" in failed[0]
    store = open_store()
    detail = sweep_detail(store, only_sweep(store))
    assert [p["status"] for p in detail["points"]] == [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUCCEEDED]
    assert detail["sweep"]["failed"] == 1 and detail["run"].status == RunStatus.SUCCEEDED
    # the report: the objective against each swept parameter, one point per succeeded run
    page = Path(result.stdout.split("report: ")[1].strip()).read_text()
    assert "score vs depth" in page and "score vs fail_at" in page
    chart = page.split(">score vs depth<")[1].split("</svg>")[0]
    assert chart.count("<circle") == 2 and "<polyline" not in chart


def test_every_point_failing_fails_the_sweep(store_dir) -> None:
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    out = sweep(str(nb), "-p", "depth", "2", "-p", "fail_at", "2", code=1)
    assert "all 1 points failed" in out
    store = open_store()
    assert store.get_run(only_sweep(store)).status == RunStatus.FAILED


def test_select_and_register_the_best_point_through_the_registry(store_dir) -> None:
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    out = sweep(str(nb), "-p", "depth", "3,2", "--select", "max score where score > 0.5", "--register", "clf",
                "--if-better", "score")
    store = open_store()
    sweep_id = only_sweep(store)
    detail = sweep_detail(store, sweep_id)
    best = max(detail["points"], key=lambda p: p["metrics"]["score"])
    assert best["params"]["depth"] == 2 and detail["sweep"]["best_run_id"] == best["id"]
    version = versions_of(store, "clf")[-1]
    assert version.run_id == best["id"] and version.metrics["score"] == pytest.approx(best["metrics"]["score"])
    assert f"registered clf v1 from run {best['id'][:8]}" in out
    # a second sweep whose best (a deeper, so lower, score) does not beat v1 on score registers nothing
    out = sweep(str(nb), "-p", "depth", "4,5", "--select", "max score", "--register", "clf", "--if-better", "score")
    assert "not registered" in out and "does not beat clf v1" in out and len(versions_of(store, "clf")) == 1


@pytest.mark.parametrize("args, message", [
    (["-p", "alpha", ""], "-p alpha has no values"),
    (["-p", "alpha", "1,,2"], "empty value"),
    (["-p", "depth", "2.5"], "depth is a int"),
    (["-p", "depth", "abc"], "this value is a str"),
    (["-p", "alpha", "loguniform:0:1", "--random", "2"], "LOW must be above 0"),
    (["-p", "alpha", "uniform:2:1", "--random", "2"], "LOW must be below HIGH"),
    (["-p", "alpha", "loguniform:0.1:1"], "draw points from it with --random"),
    (["-p", "depth", "uniform:1:5", "--random", "2"], "use -p depth int:LOW:HIGH"),
    (["-p", "1bad", "1,2"], "not a valid Python name"),
    (["-p", "alpha", "1", "-p", "alpha", "2"], "given twice"),
    ([], "at least one -p"),
    (["-p", "alpha", ",".join(str(i) for i in range(40)), "-p", "depth", ",".join(str(i) for i in range(40))],
     "more than the 1,000"),
    (["-p", "alpha", "1", "--select", "best score"], "expected 'max' or 'min'"),
    (["-p", "alpha", "1", "--select", "max score where score >"], "cannot parse gate"),
    (["-p", "alpha", "1", "--register", "clf"], "--register needs --select"),
    (["-p", "alpha", "1", "--optuna", "3"], "--optuna needs --select"),
    (["-p", "alpha", "1", "--optuna", "3", "--random", "3", "--select", "max score"], "not both"),
])
def test_hostile_specs_are_one_line_and_nothing_is_recorded(store_dir, args, message) -> None:
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    result = CliRunner().invoke(main, ["sweep", str(nb), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert open_store().list_runs() == []


def test_the_magic_lists_a_sweep_and_its_points(ip, store_dir) -> None:
    from IPython.core.error import UsageError

    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    sweep(str(nb), "-p", "depth", "2,3", "--select", "max score")
    store = open_store()
    sweep_id = only_sweep(store)
    frame = ip.run_line_magic("mlops", f"runs --sweep {sweep_id[:8]}")
    assert frame["id"][0] == sweep_id and len(frame) == 3
    assert set(frame["parent_run_id"][1:]) == {sweep_id} and set(frame["params.depth"][1:]) == {2, 3}
    child = frame["id"][1]
    with pytest.raises(UsageError, match="is not a sweep"):
        ip.run_line_magic("mlops", f"runs --sweep {child}")


def test_without_optuna_the_option_is_one_line(store_dir, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if the extra were not installed: import fails
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    result = CliRunner().invoke(main, ["sweep", str(nb), "-p", "alpha", "1,2", "--optuna", "3",
                                       "--select", "max score"])
    assert result.exit_code == 2 and result.stderr.strip() == (
        "Error: --optuna needs Optuna, which is not installed: pip install 'mlops-magic[optuna]'")
    assert open_store().list_runs() == []


def test_optuna_drives_five_trials_as_child_runs(store_dir) -> None:
    pytest.importorskip("optuna")
    nb = notebook(store_dir / "train.ipynb", *TRAIN)
    out = sweep(str(nb), "--optuna", "5", "--seed", "3", "-p", "alpha", "loguniform:0.1:10", "-p", "depth", "int:1:4",
                "--select", "max score", "--parallel", "2")
    store = open_store()
    detail = sweep_detail(store, only_sweep(store))
    points = detail["points"]
    assert detail["sweep"]["method"] == "optuna" and len(points) == 5
    assert all(p["status"] == RunStatus.SUCCEEDED for p in points)
    assert all(0.1 <= p["params"]["alpha"] <= 10 and p["params"]["depth"] in (1, 2, 3, 4) for p in points)
    best = max(points, key=lambda p: p["metrics"]["score"])
    assert detail["sweep"]["best_run_id"] == best["id"] and f"run {best['id'][:8]}" in out

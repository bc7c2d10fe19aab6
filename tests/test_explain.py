"""Explain a change: diff, reproduce, lineage and model cards on real notebooks run by the real `mlops run`.

One project is built per module (each headless run starts a kernel): a churn-like notebook is run,
then re-run after exactly one change (a data file, one cell's code, a parameter), and a second
notebook reads the same data file. Each test asserts what the explain core says about that change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.store import clear_cache, open_store

HOSTILE = "<script>alert('owned')</script>"

PROBLEM = f"""%%mlops stage problem
# Flag customers likely to leave, so the team can call them. {HOSTILE}
# Success metric: accuracy >= 0.6 on held-out rows
# Owner: growth-team
# Limitations: synthetic data only"""

DATA = """%%mlops stage data
import pandas as pd
frame = pd.read_csv("data/train.csv")
%mlops fingerprint data/train.csv --role input --name train_data
X = frame[["x1", "x2"]]
y = frame["label"]
len(frame)"""

TRAIN = """%%mlops stage train
from sklearn.linear_model import LogisticRegression
%mlops params C={C}
model = LogisticRegression(C=C, max_iter=200).fit(X, y)"""

EVALUATE = """%%mlops stage evaluate
accuracy = float(model.score(X, y))
%mlops metric accuracy=accuracy
print("accuracy", round(accuracy, 4))"""

DEPLOY = """%%mlops stage deploy
version = %mlops model register model --name leaver --input X
%mlops model promote leaver --to production"""

OTHER = """%%mlops stage data
import pandas as pd
rows = pd.read_csv("data/train.csv")
%mlops fingerprint data/train.csv --role input --name shared
len(rows)"""


def notebook(path: Path, cells: list[tuple[str, list[str]]]) -> None:
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags}, "source": src, "outputs": [],
                     "execution_count": None} for i, (src, tags) in enumerate(cells)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


def churn_cells(train: str = TRAIN) -> list[tuple[str, list[str]]]:
    return [("%load_ext mlops_magic", []), ("C = 1.0", ["parameters"]), (PROBLEM, []), (DATA, []), (train, []),
            (EVALUATE, []), (DEPLOY, [])]


def write_data(path: Path, n: int, seed: int) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    label = (x1 + 0.5 * x2 + rng.normal(scale=1.0, size=n) > 0).astype(int)
    lines = ["x1,x2,label"] + [f"{a:.6f},{b:.6f},{c}" for a, b, c in zip(x1, x2, label)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_nb(*args: str) -> str:
    result = cli("run", *args)
    assert result.exit_code == 0, result.output
    return result.output.split()[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Runs: base; data changed; one cell's code changed; a parameter changed; another notebook."""
    root = tmp_path_factory.mktemp("explain")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    for var in ("MLOPS_STORE", "MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE", "JPY_SESSION_NAME"):
        mp.delenv(var, raising=False)
    clear_cache()
    (root / ".mlops").mkdir()
    (root / "data").mkdir()
    write_data(root / "data" / "train.csv", 200, seed=1)
    notebook(root / "churn.ipynb", churn_cells())
    runs = {"base": run_nb("churn.ipynb")}
    write_data(root / "data" / "train.csv", 260, seed=2)
    runs["data"] = run_nb("churn.ipynb")
    notebook(root / "churn.ipynb", churn_cells(TRAIN.replace("max_iter=200", "max_iter=300, tol=1e-5")))
    runs["code"] = run_nb("churn.ipynb")
    runs["param"] = run_nb("churn.ipynb", "-p", "C", "0.01")
    notebook(root / "other.ipynb", [("%load_ext mlops_magic", []), (OTHER, [])])
    runs["other"] = run_nb("other.ipynb")
    store = open_store()
    full = {k: store.resolve_run_id(v) for k, v in runs.items()}
    yield root, full
    clear_cache()
    mp.undo()


def diff_json(a: str, b: str) -> dict[str, Any]:
    result = cli("diff", a, b, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def stage(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in d["stages"] if s["name"] == name)


def test_only_a_data_file_changed_names_the_data_stage_input_and_nothing_else(project: Any) -> None:
    _, runs = project
    d = diff_json(runs["base"], runs["data"])
    assert d["headline"].startswith("only the data changed; accuracy ")
    assert [s["name"] for s in d["stages"]] == ["problem", "data", "train", "evaluate", "deploy"]
    assert stage(d, "data")["inputs_changed"] == ["train_data"]
    assert "input `data/train.csv` changed: 201 → 261 rows" in stage(d, "data")["input_changes"][0]
    for s in d["stages"]:
        assert s["code_changed"] is False and s["params_changed"] == {}
        if s["name"] != "data":
            assert s["inputs_changed"] == [], s["name"]
    assert stage(d, "deploy")["output_changes"][-1].startswith("input `X` (made by data) changed: 200 → 260 rows")
    acc = stage(d, "evaluate")["metrics"]["accuracy"]
    assert acc["delta"] == pytest.approx(acc["b"] - acc["a"]) and acc["delta"] != 0
    text = cli("diff", runs["base"], runs["data"]).output
    assert text.splitlines()[0] == d["headline"]
    assert "problem: unchanged" in text and "environment: unchanged" in text


def test_one_cells_code_changed_shows_that_stages_diff_only(project: Any) -> None:
    _, runs = project
    d = diff_json(runs["data"], runs["code"])
    assert d["headline"].startswith("only the code of train changed")
    train = stage(d, "train")
    assert train["code_changed"] is True
    assert "-model = LogisticRegression(C=C, max_iter=200).fit(X, y)" in train["code_diff"]
    assert "+model = LogisticRegression(C=C, max_iter=300, tol=1e-5).fit(X, y)" in train["code_diff"]
    assert [s["name"] for s in d["stages"] if s["code_changed"]] == ["train"]
    assert all(s["inputs_changed"] == [] and s["params_changed"] == {} for s in d["stages"])


def test_a_parameter_change_is_attributed_to_the_stage_that_logged_it(project: Any) -> None:
    _, runs = project
    d = diff_json(runs["code"], runs["param"])
    assert d["headline"].startswith("only parameters (C) changed; accuracy ")
    assert stage(d, "train")["params_changed"] == {"C": [1.0, 0.01]}
    assert [s["name"] for s in d["stages"] if s["params_changed"]] == ["train"]
    assert not any(s["code_changed"] or s["inputs_changed"] for s in d["stages"])


def test_html_diff_is_escaped(project: Any) -> None:
    from mlops_magic.explain.diff import diff_runs

    _, runs = project
    html = diff_runs(open_store(), runs["data"], runs["code"])._repr_html_()
    assert "only the code of train changed" in html
    assert "max_iter=300, tol=1e-5" in html and "<script>" not in html


def test_reproduce_unchanged_then_refused_then_allowed(project: Any) -> None:
    root, runs = project
    store = open_store()
    result = cli("reproduce", runs["param"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.split(":")[0] == "reproduced"
    again = store.get_run("latest")
    assert again.trigger == "reproduce" and again.parent_run_id == runs["param"]
    assert again.notebook == "churn.ipynb" and again.params.get("C") == 0.01

    # an environment change, faked by a recorded package version: the diff says only that
    env = dict(again.environment)
    env["packages"] = {**env["packages"], "scikit-learn": "0.0.1"}
    store.db.write("UPDATE runs SET environment = ? WHERE id = ?", (json.dumps(env), again.id))
    d = diff_json(runs["param"], again.id)
    assert d["headline"].startswith("only the environment (scikit-learn ")
    assert d["headline"].endswith("→ 0.0.1) changed; metrics unchanged")
    assert d["environment"] == {"scikit-learn": [runs_env(store, runs["param"])["scikit-learn"], "0.0.1"]}

    # a changed input refuses, in one line naming it
    backup = (root / "data" / "train.csv").read_text()
    write_data(root / "data" / "train.csv", 150, seed=3)
    try:
        count = store.count_runs()
        refused = CliRunner().invoke(main, ["reproduce", runs["param"]])
        assert refused.exit_code == 1
        assert refused.output.count("\n") == 1
        assert "input `data/train.csv` changed (261 → 151 rows" in refused.output
        assert "--allow-changed-inputs" in refused.output
        assert store.count_runs() == count  # nothing ran

        allowed = cli("reproduce", runs["param"], "--allow-changed-inputs")
        assert allowed.exit_code == 1, allowed.output
        lines = allowed.output.strip().splitlines()
        assert lines[-1].startswith("differs: ") and "accuracy " in lines[-1]
        assert lines[0].startswith("warning: input `data/train.csv` changed (261 → 151 rows, ")
        assert lines[0].endswith(" bytes); running anyway")
        assert lines[1].startswith("only the data changed")  # the diff, then the verdict
    finally:
        (root / "data" / "train.csv").write_text(backup)


def runs_env(store: Any, run_id: str) -> dict[str, str]:
    return store.get_run(run_id).environment["packages"]


def test_lineage_across_two_notebooks_sharing_a_data_file(project: Any) -> None:
    _, runs = project
    store = open_store()
    [shared] = [f for f in store.list_fingerprints(runs["other"]) if f.role == "input"]
    [mine] = [f for f in store.list_fingerprints(runs["param"]) if f.name == "train_data"]
    assert shared.digest == mine.digest  # the same bytes, read by two notebooks
    result = cli("lineage", shared.digest[:12], "--format", "json")
    assert result.exit_code == 0, result.output
    graph = json.loads(result.output)
    run_nodes = {n["attrs"]["run_id"] for n in graph["nodes"] if n["kind"] == "run"}
    assert {runs["other"], runs["code"], runs["param"]} <= run_nodes
    assert runs["base"] not in run_nodes  # it read other bytes
    assert {"from": f"data:{shared.digest}", "to": f"run:{runs['other']}", "label": "read by (data)"} in graph["edges"]
    versions = {n["label"].split(" [")[0] for n in graph["nodes"] if n["kind"] == "version"}
    assert "leaver v3" in versions and "leaver v4" in versions

    model = cli("lineage", "leaver@production")
    assert model.exit_code == 0
    assert "* leaver v" in model.output and "registered" in model.output
    dot = cli("lineage", "leaver@production", "--format", "dot").output
    assert dot.startswith("digraph lineage") and "->" in dot
    html = cli("lineage", "leaver@production", "--format", "html").output
    assert "<svg" in html and "</svg>" in html
    original = json.loads(cli("lineage", runs["param"], "--format", "json").output)
    reproduced = [e for e in original["edges"] if e["label"] == "reproduced by"]
    assert reproduced and all(e["from"] == f"run:{runs['param']}" for e in reproduced)
    assert len(reproduced) == 2  # the unchanged reproduction and the one allowed on changed data
    bad = CliRunner().invoke(main, ["lineage", "nosuchthing"])
    assert bad.exit_code == 1 and "no model, run or data digest 'nosuchthing'" in bad.output


def test_card_is_written_from_the_lifecycle_and_escapes_hostile_text(project: Any) -> None:
    root, _ = project
    out = root / "card.md"
    result = cli("models", "card", "leaver@production", "-o", str(out))
    assert result.exit_code == 0, result.output
    md = out.read_text()
    assert md.startswith("# Model card: leaver v")
    assert "growth-team" in md and "accuracy >= 0.6 on held-out rows" in md
    assert "- synthetic data only" in md
    assert "&lt;script>alert('owned')&lt;/script>" in md and "<script>" not in md
    assert "`data/train.csv`" in md and "| accuracy |" in md
    html = cli("models", "card", "leaver@production", "--format", "html").output
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in html
    for heading in ("Intended use", "Success metric", "Owner", "Training data", "Evaluation", "Lineage",
                    "Alias history", "Drift history", "Limitations"):
        assert f"<h2>{heading}</h2>" in html


def test_magic_diff_returns_a_displayable(project: Any) -> None:
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    import mlops_magic
    from mlops_magic.ipython.subcommands import reference
    from mlops_magic.tracking.session import reset_session

    _, runs = project
    assert "%mlops diff RUN_A [RUN_B]" in reference()
    clear_cache()
    reset_session()
    shell = start_ipython() or get_ipython()  # None once another test started it
    mlops_magic.load_ipython_extension(shell)
    try:
        view = shell.run_line_magic("mlops", f"diff {runs['base'][:8]} {runs['data'][:8]}")
        assert view.headline.startswith("only the data changed")
        assert "only the data changed" in view._repr_html_()
        assert mlops_magic.diff(runs["base"], runs["data"]).to_dict() == view.to_dict()  # the Python twin agrees
        assert mlops_magic.model_card("leaver@production").markdown().startswith("# Model card: leaver v")
        card = shell.run_line_magic("mlops", "card leaver@production")
        assert "<script>" not in card._repr_html_() and "growth-team" in card._repr_html_()
        graph = shell.run_line_magic("mlops", "lineage leaver@production")
        assert "<svg" in graph._repr_html_() and graph.layer("version")
    finally:
        mlops_magic.unload_ipython_extension(shell)


def test_reproduce_of_an_interactive_run_is_one_clear_line(project: Any) -> None:
    store = open_store()
    run = store.create_run(notebook="x.ipynb", trigger="interactive", status="succeeded")
    result = CliRunner().invoke(main, ["reproduce", run.id])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "kept no notebook to re-execute" in result.output
    shutil.rmtree(Path(store.artifacts.root).parent / "runs" / run.id, ignore_errors=True)

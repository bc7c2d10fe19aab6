"""MLflow in and out (issue 24, items 3 and 4), against stores MLflow itself made and reads back: a SQLite
tracking URI and a real ``mlflow server`` process over HTTP."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from _support import REPO, free_port, python_env, stop_group
from click.testing import CliRunner
from server_support import API, get_json, jp_server_config  # noqa: F401 - fixtures, by name

pytest.importorskip("mlflow", reason='the MLflow tests need MLflow: pip install "mlops-magic[test]"')

from mlflow import MlflowClient

import mlops_magic as mlops
from mlops_magic.cli.main import main
from mlops_magic.errors import InvalidInputError, MlopsError
from mlops_magic.interop.mlflow_export import export_mlflow
from mlops_magic.interop.mlflow_import import import_mlflow
from mlops_magic.registry.versions import get_version, load, versions_of
from mlops_magic.store import clear_cache, open_store

pytestmark = pytest.mark.slow
pytest_plugins = ["pytest_jupyter.jupyter_server"]


_MLFLOW_URIS = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _mlflow_env() -> dict[str, str]:
    """This checkout on the path, and no tracking or registry URI a test set for MLflow's fluent API."""
    return {k: v for k, v in python_env().items() if k not in _MLFLOW_URIS}


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """An MLflow store made by MLflow's tutorial-style code (tests/_mlflow_tutorial.py), in its own process."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    done = subprocess.run([sys.executable, str(REPO / "tests" / "_mlflow_tutorial.py"), uri], cwd=folder,
                          capture_output=True, text=True, timeout=600, env=_mlflow_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, uri, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mlflow_server(tutorial, tmp_path_factory):
    """A real ``mlflow server`` process over a copy of the tutorial's store, artifacts proxied."""
    folder, _, ids = tutorial
    served = tmp_path_factory.mktemp("served")
    shutil.copy(folder / "mlflow.db", served / "mlflow.db")
    port = free_port()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    with open(served / "server.log", "w") as log:
        process = subprocess.Popen(
            [str(mlflow_cli), "server", "--backend-store-uri", f"sqlite:///{served / 'mlflow.db'}",
             "--artifacts-destination", str(served / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"], cwd=served, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
            env=_mlflow_env())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            assert process.poll() is None, (served / "server.log").read_text()[-3000:]
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=5):
                break
            assert time.time() < deadline, "mlflow server did not start"
            time.sleep(0.5)
        yield url, ids
    finally:
        stop_group(process)


def _by_external(store) -> dict[str, str]:
    return {r.tags["mlops.imported_from"].split()[2]: r.id for r in store.list_runs()}


def test_import_keeps_every_point_time_status_param_tag_and_file(store, tutorial) -> None:
    _, uri, ids = tutorial
    summary = import_mlflow(store, uri, trust=False)
    client = MlflowClient(uri)
    assert summary.runs == 4 and summary.experiments == 3  # Default, diabetes, iris; the running run waits
    assert any(ids["running"] in note and "still running" in note for note in summary.notes)
    local = _by_external(store)
    assert set(local) == {ids["autolog"], ids["lr0"], ids["lr1"], ids["child"]}
    points = 0
    for external, run_id in local.items():
        theirs, ours = client.get_run(external), store.get_run(run_id)
        assert ours.notebook == client.get_experiment(theirs.info.experiment_id).name
        assert ours.status == "succeeded" and ours.name == theirs.info.run_name
        assert ours.started.timestamp() == theirs.info.start_time / 1000
        assert ours.ended.timestamp() == theirs.info.end_time / 1000
        assert {k: v for k, v in ours.tags.items() if k != "mlops.imported_from"} == theirs.data.tags
        for key in theirs.data.metrics:
            expected = sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(external, key))
            got = sorted((m.step, round(m.timestamp.timestamp() * 1000), m.value)
                         for m in store.metric_history(run_id, key))
            assert len(got) == len(expected) and all(
                g[:2] == e[:2] and (g[2] == e[2] or (math.isnan(g[2]) and math.isnan(e[2])))
                for g, e in zip(got, expected)), key
            points += len(got)
    assert points == summary.points
    lr1 = store.get_run(local[ids["lr1"]])
    assert lr1.params == {"C": 1.0, "solver": "lbfgs", "seed": "007"}  # typed where the text reads back the same
    assert len(store.metric_history(lr1.id, "heartbeat")) == 3  # three points at step 0, none lost
    assert store.get_run(local[ids["child"]]).parent_run_id == lr1.id
    notes = {a.name: Path(a.path).read_bytes() for a in store.list_artifacts(lr1.id)}
    assert notes["notes/readme.txt"] == b"hello from mlflow\n"
    assert "model/MLmodel" in notes and "pickled/MLmodel" in notes  # the run's logged models, as its files
    autologged = {a.name for a in store.list_artifacts(local[ids["autolog"]])}
    assert {"estimator.html", "model/MLmodel"} <= autologged
    listed = CliRunner().invoke(main, ["runs", "--notebook", "iris", "--format", "json"])
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 3


async def test_imported_runs_show_in_the_labs_runs_view(tutorial, jp_fetch, jp_root_dir, monkeypatch) -> None:
    """The issue's "done when": a store MLflow's tutorial code made, imported into the project a Jupyter server
    serves, is in the lab's runs view (GET runs-table) and its run view (GET runs/ID, its metric's points)."""
    _, uri, ids = tutorial
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    try:
        store = open_store(str(jp_root_dir))
        assert import_mlflow(store, uri).runs == 4
        local = _by_external(store)
        client = MlflowClient(uri)
        table = await get_json(jp_fetch, "runs-table")
        cols = table["columns"]
        assert table["total"] == 4 and set(cols["id"]) == set(local.values())
        row = {run_id: i for i, run_id in enumerate(cols["id"])}
        for external, run_id in local.items():
            theirs = client.get_run(external)
            i = row[run_id]
            assert table["notebooks"][cols["notebook"][i]] == client.get_experiment(theirs.info.experiment_id).name
            assert cols["status"][i] == "succeeded" and cols["started"][i] == theirs.info.start_time / 1000
            for key, value in theirs.data.metrics.items():  # the latest value MLflow shows is the one shown here
                shown = table["metrics"][key][i]
                assert shown == value or (math.isnan(value) and shown == "nan"), (key, shown, value)
        lr1 = row[local[ids["lr1"]]]
        assert table["params"]["C"][lr1] == 1.0 and table["params"]["seed"][lr1] == "007"
        detail = await get_json(jp_fetch, "runs", local[ids["lr1"]])
        assert detail["stages"] == [] and "notes/readme.txt" in {a["name"] for a in detail["artifacts"]}
        points = await get_json(jp_fetch, "runs", local[ids["lr1"]], "metrics", "loss")
        history = client.get_metric_history(ids["lr1"], "loss")
        assert [(p["step"], p["value"]) for p in points["points"]] == [(m.step, m.value) for m in history]
    finally:
        clear_cache()


def test_reimport_duplicates_nothing_and_picks_up_new_runs(store, tutorial) -> None:
    _, uri, _ = tutorial
    calls: list[tuple[str, int, int]] = []
    first = import_mlflow(store, uri, progress=lambda *call: calls.append(call))
    assert calls[0] == ("runs", 0, 4) and ("runs", 4, 4) in calls and calls[-1][0] == "models"
    assert calls[-1][1] == calls[-1][2] == 3  # iris-clf, iris-pickled, custom
    counts = [store.db.query_one(f"SELECT COUNT(*) FROM {t}")[0]
              for t in ("runs", "metric_points", "artifacts", "model_versions", "params", "tags")]
    again = import_mlflow(store, uri)
    assert (again.runs, again.points, again.versions, again.already) == (0, 0, 0, first.runs)
    assert counts == [store.db.query_one(f"SELECT COUNT(*) FROM {t}")[0]
                      for t in ("runs", "metric_points", "artifacts", "model_versions", "params", "tags")]
    only = import_mlflow(store, uri, experiments=["iris"])
    assert only.experiments == 1 and only.runs == 0


def test_registered_models_come_in_as_skops_versions_with_their_aliases(store, tutorial) -> None:
    import mlflow.sklearn

    _, uri, ids = tutorial
    summary = import_mlflow(store, uri)
    versions = versions_of(store, "iris-clf")
    assert [(v.version, v.format, v.flavour) for v in versions] == [(1, "skops", "sklearn"), (2, "skops", "sklearn")]
    assert get_version(store, "iris-clf@champion").version == 2
    assert get_version(store, "iris-clf@previous").version == 1
    assert versions[1].run_id == _by_external(store)[ids["lr1"]]
    assert versions[1].columns == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    assert versions[1].environment["scikit-learn"]
    from sklearn.datasets import load_iris

    X, _ = load_iris(return_X_y=True, as_frame=True)
    client = MlflowClient(uri)
    mv = client.get_model_version_by_alias("iris-clf", "champion")
    theirs = mlflow.sklearn.load_model(client.get_model_version_download_uri("iris-clf", mv.version))
    assert (load(store, "iris-clf@champion").predict(X) == theirs.predict(X)).all()
    assert any("'iris-pickled' version 1 is a cloudpickle file" in n and "--trust" in n for n in summary.notes)
    assert any("'custom' version 1 is a python_function model: kept as files" in n for n in summary.notes)
    with pytest.raises(MlopsError, match="no model 'iris-pickled'"):
        get_version(store, "iris-pickled")
    trusted = CliRunner().invoke(main, ["--store", store.url, "import", "mlflow", uri, "--trust"])
    assert trusted.exit_code == 0, trusted.output
    assert "1 model versions" in trusted.output and "0 runs" in trusted.output
    converted = get_version(store, "iris-pickled")
    assert converted.format == "skops" and (load(store, "iris-pickled").predict(X) == theirs.predict(X)).all()


def test_export_reads_back_with_mlflows_own_client(session, tmp_path) -> None:
    import mlflow
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"age": rng.normal(40, 10, 400), "plan": rng.integers(0, 3, 400)})
    y = (X.age > 40).astype(int)
    with mlops.start_run(notebook="churn.ipynb", params={"C": 0.5}):
        with mlops.stage("data"):
            mlops.log_param("rows", len(X))
        with mlops.stage("train"):
            clf = LogisticRegression(C=0.5).fit(X, y)
            for step in range(4):
                mlops.log_metric("loss", 1 / (step + 1), step=step)
            (tmp_path / "report.txt").write_text("fine\n")
            mlops.log_artifact(tmp_path / "report.txt")
            mlops.register_model(clf, "churn", input=X, labels=y)
    mlops.promote("churn", "production")
    store = session.store
    ours = store.list_runs(notebook="churn.ipynb")[0]
    uri = f"sqlite:///{tmp_path / 'out.db'}"
    summary = export_mlflow(store, uri, runs="notebook=churn.ipynb", models=["churn"])
    assert (summary.runs, summary.stages, summary.versions, summary.aliases) == (1, 2, 1, 1), summary
    frame = _search(uri, "churn.ipynb")
    parent = frame[frame["tags.mlops.run_id"] == ours.id]
    assert len(parent) == 1 and parent.iloc[0]["status"] == "FINISHED"
    assert parent.iloc[0]["params.C"] == "0.5" and parent.iloc[0]["metrics.loss"] == 0.25
    children = frame[frame["tags.mlflow.parentRunId"] == parent.iloc[0]["run_id"]]
    assert sorted(children["tags.mlops.stage.kind"]) == ["data", "train"]
    client = MlflowClient(uri)
    history = client.get_metric_history(parent.iloc[0]["run_id"], "loss")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (m.step, round(m.timestamp.timestamp() * 1000), m.value) for m in store.metric_history(ours.id, "loss")]
    assert client.get_run(parent.iloc[0]["run_id"]).info.start_time == round(ours.started.timestamp() * 1000)
    files = {f.path for f in client.list_artifacts(parent.iloc[0]["run_id"])}
    assert "report.txt" in files
    mv = client.get_model_version_by_alias("churn", "production")
    assert mv.tags["mlops.version"] == "churn@1"
    loaded = _tracked(uri, lambda: mlflow.sklearn.load_model("models:/churn@production"))
    assert (loaded.predict(X) == clf.predict(X)).all()
    again = export_mlflow(store, uri, runs="all", models=["churn"])
    assert (again.runs, again.versions, again.already) == (0, 0, 2)
    assert len(MlflowClient(uri).search_model_versions("name='churn'")) == 1


def _tracked(uri: str, call):
    """``call()`` with MLflow's fluent API pointed at ``uri`` (as a user's script would set it); MLflow keeps
    that in MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI too, which child processes inherit: both are restored."""
    import mlflow

    saved = {k: os.environ.get(k) for k in _MLFLOW_URIS}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        return call()
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _search(uri: str, experiment: str):
    import mlflow

    return _tracked(uri, lambda: mlflow.search_runs(experiment_names=[experiment]))


def test_import_and_export_through_a_real_mlflow_server(store, mlflow_server, tmp_path) -> None:
    import mlflow

    url, ids = mlflow_server
    summary = import_mlflow(store, url)
    assert summary.runs == 4 and summary.versions == 2 and summary.aliases == 2, summary
    assert ids["lr1"] in _by_external(store)
    assert import_mlflow(store, url).runs == 0  # through HTTP too: nothing twice
    with mlops.start_run(notebook="served.ipynb") as run:
        mlops.log_metric("acc", 0.9)
    exported = export_mlflow(store, url, runs="notebook=served.ipynb", models=["iris-clf"])
    assert exported.runs == 1
    assert any("was imported from this MLflow store" in n for n in exported.notes)  # versions not written back
    client = MlflowClient(url)
    frame = _search(url, "served.ipynb")
    assert frame["tags.mlops.run_id"].tolist() == [run.id] and frame["metrics.acc"].tolist() == [0.9]
    assert client.get_model_version_by_alias("iris-clf", "champion").version == "2"
    other = export_mlflow(store, url, models=["iris-clf"])
    assert other.versions == 0
    # a version made here goes out over HTTP, its file through the server's artifact proxy
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    from sklearn.tree import DecisionTreeClassifier

    mlops.register_model(DecisionTreeClassifier(max_depth=3).fit(X, y), "iris-tree", input=X)
    mlops.promote("iris-tree", "staging")
    assert export_mlflow(store, url, models=["iris-tree"]).versions == 1
    mv = client.get_model_version_by_alias("iris-tree", "staging")
    tree = _tracked(url, lambda: mlflow.sklearn.load_model(f"models:/iris-tree/{mv.version}"))
    assert (tree.predict(X) == load(store, "iris-tree@staging").predict(X)).all()


def test_cli_progress_summary_and_one_line_errors(store_dir, tutorial, tmp_path) -> None:
    _, uri, _ = tutorial
    runner = CliRunner()
    done = runner.invoke(main, ["import", "mlflow", uri, "--experiment", "iris"])
    assert done.exit_code == 0, done.output
    assert "imported from MLflow at" in done.output and "3 runs of 1 experiments" in done.output
    labels = [line.strip() for line in done.output.splitlines()]
    assert "runs" in labels and "models" in labels  # the progress bars' labels (not a terminal: no bar drawn)
    cases = [
        (["import", "mlflow", f"sqlite:///{tmp_path / 'nope.db'}"], "no MLflow database at"),
        (["import", "mlflow", f"http://127.0.0.1:{free_port()}"], "cannot reach the MLflow server at"),
        (["import", "mlflow", uri, "--experiment", "ghost"], "has no experiment 'ghost'; its experiments:"),
        (["import", "mlflow", "mlflow.db"], "is not an MLflow tracking URI"),
        (["export", "mlflow", uri], "nothing to export"),
        (["export", "mlflow", uri, "--runs", "colour=red"], "write 'all' or NAME=VALUE pairs"),
        (["export", "mlflow", uri, "--runs", "status=great"], "unknown status 'great'"),
        (["export", "mlflow", uri, "--models", "ghost"], "no model 'ghost'"),
    ]
    for args, message in cases:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and result.output.strip().count("\n") == 0, (args, result.output)
    code = ("import sys; sys.modules['mlflow'] = None\n"
            "from mlops_magic.interop.mlflow_read import require_mlflow\n"
            "try:\n    require_mlflow()\nexcept Exception as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert out.stdout.strip() == 'reading and writing MLflow stores needs MLflow: pip install "mlops-magic[mlflow]"'
    with pytest.raises(InvalidInputError):
        import_mlflow(mlops.get_store(), "")

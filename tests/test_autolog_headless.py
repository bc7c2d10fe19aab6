"""Autolog headless, on real kernels: plain ``papermill IN OUT``, ``mlops run`` (and ``--no-autolog``), and
``with mlops.stage()`` in a plain Python process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _support import python_env
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.entities import result_metrics
from mlops_magic.store import clear_cache, open_store

SETUP = """%load_ext mlops_magic
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)"""
TRAIN = """%%mlops stage train
from sklearn.ensemble import GradientBoostingClassifier
clf = GradientBoostingClassifier(n_estimators=n_estimators, random_state=0).fit(X_train, y_train)"""
EVALUATE = """import matplotlib.pyplot as plt
accuracy_score(y_test, clf.predict(X_test))
plt.plot(clf.train_score_)"""  # tag form; the inline backend shows and closes the figure after the cell


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("n_estimators = 10")
    params.metadata["tags"] = ["parameters"]
    evaluate = nbformat.v4.new_code_cell(EVALUATE)
    evaluate.metadata["tags"] = ["mlops:evaluate"]
    nb.cells = [nbformat.v4.new_code_cell(SETUP), params, nbformat.v4.new_code_cell(TRAIN), evaluate]
    nbformat.write(nb, tmp_path / "train.ipynb")
    (tmp_path / ".mlops").mkdir()
    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_STORE", "MLOPS_RUN_ID", "MLOPS_AUTOLOG"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    yield tmp_path
    clear_cache()


def check_autologged(project: Path, n_estimators: int) -> None:
    store = open_store(str(project))
    [run] = store.list_runs()
    assert run.status == "succeeded", run.error
    train, evaluate = store.list_stages(run.id)
    assert run.params["n_estimators"] == n_estimators and run.params["random_state"] == 0
    metrics = store.latest_metrics([run.id])[run.id]
    assert metrics["accuracy"] > 0.9 and metrics["training_score"] > 0.9
    loss = store.metric_history(run.id, "train_loss")
    assert [m.step for m in loss] == list(range(n_estimators)) and {m.stage_id for m in loss} == {train.id}
    artifacts = {a.name: a for a in store.list_artifacts(run.id)}
    assert artifacts["models/clf.skops"].stage_id == train.id
    figure = artifacts["figures/evaluate/1.png"]
    assert figure.stage_id == evaluate.id and Path(figure.path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_plain_papermill_autologs_each_stage(project: Path) -> None:
    papermill = Path(sys.executable).with_name("papermill")
    done = subprocess.run([str(papermill), "train.ipynb", "out.ipynb", "-p", "n_estimators", "12"], cwd=project,
                          env=python_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    check_autologged(project, 12)


@pytest.mark.slow
def test_mlops_run_autologs_and_no_autolog_turns_it_off(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in python_env().items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["run", "train.ipynb", "-p", "n_estimators", "8"])
    assert result.exit_code == 0, result.output
    check_autologged(project, 8)
    monkeypatch.setenv("MLOPS_AUTOLOG", "1")  # so the flag's change of the environment is undone after the test
    result = CliRunner().invoke(main, ["run", "train.ipynb", "--no-autolog"])
    assert result.exit_code == 0, result.output
    store = open_store(str(project))
    latest = store.list_runs()[0]
    assert latest.params == {}
    assert result_metrics(store.latest_metrics([latest.id])[latest.id]) == {}
    assert [a.name for a in store.list_artifacts(latest.id)] == ["executed.ipynb"]


def test_the_python_api_stage_autologs_in_a_plain_process(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import mlops_magic as mlops\n"
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "from sklearn.datasets import make_regression\n"
        "from sklearn.linear_model import Ridge\n"
        "from sklearn.metrics import mean_squared_error\n"
        "X, y = make_regression(200, 4, random_state=0)\n"
        "with mlops.stage('train'):\n"
        "    model = Ridge(alpha=0.7).fit(X, y)\n"
        "    plt.plot(y)\n"
        "with mlops.stage('evaluate'):\n"
        "    mean_squared_error(y, model.predict(X))\n"
        "print('fit is the original:', not hasattr(vars(Ridge)['fit'], '__mlops_autolog__'))\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=python_env(MLOPS_STORE=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert "fit is the original: True" in done.stdout
    store = open_store(str(tmp_path))
    [run] = store.list_runs()
    assert run.params["alpha"] == 0.7
    assert set(result_metrics(store.latest_metrics([run.id])[run.id])) == {"fit_time", "training_score",
                                                                           "mean_squared_error"}
    assert {a.name for a in store.list_artifacts(run.id)} == {"models/model.skops", "figures/train/1.png"}
    clear_cache()

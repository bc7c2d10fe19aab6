"""The first demo notebook runs headlessly through papermill on a real kernel and fills the store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _support import REPO, python_env


@pytest.mark.slow
def test_lifecycle_demo_runs_headlessly_and_records_every_stage(store_dir: Path, monkeypatch) -> None:
    import papermill

    for key, value in python_env(MLOPS_STORE=str(store_dir)).items():
        monkeypatch.setenv(key, value)
    notebook = store_dir / "lifecycle.ipynb"
    shutil.copy(REPO / "demo_notebooks" / "lifecycle.ipynb", notebook)
    papermill.execute_notebook(str(notebook), str(store_dir / "out.ipynb"), parameters={"n_estimators": 30},
                               cwd=str(store_dir), progress_bar=False, kernel_name="python3")

    from mlops_magic.store import open_store

    store = open_store()
    [run] = store.list_runs()
    assert run.params["n_estimators"] == 30
    stages = store.list_stages(run.id)
    assert [(s.kind, s.status) for s in stages] == [
        ("problem", "succeeded"), ("data", "succeeded"), ("train", "succeeded"), ("evaluate", "succeeded")]
    assert "Success metric" in (stages[0].notes or "")
    assert stages[2].name == "gbm"
    metrics = store.latest_metrics([run.id])[run.id]
    assert metrics["accuracy"] > 0.85 and metrics["roc_auc"] > 0.9  # autologged: no logging line in the notebook
    assert [m.step for m in store.metric_history(run.id, "train_loss")] == list(range(30))  # every boosting round
    assert run.params["learning_rate"] == 0.1 and metrics["training_score"] > 0.9
    assert "models/clf.skops" in {a.name for a in store.list_artifacts(run.id)}
    names = {f.name for f in store.list_fingerprints(run.id)}
    assert {"breast_cancer", "X_train", "y_train"} <= names

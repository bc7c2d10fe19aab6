"""Runs inside the MLflow virtualenv: the autolog workload with ``mlflow.sklearn.autolog()`` on SQLite.

Prints one JSON line: the time MLflow's autolog adds to a fit and to 1,000 metric calls, and what it
captured (params, metrics, models, search candidates, figures).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import _autolog_workload as w  # noqa: E402


def main(rows: int, repeats: int) -> dict:
    import mlflow
    import mlflow.sklearn
    from mlflow.tracking import MlflowClient

    folder = tempfile.mkdtemp()
    os.chdir(folder)  # MLflow writes run artifacts under ./mlruns: keep them out of the checkout
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    X_train, X_test, y_train, y_test = w.data(rows)
    w.fit_gbm(X_train, y_train)  # warm: imports, caches
    base = w.median([w.timed(lambda: w.fit_gbm(X_train, y_train)) for _ in range(repeats)])
    clf = w.fit_gbm(X_train, y_train)
    base_calls = w.metric_calls(y_test, clf.predict(X_test))

    mlflow.sklearn.autolog(log_models=True, silent=True)
    with mlflow.start_run():  # warm: the first autologged fit imports MLflow's model-logging machinery
        w.fit_gbm(X_train, y_train)
    fits = []
    for _ in range(repeats):
        with mlflow.start_run():
            fits.append(w.timed(lambda: w.fit_gbm(X_train, y_train)))
    with mlflow.start_run() as run:  # the train and evaluate cells
        clf = w.fit_gbm(X_train, y_train)
        pred = clf.predict(X_test)
        calls = w.metric_calls(y_test, pred)
        w.figure(clf.train_score_)
    with mlflow.start_run() as search_run:  # the search cell
        w.search(X_train, y_train)
    client = MlflowClient()
    data = client.get_run(run.info.run_id).data
    searched = client.get_run(search_run.info.run_id)
    children = client.search_runs([searched.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{search_run.info.run_id}'")
    artifacts = _all_artifacts(client, run.info.run_id) + _all_artifacts(client, search_run.info.run_id)
    return {
        "version": mlflow.__version__, "base_fit_s": base, "autolog_fit_s": w.median(fits),
        "base_calls_s": base_calls, "autolog_calls_s": calls,
        "params": len(data.params), "metrics": len(data.metrics),
        "models": sum(1 for a in artifacts if a.endswith("MLmodel")),
        "search_candidates": len(children), "search_best": "best_C" in searched.data.params,
        "figures": sum(1 for a in artifacts if a.endswith(".png")),
        "metric_names": sorted(data.metrics),
    }


def _all_artifacts(client, run_id: str, path: str | None = None) -> list[str]:
    out = []
    for item in client.list_artifacts(run_id, path):
        out += _all_artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))

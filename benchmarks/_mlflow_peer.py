"""Runs inside the MLflow virtualenv: times log_metric, log_batch and search_runs on SQLite."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time

logging.disable(logging.CRITICAL)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def main(calls: int, batch: int, runs: int) -> dict:
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    folder = tempfile.mkdtemp()
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_metric("warm", 0.0)
        start = time.perf_counter()
        for i in range(calls):
            mlflow.log_metric("m", float(i), step=i)
        per_call = (time.perf_counter() - start) / calls
        now = int(time.time() * 1000)
        batches = []
        for repeat in range(7):  # the same median-of-seven as our side
            metrics = [Metric(f"b{i}", float(i), now, repeat) for i in range(batch)]
            start = time.perf_counter()
            client.log_batch(run.info.run_id, metrics=metrics)
            batches.append(time.perf_counter() - start)
        batch_s = sorted(batches)[len(batches) // 2]
    for i in range(runs):
        with mlflow.start_run():
            mlflow.log_params({"lr": 0.1, "depth": i % 5})
            mlflow.log_metrics({"accuracy": i / runs, "auc": 0.5})
    start = time.perf_counter()
    frame = mlflow.search_runs(max_results=runs + 10)
    search_s = time.perf_counter() - start
    return {"log_metric_s": per_call, "log_batch_s": batch_s, "batch": batch, "search_s": search_s,
            "search_rows": len(frame), "version": mlflow.__version__}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))

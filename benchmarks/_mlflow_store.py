"""A large MLflow tracking store for the import benchmark, made fast.

MLflow creates the database (its own migrations) and the experiment; the runs, params, tags, metric
histories and latest metrics are then inserted with MLflow's own schema in a few SQLite transactions.
Logging 20 million points through ``log_batch`` takes hours on a 2-core machine; this takes minutes,
and what ``MlflowClient`` reads back is the same (the benchmark checks a sample against ``search_runs``).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path


def make_store(path: Path, runs: int, metrics: int, steps: int, *, experiment: str = "bench") -> str:
    """A SQLite MLflow store at ``path`` with ``runs`` finished runs of ``metrics`` metrics x ``steps`` steps."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{path}"
    client = MlflowClient(uri)
    exp_id = int(client.create_experiment(experiment, artifact_location=str(path.parent / "mlartifacts")))
    client._tracking_client.store.engine.dispose()  # MLflow's pool must not hold the file while we write
    base = 1_790_000_000_000  # ms
    conn = sqlite3.connect(path)
    try:
        with conn:
            for r in range(runs):
                run_id = uuid.UUID(int=r + 1).hex
                start = base + r * 60_000
                end = start + steps * 100 + 1000
                conn.execute(
                    "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
                    "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, f"run-{r}", "LOCAL", "train.py", "", "bench", "FINISHED", start, end, "",
                     "active", str(path.parent / "mlartifacts" / run_id / "artifacts"), exp_id))
                conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)",
                                 [("lr", str(0.001 * (r % 10 + 1)), run_id), ("depth", str(r % 8 + 2), run_id)])
                conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)",
                                 [("mlflow.runName", f"run-{r}", run_id), ("mlflow.user", "bench", run_id)])
                points = [(f"m{m}", (m + 1) / (s + 1) + r * 1e-6, start + s * 100, run_id, s, 0)
                          for s in range(steps) for m in range(metrics)]
                conn.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                                 "VALUES (?,?,?,?,?,?)", points)
                conn.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                                 "VALUES (?,?,?,?,?,?)",
                                 [(k, v, ts, s, 0, run) for k, v, ts, run, s, _ in points[-metrics:]])
    finally:
        conn.close()
    return uri

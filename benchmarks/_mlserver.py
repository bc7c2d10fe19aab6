"""MLServer (Seldon's Open Inference Protocol server) with its scikit-learn runtime, the peer of `mlops serve`
in bench_models.py: in its own virtualenv (benchmarks/.envs/mlserver), started as `mlserver start FOLDER` with a
settings.json and a model-settings.json, as its docs deploy it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _peer_env import peer_python, wait_until_ready

VERSION = "1.7.1"


def requirements() -> list[str]:
    """MLServer and its scikit-learn runtime, with our scikit-learn so the same joblib file loads. uvloop
    0.22 breaks MLServer 1.7.1's inference workers at start (SeldonIO/MLServer#2286, unreleased fix)."""
    import sklearn

    return [f"mlserver=={VERSION}", f"mlserver-sklearn=={VERSION}", f"scikit-learn=={sklearn.__version__}",
            "uvloop<0.22"]


@contextlib.contextmanager
def mlserver(model: Any, folder: Path, name: str, ports: tuple[int, int, int],
             parallel_workers: int | None = None) -> Iterator[int]:
    """MLServer serving ``model`` (saved with joblib) as ``name``; yields its HTTP port once the model is ready.

    ``ports``: HTTP, gRPC and metrics, all free. ``parallel_workers`` None keeps MLServer's default (one
    inference worker process beside the HTTP one, as it ships); 0 predicts in the HTTP process."""
    import joblib

    python = peer_python("mlserver", requirements())
    http_port, grpc_port, metrics_port = ports
    (folder / name).mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / name / "model.joblib")
    settings = {"http_port": http_port, "grpc_port": grpc_port, "metrics_port": metrics_port, "debug": False}
    if parallel_workers is not None:
        settings["parallel_workers"] = parallel_workers
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / name / "model-settings.json").write_text(json.dumps({
        "name": name, "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "1"}}))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    log = folder / "mlserver.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([str(python.parent / "mlserver"), "start", str(folder)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        wait_until_ready(http_port, f"/v2/models/{name}/ready", server, 180,
                         lambda: f"MLServer did not start; its log:\n{log.read_text()[-2000:]}").close()
        yield http_port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

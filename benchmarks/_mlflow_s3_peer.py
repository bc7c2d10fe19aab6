"""Runs inside the MLflow virtualenv: one phase of the artifact benchmark through MLflow's S3 artifact repository.

    python _mlflow_s3_peer.py PHASE ARTIFACT_URI FOLDER

PHASE is put-small (every file of FOLDER/small), get-small, put-big (FOLDER/big.bin) or get-big. The endpoint
comes from MLFLOW_S3_ENDPOINT_URL, credentials from the AWS variables. Prints one JSON line: seconds, peak RSS.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time

logging.disable(logging.CRITICAL)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def main(phase: str, uri: str, folder: str) -> dict:
    from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

    repo = S3ArtifactRepository(uri)
    small = sorted(os.listdir(os.path.join(folder, "small")))
    out = tempfile.mkdtemp()
    start = time.perf_counter()
    if phase == "put-small":
        for name in small:
            repo.log_artifact(os.path.join(folder, "small", name), "small")
    elif phase == "get-small":
        for name in small:
            repo.download_artifacts(f"small/{name}", out)
    elif phase == "put-big":
        repo.log_artifact(os.path.join(folder, "big.bin"))
    elif phase == "get-big":
        repo.download_artifacts("big.bin", out)
    seconds = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))

"""The store backends the contract runs on: SQLite and PostgreSQL, each with artifacts in a folder and in S3
(moto's server, tests/s3_support.py). A module's ``store_url`` fixture yields from :func:`backend_url`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgres", "sqlite-s3", "postgres-s3"]


def backend_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of an empty store of the backend ``request.param``; also MLOPS_STORE, with tmp_path as the
    working directory. The S3 kinds need the ``moto_server`` and ``s3_artifacts`` fixtures imported."""
    from mlops_magic.store import clear_cache
    from mlops_magic.tracking.session import reset_session

    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE", "JPY_SESSION_NAME", "MLOPS_ARTIFACTS"):
        monkeypatch.delenv(var, raising=False)
    bucket = request.getfixturevalue("s3_artifacts") if request.param.endswith("-s3") else None
    if request.param.startswith("sqlite"):
        url = str(tmp_path / "project")
        if bucket:  # a folder store with its artifacts named by the environment, as a team sets it once
            monkeypatch.setenv("MLOPS_ARTIFACTS", bucket)
    else:
        url = request.getfixturevalue("postgres_url") + f"?artifacts={bucket or tmp_path / 'shared-artifacts'}"
    monkeypatch.setenv("MLOPS_STORE", url)
    clear_cache()
    reset_session()
    yield url
    clear_cache()
    reset_session()

"""Shared fixtures: a fresh store per test, and a real IPython shell with the extension loaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from postgres_support import postgres_cluster, postgres_url  # noqa: F401 - fixtures, for store_url
from store_backends import backend_url

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder used as the working directory and the store."""
    from mlops_magic.store import clear_cache
    from mlops_magic.tracking.session import reset_session

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_STORE", str(tmp_path))
    for var in ("MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    clear_cache()
    reset_session()
    yield tmp_path
    clear_cache()
    reset_session()


@pytest.fixture
def store(store_dir: Path):
    from mlops_magic.store import open_store

    return open_store()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of an empty store of each backend; also MLOPS_STORE, with tmp_path as working directory.
    The store contract and retention override it with artifacts in S3 as well (tests/store_backends.py)."""
    yield from backend_url(request, tmp_path, monkeypatch)


@pytest.fixture
def ip(store_dir: Path):
    """A real IPython shell with mlops_magic loaded, its namespace cleaned after the test."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    import mlops_magic

    shell = start_ipython() or get_ipython()
    before = set(shell.user_ns)
    mlops_magic.load_ipython_extension(shell)
    yield shell
    mlops_magic.unload_ipython_extension(shell)
    for name in set(shell.user_ns) - before:
        shell.user_ns.pop(name, None)




@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh session whose store lives in tmp_path/store (the working directory is tmp_path)."""
    from mlops_magic.store import clear_cache
    from mlops_magic.tracking.session import reset_session

    monkeypatch.setenv("MLOPS_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    clear_cache()
    yield reset_session()
    clear_cache()
    reset_session()


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory):
    """``mlops demo`` run once for the whole session: (its folder, what it printed).

    Tests read it; the one that reproduces a run adds only that run (trigger ``reproduce``).
    """
    from _support import python_env
    from click.testing import CliRunner

    from mlops_magic.cli.main import main
    from mlops_magic.store import clear_cache

    target = tmp_path_factory.mktemp("demo") / "demo"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in python_env().items():
            mp.setenv(key, value)
        mp.delenv("MLOPS_STORE", raising=False)
        clear_cache()
        result = CliRunner().invoke(main, ["demo", str(target)], catch_exceptions=False)
        clear_cache()
    assert result.exit_code == 0, result.output
    return target, result.output


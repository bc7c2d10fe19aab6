"""``mlops models package`` (issue 24, item 6): a folder that serves a version with ``mlops serve`` anywhere,
checked by installing it into a fresh virtualenv from its own requirements and querying it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib import metadata

import httpx
import numpy as np
import pandas as pd
import pytest
from _support import REPO, free_port, stop_group
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import mlops_magic as mlops
from mlops_magic._version import __version__
from mlops_magic.cli.main import main
from mlops_magic.errors import InvalidInputError, MlopsError
from mlops_magic.interop.package import package
from mlops_magic.registry.versions import get_version, load
from mlops_magic.store import open_store


@pytest.fixture
def churn(session):
    """Two versions of churn, trained in recorded runs; v2 holds production."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"age": rng.normal(40, 10, 400), "plan": rng.integers(0, 3, 400)})
    y = (X.age + rng.normal(0, 5, 400) > 40).astype(int)
    for c in (0.1, 1.0):
        with mlops.start_run(notebook="churn.ipynb"):
            clf = LogisticRegression(C=c).fit(X, y)
            mlops.register_model(clf, "churn", input=X, labels=y)
    mlops.promote("churn", "production")
    return session.store, X, clf


def test_the_folder_holds_model_schema_pins_dockerfile_entrypoint_and_a_store(churn, tmp_path) -> None:
    store, X, clf = churn
    built = package(store, "churn@production", tmp_path / "build")
    folder = built.folder
    mv = get_version(store, "churn@production")
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "Dockerfile", "README.md", "entrypoint.sh", "input_schema.json", "model.json", "model.skops",
        "requirements.txt", "store", "wheels"])
    with store.artifacts.open(mv.digest) as fh:
        assert (folder / "model.skops").read_bytes() == fh.read()
    assert json.loads((folder / "input_schema.json").read_text()) == mv.input_schema
    info = json.loads((folder / "model.json").read_text())
    assert (info["name"], info["version"], info["aliases"], info["packaged_as"]) == ("churn", 2, ["production"],
                                                                                     "churn@production")
    environment = store.get_run(mv.run_id).environment
    requirements = (folder / "requirements.txt").read_text()
    for package_name in ("numpy", "scikit-learn", "scipy", "pandas"):
        assert f"{package_name}=={environment['packages'][package_name]}  # training run" in requirements
    assert f"skops=={metadata.version('skops')}  # this environment" in requirements
    assert f"mlops-magic[serve]=={__version__}" in requirements
    major_minor = ".".join(environment["python"].split(".")[:2])
    dockerfile = (folder / "Dockerfile").read_text()
    assert f"FROM python:{major_minor}-slim" in dockerfile and 'ENTRYPOINT ["sh", "/app/entrypoint.sh"]' in dockerfile
    entrypoint = (folder / "entrypoint.sh").read_text()
    assert 'exec mlops --store "$HERE/store" serve "churn@2"' in entrypoint and os.access(folder / "entrypoint.sh",
                                                                                          os.X_OK)
    packaged = open_store(str(folder / "store"))  # the version keeps its number, alias and references
    copy = get_version(packaged, "churn@production")
    assert (copy.version, copy.digest, copy.input_schema, copy.trusted_types) == (2, mv.digest, mv.input_schema,
                                                                                  mv.trusted_types)
    assert (load(packaged, "churn@2").predict(X) == clf.predict(X)).all()
    assert mlops.performance("churn", current=X, labels=clf.predict(X), record=False).model == "churn"
    from mlops_magic.monitoring.performance import load_reference
    from mlops_magic.monitoring.records import load_profile

    assert load_reference(packaged, "churn@2")[3] == load_reference(store, "churn@2")[3]
    assert load_profile(packaged, "churn@2")[0].to_dict() == load_profile(store, "churn@2")[0].to_dict()


def test_bad_requests_are_one_line_and_nothing_is_overwritten(churn, tmp_path) -> None:
    store, X, clf = churn
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="is not empty; choose another -o folder or pass --overwrite"):
        package(store, "churn", occupied)
    with pytest.raises(InvalidInputError, match="does not hold a package"):
        package(store, "churn", occupied, overwrite=True)
    assert (occupied / "keep.txt").read_text() == "mine"
    package(store, "churn@1", tmp_path / "pkg")
    again = package(store, "churn@2", tmp_path / "pkg", overwrite=True)
    assert json.loads((again.folder / "model.json").read_text())["version"] == 2
    mlops.register_model(None, "vendor", input=X)
    with pytest.raises(MlopsError, match="registered from its predictions only: there is no model file to package"):
        package(store, "vendor", tmp_path / "vendor")
    with pytest.warns(UserWarning):
        mlops.register_model(clf, "pickled", format="pickle")
    with pytest.raises(MlopsError, match="package it with --trust"):
        package(store, "pickled", tmp_path / "pickled")
    trusted = package(store, "pickled", tmp_path / "pickled", trust=True)
    assert '--trust "$@"' in (trusted.folder / "entrypoint.sh").read_text()
    runner = CliRunner()
    bad = runner.invoke(main, ["models", "package", "churn", "-o", str(tmp_path / "w"), "--wheel",
                               str(occupied / "keep.txt")])
    assert bad.exit_code == 1 and "not a wheel file" in bad.output and bad.output.count("\n") == 1
    ghost = runner.invoke(main, ["models", "package", "ghost", "-o", str(tmp_path / "g")])
    assert ghost.exit_code == 1 and "no model 'ghost'" in ghost.output


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_fresh_virtualenv_from_its_requirements_serves_it(churn, tmp_path) -> None:
    """No container runtime: the folder's requirements installed into a new virtualenv (mlops-magic as a wheel
    built from this checkout, shipped in wheels/), then its entrypoint started and queried."""
    _, X, clf = churn
    wheels = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(wheels.glob("mlops_magic-*.whl"))
    result = CliRunner().invoke(main, ["models", "package", "churn@production", "-o", str(tmp_path / "build"),
                                       "--wheel", str(wheel)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "build"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--find-links", str(folder / "wheels"),
                                "-r", str(folder / "requirements.txt")], capture_output=True, text=True, timeout=1500)
    assert installed.returncode == 0, installed.stderr[-3000:]
    port = free_port()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "HOST": "127.0.0.1", "PORT": str(port)}
    server = subprocess.Popen(["sh", str(folder / "entrypoint.sh"), "--poll", "0.2"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while True:
            assert server.poll() is None, server.stdout.read().decode()[-3000:] if server.stdout else ""
            try:
                health = httpx.get(f"{url}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.time() < deadline, "the packaged server did not start"
                time.sleep(0.5)
        assert health.json() == {"status": "ok", "model": "churn", "version": 2}
        rows = X.head(20)
        answer = httpx.post(f"{url}/predict", json={"records": rows.assign(request_id=[f"r{i}" for i in range(20)])
                                                    .to_dict("records")}, timeout=30).json()
        assert answer["predictions"] == clf.predict(rows).tolist() and answer["version"] == 2
        wrong = httpx.post(f"{url}/predict", json={"records": [{"age": "old", "plan": 1}]}, timeout=30)
        assert wrong.status_code == 422 and "column 'age'" in wrong.json()["error"]
        labels = httpx.post(f"{url}/labels", json={"ids": ["r0", "r1"], "labels": [1, 0]}, timeout=30).json()
        assert labels["stored"] == 2
    finally:
        stop_group(server, signal.SIGINT)
    from mlops_magic.monitoring.served import served_frame

    logged = served_frame(open_store(str(folder / "store")), "churn")  # what it answered, kept for monitoring
    assert len(logged) == 20 and logged.age.tolist() == rows.age.tolist()

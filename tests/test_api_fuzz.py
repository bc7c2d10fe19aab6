"""Property-based checks of the REST API against its own OpenAPI description (schemathesis).

A client nobody on the team wrote can send any JSON the schema allows, and much it does not:
whatever arrives, the server must answer with a status from the 4xx family or success, never 500.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _support import REPO

SCHEMA = REPO / "labextension" / "openapi.yaml"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    shutil.copy(REPO / "demo_notebooks" / "lifecycle.ipynb", tmp_path / "lifecycle.ipynb")
    port, token = _free_port(), "fuzz-token"
    env = {**os.environ, "MLOPS_STORE": str(tmp_path)}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([str(BIN / "jupyter"), "server", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}",
                             f"--ServerApp.root_dir={tmp_path}", "--allow-root"],
                            stdout=log, stderr=log, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/mlops/api/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            req = urllib.request.Request(f"{url}/info", headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError((tmp_path / "server.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    yield url, token
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.mark.slow
def test_no_request_the_schema_allows_gets_a_server_error(server, tmp_path: Path) -> None:
    url, token = server
    out = subprocess.run(
        [str(BIN / "schemathesis"), "run", str(SCHEMA), "--url", url, "-H", f"Authorization: token {token}",
         "--checks", "not_a_server_error", "--max-examples", "40", "--exclude-path", "/run-now",
         "--seed", "20261126"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its .schemathesis/ cache stays out of the repo
    assert out.returncode == 0, out.stdout[-4000:]

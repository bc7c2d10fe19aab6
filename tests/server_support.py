"""What every test of the REST API against a real Jupyter server shares (import the fixture by name)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import free_port

API = "mlops/api/v1"


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    """pytest-jupyter's server config, with the mlops-magic server extension enabled."""
    jp_server_config["ServerApp"]["jpserver_extensions"]["mlops_magic.server"] = True
    return jp_server_config



async def get_json(jp_fetch: Any, *parts: str, **kwargs: Any) -> Any:
    """A 2xx JSON answer of the API."""
    response = await jp_fetch(API, *parts, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of an answer that must be an error."""
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, *parts, **kwargs)
    body = info.value.response.body if info.value.response else b"{}"
    return info.value.code, json.loads(body or b"{}")


@contextlib.contextmanager
def jupyter_server_process(root: Path, env: dict[str, str], token: str = "fuzz-token") -> Iterator[tuple[str, str]]:
    """A real ``jupyter server`` process serving ``root`` on a free port: (API base URL, token).

    A process of its own, not pytest-jupyter's in-process server, so a client can hammer it from
    this process's threads or from another program (schemathesis); it is stopped by its pid."""
    port = free_port()
    log_path = root.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser",
                                 f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}",
                                 f"--ServerApp.root_dir={root}", "--allow-root"],
                                stdout=log, stderr=log, env=env, cwd=root)
        url = f"http://127.0.0.1:{port}/{API}"
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(f"{url}/info", headers={"Authorization": f"token {token}"})
                urllib.request.urlopen(req, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise AssertionError(log_path.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.3)
        try:
            yield url, token
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)

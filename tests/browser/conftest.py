"""A real `jupyter lab` on loopback and Debian's Chromium driven by Python Playwright.

Never a downloaded browser: `.ci/setup-browser` installs /usr/bin/chromium.
Each test session gets a fresh root dir, settings dir and browser profile.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_harness import ARTIFACTS, REPO, Lab

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: run .ci/setup-browser (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _labextension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any((Path(p) / "mlops-magic" / "package.json").exists() for p in jupyter_path("labextensions"))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    root, settings, workspaces, extra = (base / d for d in ("root", "settings", "workspaces", "extensions"))
    for d in (root, settings, workspaces, extra):
        d.mkdir()
    # No "Jupyter news" pop-up over the page (it would also try the network).
    notif = settings / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    args = []
    built = REPO / "mlops_magic" / "labextension"
    # No MLOPS_STORE: the server and its kernels find each notebook's store as a user's would (the
    # nearest .mlops/ at or above the notebook), so a project below the Lab root is found too.
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("MLOPS_STORE", None)
    if (built / "package.json").exists():
        # Test this checkout's build (`cd labextension && jlpm build`), not whichever copy is installed in
        # the environment: JUPYTER_PATH comes first in Lab's search, so this one wins over the venv's.
        share = base / "share"
        (share / "labextensions").mkdir(parents=True)
        (share / "labextensions" / "mlops-magic").symlink_to(built)
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(share), os.environ.get("JUPYTER_PATH", "")) if p)
    elif not _labextension_installed():
        pytest.fail("the lab extension is not built: run `cd labextension && jlpm build` or `pip install -e .`")
    token, port = secrets.token_hex(16), _free_port()
    env.pop("MLOPS_RUN_ID", None)
    log = base / "lab.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={workspaces}", "--ServerApp.jpserver_extensions={'mlops_magic': True}",
         *args],
        cwd=root, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    lab = Lab(f"http://127.0.0.1:{port}", token, root, process, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            lab.api("mlops/api/v1/info")
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"jupyter lab did not start; its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    yield lab
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def page(lab: Lab, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        pg = context.pages[0] if context.pages else context.new_page()
        pg.console_errors = []  # type: ignore[attr-defined]
        pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
        pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
        yield pg
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"))
        context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]



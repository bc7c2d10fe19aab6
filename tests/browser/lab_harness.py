"""Helpers shared by the browser tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


class Lab:
    def __init__(self, url: str, token: str, root: Path, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.token, self.root, self.process, self.log = url, token, root, process, log

    def api(self, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}/{path}", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())


def open_lab(page: Any, lab: Lab, path: str = "") -> None:
    target = f"/lab/tree/{path}" if path else "/lab"
    page.goto(f"{lab.url}{target}?reset&token={lab.token}")
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def write_notebook(path: Path, cells: list[tuple[str, list[str]]]) -> None:
    """A notebook of code cells (source, tags) with stable cell ids, as Lab would save it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = {
        "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {"tags": tags} if tags else {},
                   "source": src, "outputs": [], "execution_count": None}
                  for i, (src, tags) in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


@contextmanager
def theme(lab: Lab, name: str) -> Iterator[str]:
    """JupyterLab's theme ("dark" or "light") for the pages loaded inside, set in the user settings of the
    session's Lab and removed afterwards, since the server is shared by every test."""
    settings = lab.root.parent / "settings" / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    if name == "dark":
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({"theme": "JupyterLab Dark"}))
    try:
        yield name
    finally:
        settings.unlink(missing_ok=True)

"""The installed package registers both Jupyter extensions, as `pip install` users will see them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")
JUPYTER = str(Path(sys.executable).with_name("jupyter"))


def listing(*args: str) -> str:
    out = subprocess.run([JUPYTER, *args], capture_output=True, text=True, timeout=120)
    return ANSI.sub("", out.stdout + out.stderr)


def test_lab_extension_is_installed_enabled_and_ok() -> None:
    text = listing("labextension", "list")
    assert re.search(r"mlops-magic v\S+ enabled OK", text), text


def test_server_extension_is_enabled_and_validates() -> None:
    text = listing("server", "extension", "list")
    assert re.search(r"mlops_magic enabled", text), text
    assert re.search(r"mlops_magic \S+ OK", text), text

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


def test_wheel_carries_the_built_lab_extension_server_config_and_demo_notebooks(tmp_path: Path) -> None:
    """A wheel needs no Node to install: everything the browser loads is inside it, prebuilt."""
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(repo)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    [wheel] = tmp_path.glob("mlops_magic-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/data/")[0] for n in names if "/data/share/jupyter/labextensions/" in n)
    for expected in ("share/jupyter/labextensions/mlops-magic/package.json",
                     "share/jupyter/labextensions/mlops-magic/install.json",
                     "share/jupyter/labextensions/mlops-magic/static/style.js",
                     "etc/jupyter/jupyter_server_config.d/mlops_magic.json"):
        assert f"{data}/data/{expected}" in names, expected
    assert "mlops_magic/demo_notebooks/churn.ipynb" in names
    assert not any("node_modules" in n for n in names)

"""What identifies a run: notebook path, git commit and dirty flag, Python and package versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: Packages whose versions decide whether a result can be reproduced.
KEY_PACKAGES = ("mlops-magic", "numpy", "pandas", "scikit-learn", "scipy", "ipython", "ipykernel",
                "papermill", "xgboost", "lightgbm", "torch")


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "executable": sys.executable,
        "packages": package_versions(),
    }


def git_state(folder: str | os.PathLike[str] | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git work tree holding ``folder``, or (None, None) outside git."""
    cwd = str(folder or os.getcwd())
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                              timeout=5, check=False)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, timeout=10, check=False)
        return head.stdout.strip() or None, bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def detect_notebook_path(user_ns: dict[str, Any] | None = None) -> str | None:
    """The notebook this process runs: set by the runner, by Jupyter server, or by VS Code."""
    for var in ("MLOPS_NOTEBOOK", "JPY_SESSION_NAME"):
        value = os.environ.get(var)
        if value:
            return _relative(value)
    if user_ns and isinstance(user_ns.get("__vsc_ipynb_file__"), str):
        return _relative(user_ns["__vsc_ipynb_file__"])
    return None


def _relative(path: str) -> str:
    """Notebook paths are kept relative to the project when possible, so stores can move."""
    try:
        from ..store.location import find_project_dir

        p = Path(path)
        if not p.is_absolute():
            return path
        project = find_project_dir(p.parent) if p.parent.exists() else None
        if project is not None:
            return str(p.relative_to(project))
    except (ValueError, OSError):
        pass
    return path

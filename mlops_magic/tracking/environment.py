"""What identifies a run: notebook path, git commit and dirty flag, Python and package versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store.location import find_project_dir

#: Packages whose versions decide whether a result can be reproduced.
KEY_PACKAGES = ("mlops-magic", "numpy", "pandas", "scikit-learn", "scipy", "ipython", "ipykernel",
                "papermill", "xgboost", "lightgbm", "torch")


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    from importlib import metadata  # lazy: %load_ext stays light (it brings the email package, ~20 ms)

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
    """The notebook this process runs: set by the runner, by Jupyter server, by VS Code, or the input of
    the plain ``papermill`` command that started this kernel."""
    for var in ("MLOPS_NOTEBOOK", "JPY_SESSION_NAME"):
        value = os.environ.get(var)
        if value:
            return _relative(value)
    if user_ns and isinstance(user_ns.get("__vsc_ipynb_file__"), str):
        return _relative(user_ns["__vsc_ipynb_file__"])
    run = papermill_parent()
    if run is not None:
        return _relative(run.input_path)
    return None


def detect_script_path() -> str | None:
    """The plain Python script this process runs (``python train.py``), named by the same rule as a
    notebook: relative to its project when inside one, so runs of scripts and notebooks move with it."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path and os.path.isfile(path) and not path.endswith(("ipykernel_launcher.py", "__main__.py")):
        return _relative(os.path.abspath(path))
    return None


@dataclass(frozen=True)
class PapermillRun:
    """A kernel started by the ``papermill`` command: the notebooks it reads and writes."""

    input_path: str  # absolute
    output_path: str | None  # absolute; None when written to stdout or a remote store


_papermill: tuple[int, PapermillRun | None] | None = None


def papermill_parent() -> PapermillRun | None:
    """The ``papermill IN OUT`` command that started this kernel, if one did (cached per process).

    nbclient sends no cell ids and papermill passes no path to the kernel, so the only thing that
    reaches it is its parent process (``JPY_PARENT_PID``, set by jupyter_client): its command line
    names the notebooks, its working directory resolves them. A kernel of ``mlops run`` (attached:
    ``MLOPS_RUN_ID``) or of a Jupyter server is never taken for one.
    """
    global _papermill
    if os.environ.get("MLOPS_RUN_ID") or os.environ.get("JPY_SESSION_NAME"):
        return None
    parent = os.environ.get("JPY_PARENT_PID", "")
    if not parent.isdigit():
        return None
    if _papermill is None or _papermill[0] != os.getpid():
        _papermill = (os.getpid(), _read_papermill_command(int(parent)))
    return _papermill[1]


def _process_command(pid: int) -> tuple[list[str], str] | None:
    """(argv, working directory) of a process; Linux /proc, else psutil when installed."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode("utf-8", "surrogateescape") for a in fh.read().split(b"\0") if a]
        return argv, os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        pass
    try:
        import psutil  # type: ignore[import-untyped]

        proc = psutil.Process(pid)
        return list(proc.cmdline()), proc.cwd()
    except Exception:  # not installed, gone, or not ours to inspect
        return None


def _read_papermill_command(pid: int) -> PapermillRun | None:
    found = _process_command(pid)
    if found is None:
        return None
    argv, cwd = found
    rest = None
    for i, arg in enumerate(argv[:4]):  # papermill ..., python .../papermill ..., python -m papermill ...
        if os.path.basename(arg) in ("papermill", "papermill.exe") or arg.endswith(os.path.join("papermill",
                                                                                                "__main__.py")):
            rest = argv[i + 1:]
            break
        if arg == "-m" and i + 1 < len(argv) and argv[i + 1] == "papermill":
            rest = argv[i + 2:]
            break
    if rest is None:
        return None
    inputs = _papermill_paths(rest)
    if not inputs or not inputs[0] or "://" in inputs[0] or inputs[0] == "-":
        return None

    def local(path: str | None) -> str | None:
        if not path or path == "-" or "://" in path:
            return None
        return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))

    source = local(inputs[0])
    if source is None or not os.path.isfile(source):
        return None
    return PapermillRun(input_path=source, output_path=local(inputs[1]))


#: papermill's command-line options that take values (papermill 2.x), by how many; any other option is
#: a flag. Parsed here rather than with papermill's own click command: importing papermill in the
#: kernel costs seconds (nbformat → jsonschema), inside the user's first cell.
_PAPERMILL_VALUES = {"-p": 2, "--parameters": 2, "-r": 2, "--parameters_raw": 2, "-f": 1, "--parameters_file": 1,
                     "-y": 1, "--parameters_yaml": 1, "-b": 1, "--parameters_base64": 1, "--engine": 1,
                     "--autosave-cell-every": 1, "-k": 1, "--kernel": 1, "-l": 1, "--language": 1, "--cwd": 1,
                     "--stdout-file": 1, "--stderr-file": 1, "--log-level": 1, "--start-timeout": 1,
                     "--start_timeout": 1, "--execution-timeout": 1}


def _papermill_paths(args: list[str]) -> tuple[str, str | None] | None:
    """(input, output) of a papermill command line: its first two positional arguments."""
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positional += args[i + 1:]
            break
        if arg.startswith("-") and arg != "-":
            if arg.startswith("--"):
                name, inline = arg.split("=", 1)[0], "=" in arg  # --cwd=x: the first value is in the token
            else:
                name, inline = arg[:2], len(arg) > 2  # -kpython3 likewise
            takes = _PAPERMILL_VALUES.get(name, 0)
            i += 1 + max(0, takes - (1 if inline else 0))
            continue
        positional.append(arg)
        i += 1
    if not positional:
        return None
    return positional[0], positional[1] if len(positional) > 1 else None


def _relative(path: str) -> str:
    """Notebook paths are kept relative to the project when possible, so stores can move."""
    try:
        p = Path(path)
        if not p.is_absolute():
            return path
        project = find_project_dir(p.parent) if p.parent.exists() else None
        if project is not None:
            return str(p.relative_to(project))
    except (ValueError, OSError):
        pass
    return path

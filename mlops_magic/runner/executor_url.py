"""Which executor a URL names: ``local``, ``local:N``, ``dask://HOST:PORT`` (or ``tcp://``), a
``distributed.Client`` from Python, or the project default (``MLOPS_EXECUTOR``, ``.mlops/config.json``).

The one place a URL becomes an executor, so the CLI, the scheduler, widgets and REST only pass URLs
through. It sits above both executor families (local pools, the Dask cluster), which never import it.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..store import Store
from ..store.location import read_project_config
from ..store.project import project_of
from .cluster import DaskExecutor
from .executors import Executor, InlineExecutor, LocalProcessExecutor

LOCAL = "local"
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def check_executor_url(url: str) -> str:
    """``local``, ``local:N``, ``dask://HOST:PORT`` or ``tcp://HOST:PORT`` (normalised), else one clear error."""

    text = (url or "").strip()
    if text == LOCAL:
        return text
    if text.startswith("local:"):
        n = text[len("local:"):]
        if n.isdigit() and int(n) >= 1:
            return f"local:{int(n)}"
    elif text.startswith(("dask://", "tcp://", "tls://")):
        scheme, rest = text.split("://", 1)
        host, _, port = rest.rstrip("/").rpartition(":")
        if host and port.isdigit():
            return f"{scheme}://{host}:{port}"
    raise InvalidInputError(f"unknown executor {url!r}; use local, local:N, dask://HOST:PORT or tcp://HOST:PORT")


def default_executor_url(store: Store | None = None) -> str:
    """``MLOPS_EXECUTOR``, else the project's ``.mlops/config.json`` ``executor``, else ``local``."""
    import os


    url = os.environ.get("MLOPS_EXECUTOR", "").strip()
    if not url:
        project = project_of(store)
        if project is not None:
            url = str(read_project_config(project).get("executor") or "").strip()
    return check_executor_url(url) if url else LOCAL


def parse_resources(text: str | dict[str, Any] | None) -> dict[str, float]:
    """``GPU=1,memory=8GiB`` → ``{"GPU": 1.0, "memory": 8589934592.0}`` (memory units become bytes)."""
    import re


    if not text:
        return {}
    items = text.items() if isinstance(text, dict) else (
        part.split("=", 1) if "=" in part else (part, "") for part in str(text).split(",") if part.strip())
    out: dict[str, float] = {}
    for name, amount in items:
        name, value = str(name).strip(), str(amount).strip()
        match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)", value)
        unit = match.group(2).lower() if match else ""
        if not name or not name.replace("_", "").replace("-", "").isalnum() or not match or unit not in _UNITS:
            raise InvalidInputError(f"bad resource {name}={value}; use NAME=AMOUNT[,NAME=AMOUNT], "
                                    "e.g. GPU=1,memory=8GiB")
        out[name] = float(match.group(1)) * _UNITS[unit]
    return out


def make_executor(store: Store, parallel: int = 1, executor: Any = None) -> Executor:
    """The executor for a URL (``local``, ``local:N``, ``dask://HOST:PORT``), a ``distributed.Client``,
    or an :class:`Executor`; ``None`` means the project default (:func:`default_executor_url`)."""
    if isinstance(executor, Executor):
        return executor
    if executor is not None and not isinstance(executor, str):
        return DaskExecutor(store, client=executor)  # a distributed.Client from the Python API
    url = check_executor_url(executor) if executor else default_executor_url(store)
    if url.startswith("local:"):
        parallel = max(parallel, int(url.split(":", 1)[1]))
    elif url != LOCAL:
        return DaskExecutor(store, address=url)
    return LocalProcessExecutor(store, parallel) if parallel > 1 else InlineExecutor(store)

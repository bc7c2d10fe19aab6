"""The packages a model version needs to load and predict, pinned to the versions it was trained with.

The first place that knows a package's version wins: the environment recorded with the training run
(``runs.environment``, written by the session), then what the version recorded when its file was
saved (scikit-learn's version; for an imported MLflow model, MLflow's ``requirements.txt``), and only
then the environment doing the packaging, which each pin then says. A model loads reliably only
with the library versions it was saved with (skops and pickle both rebuild the objects as they were).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ..errors import NotFoundError
from ..registry.versions import ModelVersion
from ..store import Store

#: What loading and predicting with a scikit-learn-flavoured model needs, beside mlops-magic itself.
BASE = ("scikit-learn", "numpy", "scipy", "pandas", "skops")
#: Libraries whose estimators come with their own package.
BY_MODULE = {"xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost"}


@dataclass(frozen=True)
class Pin:
    package: str
    version: str | None
    source: str  # "training run" | "model version" | "this environment" | "unknown"

    def __str__(self) -> str:
        return f"{self.package}=={self.version}" if self.version else self.package


def model_packages(mv: ModelVersion) -> list[str]:
    """The packages the version's model file needs (its own library's too)."""
    root = (mv.model_type or "").split(".", 1)[0]
    return [*BASE, *([BY_MODULE[root]] if root in BY_MODULE else [])]


def pins(store: Store, mv: ModelVersion) -> list[Pin]:
    """One pin per package of :func:`model_packages`, from the first place that knows its version."""
    run_env = _run_environment(store, mv)
    found = []
    for package in model_packages(mv):
        if package in run_env:
            found.append(Pin(package, run_env[package], "training run"))
        elif mv.environment.get(package):
            found.append(Pin(package, mv.environment[package], "model version"))
        else:
            found.append(Pin(package, _installed(package), "this environment" if _installed(package) else "unknown"))
    return found


def python_version(store: Store, mv: ModelVersion) -> str:
    """``major.minor`` of the Python the model was trained with (else this one's)."""
    full = str(_run_environment(store, mv, key="python") or mv.environment.get("python") or platform.python_version())
    return ".".join(full.split(".")[:2])


def _run_environment(store: Store, mv: ModelVersion, key: str = "packages") -> Any:
    try:
        environment = store.get_run(mv.run_id).environment or {} if mv.run_id else {}
    except NotFoundError:  # the version's run is not in this store (a version imported without its run)
        environment = {}
    return environment.get(key) or ({} if key == "packages" else None)


def _installed(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

"""mlops-magic: notebook cells as tracked lifecycle stages, headless runs and continuous training.

``%load_ext mlops_magic`` in a notebook, or ``import mlops_magic as mlops`` in Python.

This module only re-exports: each function lives in the package that owns its logic (recording in
``tracking``, models in ``registry``, monitors in ``monitoring``, headless runs in ``runner``,
explanations in ``explain``, the live status panel in ``widgets``, the magics in ``ipython``).
Importing it is cheap: the logging functions come with it, every other name is imported on first
use (``__getattr__``, PEP 562), so pandas, papermill, scikit-learn and ipywidgets load only for the
calls that need them. ``__dir__`` lists every public name, so ``dir(mlops)`` and tab completion see
them all, and a type checker reads the ``TYPE_CHECKING`` imports below: the real signatures.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# `store` stays the subpackage (so `import mlops_magic.store` works); the store itself is get_store().
from . import store as store
from ._version import __version__
from .entities import STAGE_KINDS, Artifact, Fingerprint, Metric, Run, StageRun
from .errors import MlopsError
from .tracking.session import (
    active_run,
    end_run,
    log_artifact,
    log_fingerprint,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tags,
    start_run,
)
from .tracking.session import get_session as get_session  # not in __all__, kept for notebooks that use it
from .tracking.session import store as get_store

#: The names imported on first use, by the module (under this package) that defines them.
_LAZY: dict[str, str] = {
    **dict.fromkeys(["init", "runs", "get_run", "show"], "tracking.api"),
    "fingerprint": "tracking.fingerprint",
    "stage": "autolog.api",
    "status": "widgets.lifecycle_panel",
    **dict.fromkeys(["gate", "GateResult"], "registry.gates"),
    **dict.fromkeys(["register_model", "promote", "rollback", "load_model", "list_models", "model_versions",
                     "alias_history"], "registry.api"),
    "ModelVersion": "registry.versions",
    **dict.fromkeys(["drift", "quality", "performance", "log_labels", "log_predictions", "drift_history"],
                    "monitoring.api"),
    "served_inputs": "monitoring.served",
    "profile": "stats.profile",
    "DriftReport": "monitoring.drift",
    **dict.fromkeys(["run_notebook", "run_notebooks", "RunRequest"], "runner"),
    **dict.fromkeys(["diff", "reproduce", "lineage", "model_card"], "explain.api"),
    **dict.fromkeys(["load_ipython_extension", "unload_ipython_extension"], "ipython.extension"),
}

if TYPE_CHECKING:  # what a type checker and an IDE see: the same names, with their real signatures
    from .autolog.api import stage
    from .explain.api import diff, lineage, model_card, reproduce
    from .ipython.extension import load_ipython_extension as load_ipython_extension
    from .ipython.extension import unload_ipython_extension as unload_ipython_extension
    from .monitoring.api import drift, drift_history, log_labels, log_predictions, performance, quality
    from .monitoring.drift import DriftReport
    from .monitoring.served import served_inputs
    from .registry.api import (
        alias_history,
        list_models,
        load_model,
        model_versions,
        promote,
        register_model,
        rollback,
    )
    from .registry.gates import GateResult, gate
    from .registry.versions import ModelVersion
    from .runner import RunRequest, run_notebook, run_notebooks
    from .stats.profile import profile
    from .tracking.api import get_run, init, runs, show
    from .tracking.fingerprint import fingerprint
    from .widgets.lifecycle_panel import status


def __getattr__(name: str) -> Any:
    """Import a public name on first use; it is kept here afterwards, so the next use is a plain lookup."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


#: Names this module needs for itself, which ``dir()`` need not offer.
_PLUMBING = {"annotations", "importlib", "Any", "TYPE_CHECKING"}


def __dir__() -> list[str]:
    """Every name, the ones not imported yet included, so ``dir()`` and tab completion list them all."""
    return sorted((set(globals()) | set(_LAZY)) - _PLUMBING)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlops-magic"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlops_magic.server"}]


__all__ = [
    "STAGE_KINDS",
    "Artifact",
    "DriftReport",
    "Fingerprint",
    "GateResult",
    "Metric",
    "MlopsError",
    "ModelVersion",
    "Run",
    "RunRequest",
    "StageRun",
    "__version__",
    "active_run",
    "alias_history",
    "diff",
    "drift",
    "drift_history",
    "end_run",
    "fingerprint",
    "gate",
    "get_run",
    "get_store",
    "init",
    "lineage",
    "list_models",
    "load_model",
    "log_artifact",
    "log_fingerprint",
    "log_labels",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_predictions",
    "model_card",
    "model_versions",
    "performance",
    "profile",
    "promote",
    "quality",
    "register_model",
    "reproduce",
    "rollback",
    "run_notebook",
    "run_notebooks",
    "runs",
    "served_inputs",
    "set_tags",
    "show",
    "stage",
    "start_run",
    "status",
]

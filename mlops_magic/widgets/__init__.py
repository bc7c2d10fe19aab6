"""ipywidgets panels over the core: lifecycle, runs, compare, metric charts and parameters.

Importing this package imports neither ipywidgets nor matplotlib; a panel
imports them when it is first drawn. Each panel also renders as escaped static
HTML and plain text, which is what headless runs, nbconvert and untrusted
notebooks keep.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "LifecyclePanel": "lifecycle_panel",
    "RunsTable": "runs_table",
    "ComparePanel": "compare_panel",
    "PlotPanel": "plot_panel",
    "ParamsPanel": "params_panel",
    "DriftPanel": "drift_panel",
    "PerformancePanel": "performance_panel",
    "Panel": "base",
    "frontend_available": "base",
    "read_parameters": "parameters",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = sorted(_EXPORTS)

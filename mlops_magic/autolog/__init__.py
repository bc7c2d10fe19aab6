"""Autolog: a stage records what its code does with scikit-learn, XGBoost, LightGBM and matplotlib.

Scoped to the stage: the libraries' functions are wrapped when a stage starts and put back when it
ends (:mod:`.observer`), so nothing outside stage cells is touched, and what is recorded belongs to
the stage that did it. Importing this package imports none of those libraries. docs/autolog.md says
what is captured, how it is named, and how to turn it off.
"""

from __future__ import annotations

from typing import Any

#: The autolog observer's name among the session's stage observers.
NAME = "autolog"


def __getattr__(name: str) -> Any:
    """The observer module is imported when first asked for: ``%load_ext`` registers autolog without it
    (``tracking.stage_hooks.LazyObserver``), and ``ipython/autolog.py`` needs only :mod:`.control`."""
    if name in ("AutologObserver", "ensure_registered"):
        from . import observer  # lazy: %load_ext stays light

        return getattr(observer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NAME", "AutologObserver", "ensure_registered"]

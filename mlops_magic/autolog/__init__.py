"""Autolog: a stage records what its code does with scikit-learn, XGBoost, LightGBM and matplotlib.

Scoped to the stage: the libraries' functions are wrapped when a stage starts and put back when it
ends (:mod:`.observer`), so nothing outside stage cells is touched, and what is recorded belongs to
the stage that did it. Importing this package imports none of those libraries. docs/autolog.md says
what is captured, how it is named, and how to turn it off.
"""

from __future__ import annotations

from .observer import AutologObserver, ensure_registered

__all__ = ["AutologObserver", "ensure_registered"]

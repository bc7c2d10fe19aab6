"""How autologged values are named (the rule docs/autolog.md states), and how values are made loggable.

- A metric function's value is named after the function without ``_score``: ``accuracy_score`` →
  ``accuracy``, ``roc_auc_score`` → ``roc_auc``, ``log_loss`` and ``mean_squared_error`` as they are;
  ``estimator.score(X, y)`` is ``score``.
- The first data a function is called on in a run gets that name; a call on other data gets a suffix:
  the name of the variable holding ``y_true`` (``accuracy_y_val``), found in the caller's frame by
  identity, or a number (``accuracy_2``) when no variable holds it. The same data again adds a step.
- Parameters are ``get_params(deep=True)`` names as scikit-learn spells them (``gbm__max_depth``); when
  a stage fits several estimators, each one bound to a variable is prefixed with it (``scaler.copy``).
"""

from __future__ import annotations

import math
import sys
from typing import Any

#: Longest text kept for a parameter that is not a number, a string or a boolean.
MAX_PARAM_TEXT = 250


def metric_base(function_name: str) -> str:
    """``accuracy_score`` → ``accuracy``; a name without ``_score`` stays as it is."""
    return function_name[: -len("_score")] if function_name.endswith("_score") else function_name


def variable_name(value: Any, frame: Any) -> str | None:
    """The name a variable of ``frame`` (its locals, then its globals) binds ``value`` to, by identity.

    Only identity is compared, so an array of any size costs the same: one pass over the names.
    """
    seen: list[dict[str, Any]] = []
    for names in (frame.f_locals, frame.f_globals):
        if any(names is s for s in seen):
            continue
        seen.append(names)
        for name, bound in names.items():
            if bound is value and not name.startswith("_"):
                return str(name)
    return None


def caller_frame(depth: int) -> Any:
    """The frame ``depth`` levels above the caller of this function."""
    return sys._getframe(depth + 1)


class Namer:
    """The metric names of one run: which data each function was first called on, and the suffixes."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str | None], str] = {}
        self._count: dict[str, int] = {}

    def name(self, base: str, data: str | None) -> str:
        key = (base, data)
        found = self._names.get(key)
        if found is not None:
            return found
        n = self._count.get(base, 0) + 1
        self._count[base] = n
        if n == 1:
            found = base
        elif data is not None:
            found = f"{base}_{data}"
        else:
            found = f"{base}_{n}"
        self._names[key] = found
        return found


def number(value: Any) -> float | None:
    """A metric value: a real number (NaN and infinities included), else None (arrays, dicts, labels)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    item = getattr(value, "item", None)
    dtype = getattr(value, "dtype", None)
    if item is not None and getattr(value, "ndim", None) == 0 and getattr(dtype, "kind", "") in ("i", "u", "f"):
        return float(item())
    return None


def param_value(value: Any) -> Any:
    """A parameter as the store keeps it: numbers, strings, booleans and None as they are; an estimator
    as its class name; a function by its name; anything else as a short text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value if not (isinstance(value, float) and math.isnan(value)) else "nan"
    scalar = number(value)
    if scalar is not None:
        return int(scalar) if float(scalar).is_integer() and getattr(value.dtype, "kind", "f") in "iu" else scalar
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if isinstance(value, type):
        return value.__name__
    if callable(value) and hasattr(value, "__name__"):
        return str(value.__name__)
    if isinstance(value, (list, tuple)):
        text = repr(_short(value))
    elif isinstance(value, dict):
        text = repr({k: _short(v) for k, v in value.items()})
    else:
        text = repr(value)
    return text if len(text) <= MAX_PARAM_TEXT else text[: MAX_PARAM_TEXT - 1] + "…"


def _short(value: Any) -> Any:
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_short(v) for v in value)
    return param_value(value)


def class_path(cls: type) -> str:
    """``sklearn.ensemble.GradientBoostingClassifier``: the module path without its private parts."""
    parts = [p for p in cls.__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, cls.__qualname__])

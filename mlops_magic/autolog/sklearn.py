"""scikit-learn estimators (and any ``BaseEstimator``, e.g. XGBoost's and LightGBM's): fit and score.

Each estimator class's *own* ``fit`` / ``fit_transform`` / ``fit_predict`` / ``score`` is wrapped (one
defined on a base class is wrapped there once). Only the outermost call records: a Pipeline's steps, a
search's clones and the refit, the fits inside ``cross_val_score`` and the ``score`` we compute for the
training score run with recording suspended. Only classes already imported are wrapped; the observer
calls :func:`apply` again when the stage imports more of scikit-learn.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from . import boosting, search
from .naming import class_path, number, param_value, variable_name
from .patching import Patches, Scope, call_through
from .recorder import Fit, MetricCall, Recorder

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
#: Functions whose inner fits are folds and clones, not the stage's model.
CV_FUNCTIONS = ("cross_validate", "cross_val_score", "cross_val_predict", "learning_curve",
                "validation_curve", "permutation_test_score")
#: Libraries that build on scikit-learn's ``BaseEstimator`` and that ``--only`` can name.
LIBRARIES = ("sklearn", "xgboost", "lightgbm")


def library_of(cls: type) -> str:
    """Which switch (``--only``) governs an estimator class: its library, ``sklearn`` for your own."""
    top = cls.__module__.partition(".")[0]
    return top if top in LIBRARIES else "sklearn"


def estimator_classes(base: type) -> list[type]:
    """Every subclass of ``base`` imported so far (the classes whose methods can be wrapped now)."""
    found: list[type] = []
    seen = {base}
    stack = [base]
    while stack:
        sub: type
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                found.append(sub)
                stack.append(sub)
    return found


def apply(patches: Patches) -> int:
    """Wrap what scikit-learn has imported so far; returns how many methods were wrapped now."""
    base = sys.modules.get("sklearn.base")
    if base is None:
        return 0
    classes = [base.BaseEstimator, *estimator_classes(base.BaseEstimator)]
    count = patches.wrap_all(classes, FIT_METHODS, on_fit)
    mixins = [getattr(base, name) for name in ("ClassifierMixin", "RegressorMixin") if hasattr(base, name)]
    count += patches.wrap_all([*mixins, *classes], ("score",), on_score)
    selection = sys.modules.get("sklearn.model_selection")
    if selection is not None:
        count += patches.wrap_all([selection], CV_FUNCTIONS, _suspend)
    return count


def _suspend(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return call_through(scope, inner, *args, **kwargs)


def on_fit(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    rec: Recorder = scope.rec
    estimator = args[0] if args else None
    if not rec.enabled(library_of(type(estimator))):
        return call_through(scope, inner, *args, **kwargs)
    start = time.perf_counter()
    result = call_through(scope, inner, *args, **kwargs)  # the user's error propagates: nothing recorded
    seconds = time.perf_counter() - start
    try:
        rec.fits.append(_fit_record(scope, rec, estimator, args[1:], kwargs, seconds, rec.training_score))
    except Exception as exc:  # autolog never fails the cell
        rec.failed(f"fit of {type(estimator).__name__}", exc)
    return result


def _fit_record(scope: Scope, rec: Recorder, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                seconds: float, training_score: bool) -> Fit:
    params = {str(k): param_value(v) for k, v in estimator.get_params(deep=True).items()}
    fit = Fit(estimator, library_of(type(estimator)), class_path(type(estimator)), params, seconds)
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if training_score and y is not None and X is not None:
        fit.training_score = _training_score(scope, estimator, X, y, kwargs.get("sample_weight"))
    fit.series = boosting.round_series(estimator, rec)
    fit.search = search.summarize(estimator)
    return fit


def _training_score(scope: Scope, estimator: Any, X: Any, y: Any, sample_weight: Any) -> float | None:
    """``estimator.score(X, y)`` on the training data, as MLflow logs it; None when it has none."""
    score = getattr(estimator, "score", None)
    if score is None:
        return None
    try:
        value = (call_through(scope, score, X, y) if sample_weight is None
                 else call_through(scope, score, X, y, sample_weight=sample_weight))
    except Exception:  # a clusterer's score takes no y, a transformer has none: no training score
        return None
    return number(value)


def on_score(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    rec: Recorder = scope.rec
    estimator = args[0] if args else None
    if not rec.enabled(library_of(type(estimator))):
        return call_through(scope, inner, *args, **kwargs)
    value = call_through(scope, inner, *args, **kwargs)
    try:
        found = number(value)
        if found is not None:
            y = args[2] if len(args) > 2 else kwargs.get("y")
            data = y if y is not None else (args[1] if len(args) > 1 else kwargs.get("X"))
            rec.calls.append(MetricCall("score", variable_name(data, sys._getframe(2)), found))
    except Exception as exc:
        rec.failed("score", exc)
    return value

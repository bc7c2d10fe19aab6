"""Boosting rounds as step metrics: XGBoost, LightGBM, and scikit-learn's own gradient boosting.

Their scikit-learn estimators are ``BaseEstimator``s, so :mod:`.sklearn` records their fit; this module
reads, after the fit, what each round evaluated (``evals_result()`` / ``evals_result_``, scikit-learn's
``train_score_``) and turns it into series named ``DATASET_METRIC`` (``validation_0_logloss``,
``valid_0_binary_logloss``, ``train_loss``) whose step is the round. The native ``xgboost.train`` and
``lightgbm.train`` are wrapped too: their ``params`` and the evaluations of every round are recorded.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .naming import number, param_value
from .patching import Patches, Scope, call_through
from .recorder import Fit, Recorder


def inner_model(estimator: Any) -> Any:
    """The model that boosts: a Pipeline's last step, a search's best estimator, else the estimator."""
    for _ in range(8):
        steps = getattr(estimator, "steps", None)
        best = getattr(estimator, "best_estimator_", None)
        if isinstance(steps, list) and steps:
            estimator = steps[-1][1]
        elif best is not None:
            estimator = best
        else:
            break
    return estimator


def round_series(estimator: Any, rec: Recorder) -> dict[str, list[float]]:
    """Per-round evaluations of a fitted model, by metric name (empty when it has none)."""
    model = inner_model(estimator)
    top = type(model).__module__.partition(".")[0]
    if not rec.enabled(top if top in ("xgboost", "lightgbm") else "sklearn"):
        return {}
    if top == "xgboost":
        try:
            return _evals(model.evals_result())
        except Exception:  # fitted without eval_set: "No evaluation result"
            return {}
    if top == "lightgbm":
        return _evals(getattr(model, "evals_result_", None) or {})
    if top == "sklearn" and type(model).__name__ in ("GradientBoostingClassifier", "GradientBoostingRegressor"):
        return {"train_loss": _numbers(getattr(model, "train_score_", ()))}
    if top == "sklearn" and type(model).__name__.startswith("HistGradientBoosting"):
        out = {}
        for attr, name in (("train_score_", "train_score"), ("validation_score_", "validation_score")):
            values = _numbers(getattr(model, attr, ()))
            if len(values) > 1:
                out[name] = values
        return out
    return {}


def _evals(results: dict[str, Any]) -> dict[str, list[float]]:
    return {f"{data}_{metric}": _numbers(values)
            for data, metrics in results.items() for metric, values in dict(metrics).items()}


def _numbers(values: Any) -> list[float]:
    out = []
    for v in values:
        n = number(v)
        out.append(float("nan") if n is None else n)
    return out


def apply(patches: Patches, rec: Recorder) -> int:
    """Wrap ``xgboost.train`` and ``lightgbm.train`` if those libraries are imported and enabled."""
    count = 0
    for library, handler in (("xgboost", on_xgboost_train), ("lightgbm", on_lightgbm_train)):
        module = sys.modules.get(library)
        if module is not None and rec.enabled(library):
            count += patches.wrap_all([module], ("train",), handler)
    return count


def on_xgboost_train(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    results: dict[str, Any] = {}
    if kwargs.get("evals_result") is None:
        kwargs = {**kwargs, "evals_result": results}
    else:
        results = kwargs["evals_result"]
    return _train(scope, "xgboost", inner, args, kwargs, results)


def on_lightgbm_train(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    results: dict[str, Any] = {}
    callback = sys.modules["lightgbm"].record_evaluation(results)
    kwargs = {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), callback]}
    return _train(scope, "lightgbm", inner, args, kwargs, results)


def _train(scope: Scope, library: str, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
           results: dict[str, Any]) -> Any:
    rec: Recorder = scope.rec
    params = dict(args[0] if args else kwargs.get("params") or {})
    start = time.perf_counter()
    booster = call_through(scope, inner, *args, **kwargs)
    seconds = time.perf_counter() - start
    try:
        rounds = kwargs.get("num_boost_round", args[2] if len(args) > 2 else None)
        logged = {str(k): param_value(v) for k, v in params.items()}
        if rounds is not None:
            logged["num_boost_round"] = param_value(rounds)
        rec.fits.append(Fit(booster, library, f"{library}.Booster", logged, seconds, series=_evals(results)))
    except Exception as exc:
        rec.failed(f"{library}.train", exc)
    return booster

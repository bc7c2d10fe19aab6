"""Model performance from predictions: realized (with labels) and estimated without them (CBPE).

Confidence-based performance estimation (CBPE, as NannyML introduced it): on the reference set, where
labels are known, each class's predicted probability is calibrated against the truth (isotonic
regression). On a window without labels, a calibrated probability *is* the chance that the row is of
that class, so the confusion matrix can be estimated as expected counts, and every metric from it; ROC
AUC from expected true- and false-positive rates along the model's own score ranking.

It holds while the relation between inputs and target stays the one the reference saw (no concept
drift): covariate shift moves rows into regions where the model is more or less sure, and the estimate
follows; a world where the same inputs now mean another outcome is invisible without labels. That is
why realized values are shown beside estimated ones wherever labels exist.

Pure numpy (and scikit-learn's isotonic regression, imported when calibrating).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..entities import json_safe
from ..errors import InvalidInputError

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "auc")
REGRESSION_METRICS = ("mae", "rmse", "r2")
Z = 3.0  # the band is +-3 standard errors, as NannyML draws it


# -- realized -----------------------------------------------------------------------------------------
def _confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Counts[true, predicted] for class indices 0..k-1."""
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).astype(float)


def metrics_from_confusion(m: np.ndarray) -> dict[str, float]:
    """Accuracy and (binary: positive class; multiclass: macro) precision, recall and F1."""
    if m.shape == (2, 2):
        return _binary_metrics(m)
    n = m.sum()
    k = m.shape[0]
    out = {"accuracy": float(np.trace(m) / n) if n else math.nan}
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.diag(m) / m.sum(axis=0)
        recall = np.diag(m) / m.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    if k == 2:
        out.update(precision=float(precision[1]), recall=float(recall[1]), f1=float(f1[1]))
    else:
        out.update(precision=float(np.nanmean(precision)), recall=float(np.nanmean(recall)),
                   f1=float(np.nanmean(f1)))
    return {key: (0.0 if math.isnan(v) and key != "accuracy" and n else v) for key, v in out.items()}


def _binary_metrics(m: np.ndarray) -> dict[str, float]:
    """:func:`metrics_from_confusion` of a 2 x 2 matrix in plain floats: the same operations in the same
    order as numpy's (its sum of four numbers adds them in row order), without numpy's per-call cost."""
    (a, b), (c, d) = m.tolist()
    n = ((a + b) + c) + d
    precision, recall = _divide(d, b + d), _divide(d, c + d)
    out = {"accuracy": (a + d) / n if n else math.nan, "precision": precision, "recall": recall,
           "f1": _divide(2 * precision * recall, precision + recall)}
    return {key: (0.0 if math.isnan(v) and key != "accuracy" and n else v) for key, v in out.items()}


def _divide(x: float, y: float) -> float:
    """x / y as numpy divides: nan for 0 / 0, an infinity for another number over zero."""
    if y:
        return x / y
    if x == 0 or math.isnan(x):
        return math.nan
    return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _auc_from_weights(score: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` where each row counts ``pos`` as positive and ``neg`` as negative.

    With 0/1 weights this is the ordinary (tie-aware) ROC AUC; with calibrated probabilities it is the
    expected one. Ties in ``score`` are one step of the curve, as scikit-learn draws it.
    """
    score, pos, neg = np.asarray(score, dtype=float), np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    order = np.argsort(-score, kind="mergesort")
    return _auc_descending(score[order], pos[order], neg[order])


def _auc_descending(s: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """:func:`_auc_from_weights` of scores already in descending order (ties in any order)."""
    last = np.append(np.flatnonzero(np.diff(s)), len(s) - 1)  # the last row of each distinct score
    tps, fps = np.cumsum(p)[last], np.cumsum(q)[last]
    if tps[-1] <= 0 or fps[-1] <= 0:
        return math.nan
    tpr = np.concatenate(([0.0], tps / tps[-1]))
    fpr = np.concatenate(([0.0], fps / fps[-1]))
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))


def auc(y_true: np.ndarray, proba: np.ndarray, k: int) -> float:
    """Binary ROC AUC of the positive class, or the macro one-vs-rest AUC of several classes."""
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    if k == 2:
        pos = (y_true == 1).astype(float)
        return _auc_from_weights(proba[:, 1], pos, 1 - pos)
    values = []
    for c in range(k):
        pos = (y_true == c).astype(float)
        values.append(_auc_from_weights(proba[:, c], pos, 1 - pos))
    return float(np.nanmean(values)) if not all(math.isnan(v) for v in values) else math.nan


def realized_classification(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                            k: int) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    out = metrics_from_confusion(_confusion(y_true, y_pred, k))
    out["auc"] = auc(y_true, proba, k) if proba is not None else math.nan
    return out


def realized_regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2)) if len(y_true) else math.nan
    return {"mae": float(np.mean(np.abs(err))) if len(err) else math.nan,
            "rmse": float(math.sqrt(np.mean(err ** 2))) if len(err) else math.nan,
            "r2": 1 - float(np.sum(err ** 2)) / ss_tot if ss_tot else math.nan}


# -- sampling error -----------------------------------------------------------------------------------
def standard_errors(values: dict[str, float], m: np.ndarray) -> dict[str, float]:
    """Standard errors of each metric for a window with (expected) confusion counts ``m``.

    Binomial errors for accuracy, precision and recall over their own denominators; F1 by its harmonic
    mean's denominator; AUC by Hanley & McNeil (1982). They size the band drawn around an estimate.
    """
    n = float(m.sum())
    k = m.shape[0]
    positive = 1 if k == 2 else None

    def binomial(p: float, count: float) -> float:
        return math.sqrt(max(p * (1 - p), 0.0) / count) if count > 0 and not math.isnan(p) else math.nan

    predicted = m[:, positive].sum() if positive is not None else n / k
    actual = m[positive, :].sum() if positive is not None else n / k
    out = {"accuracy": binomial(values.get("accuracy", math.nan), n),
           "precision": binomial(values.get("precision", math.nan), predicted),
           "recall": binomial(values.get("recall", math.nan), actual),
           "f1": binomial(values.get("f1", math.nan), (predicted + actual) / 2)}
    a = values.get("auc", math.nan)
    n1 = actual if positive is not None else n / k
    n0 = n - n1
    if math.isnan(a) or n1 < 1 or n0 < 1:
        out["auc"] = math.nan
    else:
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        out["auc"] = math.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a), 0.0) / (n1 * n0))
    return out


# -- estimated (CBPE) -----------------------------------------------------------------------------------
@dataclass
class Calibration:
    """Per-class isotonic maps from predicted probability to the observed frequency on the reference."""

    classes: list[Any]
    x: list[list[float]]  # per class: increasing probability knots
    y: list[list[float]]  # per class: calibrated frequency at each knot

    def apply(self, proba: np.ndarray) -> np.ndarray:
        k = len(self.classes)
        if k == 2:  # class 0 is 1 - class 1
            out = np.empty((len(proba), 2))
            out[:, 1] = self.positive(proba[:, 1])
            np.subtract(1, out[:, 1], out=out[:, 0])
            return out
        out = np.column_stack([np.interp(proba[:, c], self.x[c], self.y[c]) for c in range(k)])
        total = out.sum(axis=1, keepdims=True)  # calibrated one-vs-rest probabilities of a row sum to one again
        return np.divide(out, total, out=np.full_like(out, 1 / k), where=total > 0)

    def positive(self, score: np.ndarray) -> np.ndarray:
        """A binary model's calibrated probability of class 1: a function of its own score alone."""
        return np.interp(score, self.x[1], self.y[1])

    def to_dict(self) -> dict[str, Any]:
        return {"classes": [json_safe(c) for c in self.classes], "x": self.x, "y": self.y}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(list(data["classes"]), data["x"], data["y"])


IDENTITY = ([0.0, 1.0], [0.0, 1.0])


def _isotonic(score: np.ndarray, target: np.ndarray) -> tuple[list[float], list[float]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, target)
    return [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]


def calibration_error(score: np.ndarray, target: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-count bins of the score (ties in score order of rows)."""
    n = len(score)
    edges = np.linspace(0, n, min(bins, max(n // 2, 1)) + 1).astype(int)
    if n and np.all((target == 0) | (target == 1)):  # a class's 0/1 truth: counts, no argsort
        s = np.sort(score)
        ones = _ones_before(score, target, s, edges)
        t_means = [(ones[b + 1] - ones[b]) / (hi - lo) if hi > lo else 0.0
                   for b, (lo, hi) in enumerate(itertools.pairwise(edges))]
    else:
        order = np.argsort(score, kind="mergesort")
        s, t = score[order], target[order]
        t_means = [t[lo:hi].mean() if hi > lo else 0.0 for lo, hi in itertools.pairwise(edges)]
    return float(sum((hi - lo) / n * abs(s[lo:hi].mean() - t_mean)
                     for (lo, hi), t_mean in zip(itertools.pairwise(edges), t_means) if hi > lo))


def _ones_before(score: np.ndarray, target: np.ndarray, ranked: np.ndarray, edges: np.ndarray) -> list[int]:
    """For each edge r, how many of the first r rows in stable score order have target 1.

    They are the rows scored below v = ranked[r], and the first (by row) of those scored exactly v, as
    many as fill the ranks from v's first one up to r.
    """
    positives = np.sort(score[target == 1])
    out = []
    for r in edges.tolist():
        if r >= len(ranked):
            out.append(len(positives))
            continue
        v = ranked[r]
        first = int(np.searchsorted(ranked, v, "left"))
        below = int(np.searchsorted(positives, v, "left"))
        if r > first:  # a tie straddles the edge
            below += int(np.count_nonzero(target[np.flatnonzero(score == v)[: r - first]] == 1))
        out.append(below)
    return out


def needs_calibration(score: np.ndarray, target: np.ndarray, folds: int = 5) -> bool:
    """Whether isotonic calibration lowers the calibration error on held-out reference rows.

    A model that is calibrated already (a well-specified logistic regression) is better left alone: an
    isotonic step function fitted on a finite sample adds its own error, most in the tails a shifted
    window fills. So calibrate only when the raw scores' error is above what sampling alone gives and
    cross-validation says calibration lowers it (NannyML asks the second question too).
    """
    if len(score) < 4 * folds or np.all(target == target[0]):  # a single class: nothing to calibrate
        return False
    noise = 0.4 * math.sqrt(10 / len(score))  # the error a perfectly calibrated score shows from sampling alone
    if calibration_error(score, target) <= noise:
        return False  # calibrated already: no fold needs fitting
    index = np.random.default_rng(0).permutation(len(score))
    raw, calibrated, truth = [], [], []
    for fold in np.array_split(index, folds):
        train = np.setdiff1d(index, fold, assume_unique=True)
        x, y = _isotonic(score[train], target[train])
        raw.append(score[fold])
        calibrated.append(np.interp(score[fold], x, y))
        truth.append(target[fold])
    t = np.concatenate(truth)
    return calibration_error(np.concatenate(calibrated), t) < calibration_error(np.concatenate(raw), t)


def calibrate(y_true_idx: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> Calibration:
    """Fit the per-class maps on the reference set (labels as class indices); identity where not needed."""
    y_true_idx, proba = np.asarray(y_true_idx), np.asarray(proba, dtype=float)
    k = len(classes)
    xs, ys = [], []
    for c in range(k if k > 2 else 2):
        if k == 2 and c == 0:  # class 0 of a binary model is 1 - class 1
            xs.append(IDENTITY[0])
            ys.append(IDENTITY[1])
            continue
        target = (y_true_idx == c).astype(float)
        x, y = _isotonic(proba[:, c], target) if needs_calibration(proba[:, c], target) else IDENTITY
        xs.append(list(x))
        ys.append(list(y))
    return Calibration(list(classes), xs, ys)


def estimate_classification(calibration: Calibration, y_pred_idx: np.ndarray, proba: np.ndarray
                            ) -> tuple[dict[str, float], np.ndarray]:
    """Expected metrics of a window and its expected confusion counts (rows: true, columns: predicted)."""
    k = len(calibration.classes)
    y_pred_idx, proba = np.asarray(y_pred_idx), np.asarray(proba, dtype=float)
    calibrated = calibration.apply(proba)
    # expected[true, predicted]: each true class's calibrated probability summed over the rows predicted
    # as each class (bincount adds in row order, as the sum over the selected rows did)
    expected = np.stack([np.bincount(y_pred_idx, weights=calibrated[:, j], minlength=k)[:k] for j in range(k)])
    values = metrics_from_confusion(expected)
    if k == 2:  # the weights are a function of the score: sort the scores, calibrate them in that order
        ranked = np.sort(proba[:, 1])[::-1]
        positive = calibration.positive(ranked)
        values["auc"] = _auc_descending(ranked, positive, 1 - positive)
    else:
        per_class = [_auc_from_weights(proba[:, c], calibrated[:, c], 1 - calibrated[:, c]) for c in range(k)]
        values["auc"] = float(np.nanmean(per_class))
    return values, expected


def class_indices(values: Sequence[Any], classes: Sequence[Any], what: str) -> np.ndarray:
    """Labels or predictions as indices into ``classes``; one clear line for a value the model never had."""
    lookup = {_key(c): i for i, c in enumerate(classes)}
    seen: dict[tuple[type, Any], int] = {}  # each distinct value is normalised once, not once per row
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = seen[type(v), v]
            continue
        except (KeyError, TypeError):  # new, or unhashable
            pass
        idx = lookup.get(_key(v))
        if idx is None:
            raise InvalidInputError(f"{what} {v!r} is not one of the model's classes "
                                    f"({', '.join(repr(json_safe(c)) for c in classes)})")
        out[i] = idx
        try:
            seen[type(v), v] = idx
        except TypeError:
            pass
    return out


def _key(value: Any) -> Any:
    value = json_safe(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        return int(value)
    return value


# -- the reference a version is estimated against ---------------------------------------------------------
def reference_from_model(model: Any, inputs: Any, labels: Any) -> tuple[str, dict[str, Any]]:
    """What estimation needs from a version's evaluation set: kind, classes, calibration, realized metrics.

    Computed once at registration from the model's own predictions on ``inputs`` against ``labels``.
    """
    if len(labels) != len(inputs):
        raise InvalidInputError(f"--labels has {len(labels)} values but --input has {len(inputs)} rows")
    prediction = np.asarray(model.predict(inputs))
    classes = getattr(model, "classes_", None)
    proba = model.predict_proba(inputs) if classes is not None and hasattr(model, "predict_proba") else None
    return reference_from_predictions(prediction, proba, labels, classes=classes,
                                      kind="regression" if classes is None else "classification")


def reference_from_predictions(predictions: Any, probabilities: Any, labels: Any, *, classes: Any = None,
                               kind: str | None = None) -> tuple[str, dict[str, Any]]:
    """The same reference from predictions (and class probabilities) made anywhere, against ``labels``.

    A model we never saw (a vendor's, a batch job's) is described by what it answered. ``kind`` is
    classification when there are probabilities or the predictions are not fractional numbers;
    ``classes`` default to the probabilities' column names, else to the sorted labels and predictions.
    """
    y = np.asarray(labels)
    prediction = np.asarray(predictions)
    if len(y) != len(prediction):
        raise InvalidInputError(f"labels has {len(y)} values but predictions has {len(prediction)}")
    if len(y) < 10:
        raise InvalidInputError("--labels needs at least 10 labelled rows to serve as a reference")
    kind = kind or infer_kind(prediction, probabilities)
    if kind == "regression":
        try:
            truth, pred = y.astype(float), prediction.astype(float)
        except (TypeError, ValueError):
            raise InvalidInputError("the labels and predictions of a regressor must be numbers") from None
        return "regression", {"rows": len(y), "metrics": realized_regression(truth, pred), "estimable": False}
    classes = [json_safe(c) for c in (classes if classes is not None else classes_of(probabilities, y, prediction))]
    y_idx = class_indices(list(y), classes, "label")
    pred_idx = class_indices(list(prediction), classes, "prediction")
    proba = as_probabilities(probabilities, classes) if probabilities is not None else None
    metrics = realized_classification(y_idx, pred_idx, proba, len(classes))
    out: dict[str, Any] = {"rows": len(y), "classes": classes, "metrics": metrics, "estimable": proba is not None}
    if proba is not None:
        out["calibration"] = calibrate(y_idx, proba, classes).to_dict()
    return "classification", out


def infer_kind(predictions: Any, probabilities: Any) -> str:
    """classification when there are class probabilities or the predictions are labels (not fractions)."""
    if probabilities is not None:
        return "classification"
    values = np.asarray(predictions)
    if values.dtype.kind == "f" and len(values) and not np.all(np.mod(values[np.isfinite(values)], 1) == 0):
        return "regression"
    return "classification"


def classes_of(probabilities: Any, labels: Any, predictions: Any) -> list[Any]:
    """The class order: the probabilities' column names, else every label and prediction seen, sorted."""
    columns = getattr(probabilities, "columns", None)
    if columns is not None:
        return list(columns)
    seen = {_key(v): json_safe(v) for v in [*np.asarray(labels).tolist(), *np.asarray(predictions).tolist()]}
    return [seen[k] for k in sorted(seen, key=lambda k: (type(k).__name__, k))]


def as_probabilities(values: Any, classes: Sequence[Any]) -> np.ndarray:
    """Class probabilities as a rows x classes matrix in ``classes`` order.

    A frame is reordered by its column names; one column of numbers is the second (positive) class's
    probability of a binary model, as most scoring services answer it.
    """
    columns = getattr(values, "columns", None)
    if columns is not None:
        by_key = {_key(c): c for c in columns}
        missing = [c for c in classes if _key(c) not in by_key]
        if missing:
            raise InvalidInputError(f"the probabilities have no column for class {missing[0]!r}; "
                                    f"their columns: {', '.join(map(str, columns))}")
        values = values[[by_key[_key(c)] for c in classes]].to_numpy()
    try:
        proba = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError("probabilities must be numbers (one column per class)") from None
    if proba.ndim == 1 and len(classes) == 2:
        proba = np.column_stack([1 - proba, proba])
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        shape = "x".join(map(str, proba.shape))
        raise InvalidInputError(f"probabilities are {shape}; give one column per class "
                                f"({', '.join(map(str, classes))}), or for two classes the second one's")
    if not np.all(np.isfinite(proba)) or proba.min(initial=0) < 0 or proba.max(initial=0) > 1:
        raise InvalidInputError("probabilities must lie between 0 and 1 (no missing values)")
    return proba

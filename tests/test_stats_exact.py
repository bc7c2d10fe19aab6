"""The fast statistics give the answers of the straightforward ones: bit for bit where they compute the
same numbers (KS D, CBPE estimates, calibration errors, confusion metrics), to the last bits where the
same integral is summed in another order (Wasserstein), and drift's verdicts whatever the threads."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.monitoring import drift
from mlops_magic.stats import drift_tests as T
from mlops_magic.stats import parallel
from mlops_magic.stats import performance as P


def _sample(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "continuous":
        return rng.normal(rng.normal(0, 0.05), 1, n)
    if kind == "rounded":
        return np.round(rng.normal(0, 1, n), 2)
    if kind == "few values":
        return rng.integers(0, 6, n).astype(float)
    return rng.lognormal(0, 2, n)


def _merged_wasserstein(ref: np.ndarray, cur: np.ndarray) -> float:
    """The integral of |F_ref - F_cur| over the merged sorted values (scipy's way, and 0.2's)."""
    n1, n2 = ref.size, cur.size
    both = np.concatenate((ref, cur))
    order = np.argsort(both, kind="stable")
    below = np.cumsum((order < n1)[:-1], dtype=np.int64)
    gap = np.abs(below * (n1 + n2) - np.arange(1, n1 + n2, dtype=np.int64) * n1)
    return float(np.multiply(gap, np.diff(both[order])).sum()) / (float(n1) * float(n2))


@pytest.mark.parametrize("kind", ["continuous", "rounded", "few values", "lognormal"])
def test_ks_without_a_merge_is_the_merged_ks_exactly(kind: str) -> None:
    rng = np.random.default_rng(3)
    for n1, n2 in [(7, 900), (600, 600), (5_000, 3_000), (120_000, 90_000), (50_000, 50_000)]:
        ref, cur = np.sort(_sample(rng, kind, n1)), np.sort(_sample(rng, kind, n2))
        assert T.ks_sorted(ref, cur) == T._ks_merged(ref, cur), (kind, n1, n2)
    same = np.sort(_sample(rng, kind, 40_000))  # nothing to prune: the merge fallback
    assert T.ks_sorted(same, same.copy()) == T._ks_merged(same, same) == 0.0


@pytest.mark.parametrize("kind", ["continuous", "rounded", "few values", "lognormal"])
def test_wasserstein_from_the_quantile_grid_is_the_merged_integral(kind: str) -> None:
    rng = np.random.default_rng(4)
    for n1, n2 in [(1, 1), (3, 700), (700, 3), (600, 600), (70_000, 130_001)]:
        ref, cur = np.sort(_sample(rng, kind, n1)), np.sort(_sample(rng, kind, n2) + 0.1)
        expected = _merged_wasserstein(ref, cur)
        assert T.wasserstein_sorted(ref, cur) == pytest.approx(expected, rel=1e-12, abs=1e-300), (kind, n1, n2)


def test_drift_reports_the_same_with_and_without_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n = 150_000
    ref = pd.DataFrame({"x": rng.normal(size=n), "r": np.round(rng.normal(size=n), 1),
                        "c": rng.choice(list("abcd"), n), "i": rng.integers(0, 4, n)})
    cur = ref.assign(x=ref.x + 0.05, c=rng.choice(list("abcde"), n))
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ROWS", 1)
    threaded = drift(ref, cur).to_dict()
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ROWS", 10**12)
    assert drift(ref, cur).to_dict() == threaded


def test_map_columns_keeps_order_and_raises_the_first_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_ROWS", 1)
    assert parallel.map_columns(lambda x: x * 2, list(range(20)), rows=10) == [x * 2 for x in range(20)]

    def boom(x: int) -> int:
        if x == 3:
            raise ValueError("column 3")
        return x

    with pytest.raises(ValueError, match="column 3"):
        parallel.map_columns(boom, list(range(6)), rows=10)


def _argsort_auc(calibration: P.Calibration, proba: np.ndarray) -> float:
    calibrated = calibration.apply(proba)
    return P._auc_from_weights(proba[:, 1], calibrated[:, 1], calibrated[:, 0])


def test_binary_cbpe_auc_is_the_argsort_auc_exactly() -> None:
    rng = np.random.default_rng(6)
    score = rng.random(3000)
    truth = (rng.random(3000) < score ** 2).astype(int)  # miscalibrated: an isotonic map is fitted
    proba = np.column_stack([1 - score, score])
    fitted = P.calibrate(truth, proba, [0, 1])
    assert fitted.x[1] != [0.0, 1.0]
    for calibration in (fitted, P.calibrate(truth, np.column_stack([1 - truth * 0.5, truth * 0.5]), [0, 1])):
        for window in (rng.random((2000, 1)), np.round(rng.random((2000, 1)), 2)):  # with ties
            proba = np.column_stack([1 - window[:, 0], window[:, 0]])
            estimated, _ = P.estimate_classification(calibration, (window[:, 0] > 0.5).astype(int), proba)
            assert estimated["auc"] == _argsort_auc(calibration, proba)


def _argsort_calibration_error(score: np.ndarray, target: np.ndarray, bins: int = 10) -> float:
    order = np.argsort(score, kind="mergesort")
    s, t = score[order], target[order]
    edges = np.linspace(0, len(s), min(bins, max(len(s) // 2, 1)) + 1).astype(int)
    return float(sum((hi - lo) / len(s) * abs(s[lo:hi].mean() - t[lo:hi].mean())
                     for lo, hi in itertools.pairwise(edges) if hi > lo))


def test_calibration_error_by_counts_is_the_argsort_one_exactly() -> None:
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(1, 2000))
        score = rng.random(n)
        if trial % 2:
            score = np.round(score, int(rng.integers(0, 3)))  # ties across the bin edges
        target = (rng.random(n) < score).astype(float)
        for bins in (10, 3):
            assert P.calibration_error(score, target, bins) == _argsort_calibration_error(score, target, bins)


def _numpy_metrics(m: np.ndarray) -> dict[str, float]:
    n = m.sum()
    out = {"accuracy": float(np.trace(m) / n) if n else math.nan}
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.diag(m) / m.sum(axis=0)
        recall = np.diag(m) / m.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    out.update(precision=float(precision[1]), recall=float(recall[1]), f1=float(f1[1]))
    return {key: (0.0 if math.isnan(v) and key != "accuracy" and n else v) for key, v in out.items()}


def test_two_by_two_metrics_are_numpys_exactly() -> None:
    rng = np.random.default_rng(8)
    matrices = [np.zeros((2, 2)), np.array([[3.0, 0.0], [2.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 4.0]])]
    matrices += [rng.random((2, 2)) * scale for scale in (1e-6, 1.0, 1e4) for _ in range(2000)]
    for m in matrices:
        ours, reference = P.metrics_from_confusion(m), _numpy_metrics(m)
        assert ours.keys() == reference.keys()
        for key, value in reference.items():
            assert ours[key] == value or (math.isnan(ours[key]) and math.isnan(value)), (m.tolist(), key)


def test_class_indices_reads_each_value_as_before() -> None:
    values = [1, True, 1.0, np.int64(1), np.float64(0.0), 0, False] * 50
    assert P.class_indices(values, [0, 1], "label").tolist() == [1, 1, 1, 1, 0, 0, 0] * 50
    assert P.class_indices(["yes", "no"] * 10, ["no", "yes"], "label").tolist() == [1, 0] * 10
    for bad, shown in ((2, "2"), ("1", "'1'"), (math.nan, "nan")):
        with pytest.raises(InvalidInputError, match=f"label {shown} is not one of the model's classes"):
            P.class_indices([0, 1, bad], [0, 1], "label")

"""The notebook both autologs run (ours in this venv, MLflow's in its own): data, a ~1 s fit, a 12-candidate
search, 1,000 metric calls, one figure. Only scikit-learn, numpy and matplotlib: importable in both venvs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

METRIC_CALLS = 1000


def data(rows: int) -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(rows, 20, n_informative=8, random_state=0)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0))  # type: ignore[return-value]


def fit_gbm(X: Any, y: Any) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(X, y)


def search(X: Any, y: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    grid = {"C": [0.01, 0.1, 1.0, 10.0], "solver": ["lbfgs", "liblinear", "newton-cg"]}
    return GridSearchCV(LogisticRegression(max_iter=300), grid, cv=3).fit(X[:3000], y[:3000])


def metric_calls(y_test: Any, pred: Any) -> float:
    """Seconds for METRIC_CALLS calls of accuracy_score."""
    from sklearn.metrics import accuracy_score

    start = time.perf_counter()
    for _ in range(METRIC_CALLS):
        accuracy_score(y_test, pred)
    return time.perf_counter() - start


def figure(values: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure()
    plt.plot(values)
    plt.show()
    plt.close("all")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)

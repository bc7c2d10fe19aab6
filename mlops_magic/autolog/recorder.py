"""What one stage's calls recorded, kept in memory until the stage ends (then :mod:`.flush` writes it).

Nothing is written to the store while the user's code runs: a metric call costs a list append, and at
the end the explicit values the user logged during the stage are known, so they can win.
Nothing large is kept: estimators by reference (they are the user's objects anyway), data by name only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .patching import Scope


@dataclass
class Fit:
    """One outermost ``fit`` of an estimator, as the stage saw it."""

    estimator: Any
    library: str
    class_path: str
    params: dict[str, Any]
    seconds: float
    training_score: float | None = None
    #: Per-round values (boosting rounds, a gradient-boosting model's training loss), by metric name.
    series: dict[str, list[float]] = field(default_factory=dict)
    #: A hyper-parameter search: best parameters and score, and every candidate.
    search: Search | None = None


@dataclass
class Search:
    best_params: dict[str, Any]
    best_score: float | None
    #: One row per candidate: its parameters (``param_*``) and its mean/std test scores.
    table: list[dict[str, Any]]
    #: Metric series over the candidates (step = candidate index), e.g. ``cv_mean_test_score``.
    series: dict[str, list[float]]


@dataclass
class MetricCall:
    base: str
    data: str | None
    value: float


@dataclass
class Recorder:
    """The buffer of one stage execution, and what went wrong inside autolog (reported once)."""

    scope: Scope
    libraries: frozenset[str]
    #: ``estimator.score(X, y)`` on the training data after each fit.
    training_score: bool = True
    #: The pyplot figures open when the stage began (not the stage's).
    figures_before: list[Any] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)
    calls: list[MetricCall] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: How many fits, calls and figures are written already (a gate mid-stage settles what came before).
    written: tuple[int, int, int] = (0, 0, 0)

    def failed(self, what: str, exc: BaseException) -> None:
        text = (str(exc).strip().splitlines() or [""])[0][:200]
        self.failures.append(f"{what}: {type(exc).__name__}" + (f": {text}" if text else ""))

    def enabled(self, library: str) -> bool:
        return library in self.libraries

    def add_figure(self, figure: Any) -> None:
        if not any(f is figure for f in self.figures):
            self.figures.append(figure)

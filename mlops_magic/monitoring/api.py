"""Monitoring from Python, on the session's store and current run: ``mlops.drift()``, ``mlops.quality()``,
``mlops.performance()``, ``mlops.log_labels()``, ``mlops.drift_history()``, ``mlops.served_inputs()``,
``mlops.profile()``.

The twins of ``%mlops drift|performance|labels``; the work is done by :mod:`.records`,
:mod:`.performance`, :mod:`.quality` and :mod:`.served`, which the CLI and the server call with a store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..stats.profile import profile
from ..tracking.session import get_session
from .drift import DriftReport
from .performance import LabelsResult, PerformanceReport, check_performance
from .performance import log_labels as _log_labels
from .quality import QualityReport
from .quality import quality as _quality
from .records import check_drift, resolve_data, resolve_reference
from .records import drift_history as _drift_history
from .served import served_inputs

if TYPE_CHECKING:
    from pandas import DataFrame


def drift(reference: Any, current: Any, columns: Any = None, tests: Any = None, *, threshold: Any = None,
          model: str | None = None, record: bool = True, **options: Any) -> DriftReport:
    """Per-column drift of ``current`` against ``reference`` (a frame, a file, a profile or
    ``"model:NAME@ALIAS"``); recorded with the current stage, and a ``drift`` event when the data set drifted.

    ``options``: ``alpha`` (0.05) and ``share_threshold`` (0.5) of :func:`mlops_magic.monitoring.drift`.
    """
    return check_drift(reference, current, columns=columns, tests=tests, threshold=threshold, model=model,
                       record=record, **options)


def quality(reference: Any, current: Any, columns: Any = None) -> QualityReport:
    """Schema changes, missing values, unseen categories and out-of-range values (nothing recorded)."""
    ref, _, _ = resolve_reference(get_session().store, reference)
    return _quality(ref, resolve_data(current), columns=columns)


def performance(ref: str, *, window: str | None = None, current: Any = None, labels: Any = None,
                metric: str | None = None, threshold: float | None = None, max_drop: float | None = None,
                min_rows: int | None = None, record: bool = True) -> PerformanceReport:
    """A model version's performance: realized where labels arrived, estimated (CBPE) where they have not.

    Over served traffic by ``window`` ("1d", "6h"), or over one batch ``current`` (with ``labels`` it is
    realized). Recorded with the current stage, logged as metric ``performance.METRIC`` for gates; a drop
    emits a ``performance-drop`` event that ``--on-performance-drop`` schedules follow.
    """
    return check_performance(ref, window=window, current=current, labels=labels, metric=metric,
                             threshold=threshold, max_drop=max_drop, min_rows=min_rows, record=record)


def log_labels(model: str, ids: Any, labels: Any, *, key: str | None = None, times: Any = None) -> LabelsResult:
    """Labels that arrived (days later, from anywhere), by the request ids ``mlops serve`` answered with;
    or, with ``key="customer_id"``, by an input column's values, each labelling that entity's latest
    prediction at or before its time in ``times``."""
    return _log_labels(get_session().store, model, ids, labels, key=key, times=times)


def drift_history(model: str) -> DataFrame:
    """Every stored drift check of ``model`` as a DataFrame, oldest first."""
    return _drift_history(get_session().store, model)


__all__ = ["drift", "drift_history", "log_labels", "performance", "profile", "quality", "served_inputs"]

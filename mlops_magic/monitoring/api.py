"""Monitoring from Python, on the session's store and current run: ``mlops.drift()``, ``mlops.quality()``,
``mlops.performance()``, ``mlops.log_labels()``, ``mlops.log_predictions()``, ``mlops.drift_history()``.

The twins of ``%mlops drift|performance|labels``; the work is done by :mod:`.records`,
:mod:`.performance` and :mod:`.quality`, which the CLI and the server call with a store. Those import
numpy, so this module imports them in its functions: ``from mlops_magic import drift`` loads numpy with
the first call, not with the name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..tracking.session import get_session

if TYPE_CHECKING:
    from pandas import DataFrame

    from .drift import DriftReport
    from .performance import LabelsResult, PerformanceReport
    from .predictions import LoggedPredictions
    from .quality import QualityReport


def drift(reference: Any, current: Any, columns: Any = None, tests: Any = None, *, threshold: Any = None,
          model: str | None = None, record: bool = True, **options: Any) -> DriftReport:
    """Per-column drift of ``current`` against ``reference`` (a frame, a file, a profile or
    ``"model:NAME@ALIAS"``); recorded with the current stage, and a ``drift`` event when the data set drifted.

    ``options``: ``alpha`` (0.05) and ``share_threshold`` (0.5) of :func:`mlops_magic.monitoring.drift`.
    """
    from .records import check_drift  # lazy: pulls numpy

    return check_drift(reference, current, columns=columns, tests=tests, threshold=threshold, model=model,
                       record=record, **options)


def quality(reference: Any, current: Any, columns: Any = None) -> QualityReport:
    """Schema changes, missing values, unseen categories and out-of-range values (nothing recorded)."""
    from .quality import quality as check_quality  # lazy: pulls numpy
    from .records import resolve_data, resolve_reference  # lazy: pulls numpy

    ref, _, _ = resolve_reference(get_session().store, reference)
    return check_quality(ref, resolve_data(current), columns=columns)


def performance(ref: str, *, window: str | None = None, current: Any = None, labels: Any = None,
                metric: str | None = None, threshold: float | None = None, max_drop: float | None = None,
                min_rows: int | None = None, record: bool = True) -> PerformanceReport:
    """A model version's performance: realized where labels arrived, estimated (CBPE) where they have not.

    Over served traffic by ``window`` ("1d", "6h"), or over one batch ``current`` (with ``labels`` it is
    realized). Recorded with the current stage, logged as metric ``performance.METRIC`` for gates; a drop
    emits a ``performance-drop`` event that ``--on-performance-drop`` schedules follow.
    """
    from .performance import check_performance  # lazy: pulls numpy

    return check_performance(ref, window=window, current=current, labels=labels, metric=metric,
                             threshold=threshold, max_drop=max_drop, min_rows=min_rows, record=record)


def log_labels(model: str, ids: Any, labels: Any, *, key: str | None = None, times: Any = None) -> LabelsResult:
    """Labels that arrived (days later, from anywhere), by the request ids ``mlops serve`` answered with;
    or, with ``key="customer_id"``, by an input column's values, each labelling that entity's latest
    prediction at or before its time in ``times``."""
    from .performance import log_labels as store_labels  # lazy: pulls numpy

    return store_labels(get_session().store, model, ids, labels, key=key, times=times)


def log_predictions(model: str, *, inputs: Any = None, predictions: Any = None, probabilities: Any = None,
                    ids: Any = None, times: Any = None) -> LoggedPredictions:
    """Record predictions ``model`` made anywhere (a batch job, a vendor's service) exactly as ``mlops serve``
    records what it answers, so drift (``served:NAME``), labels, realized performance and CBPE work on them.

    ``inputs``: the rows scored (a DataFrame with the model's input columns); ``probabilities``: one column
    per class in the model's class order (two classes: the second one's alone will do); ``ids``: what labels
    will join on later (generated when not given); ``times``: when each prediction was made (default now).
    """
    from .predictions import log_predictions as record  # lazy: pulls numpy

    return record(get_session().store, model, inputs=inputs, predictions=predictions, probabilities=probabilities,
                  ids=ids, times=times)


def drift_history(model: str) -> DataFrame:
    """Every stored drift check of ``model`` as a DataFrame, oldest first."""
    from .records import drift_history as stored_checks  # lazy: pulls numpy

    return stored_checks(get_session().store, model)


__all__ = ["drift", "drift_history", "log_labels", "log_predictions", "performance", "quality"]

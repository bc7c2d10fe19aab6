"""A model's real performance: realized where labels arrived, estimated (CBPE) where they have not.

``performance("churn@production", window="1d")`` reads what ``mlops serve`` answered (predictions and
class probabilities beside the sampled inputs), joins the labels that arrived by request id, and gives
per window: rows, labelled rows, realized metrics, estimated metrics with a band, and a verdict against
the bar (the version's reference value less ``max_drop``, or an absolute ``threshold``). With
``current=df`` it scores a batch instead (a monitor notebook's data), estimated, or realized with
``labels=``. The estimate assumes no concept drift: see :mod:`mlops_magic.stats.performance`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..display.performance import performance_html, performance_text
from ..entities import json_safe
from ..errors import InvalidInputError, NotFoundError
from ..registry.versions import check_model_name, get_version, load, require_model, resolve_version_number
from ..stats import performance as P
from ..store import Store
from ..store import monitoring as tables
from ..store.retention import parse_duration
from ..tracking.session import get_session
from .records import resolve_data
from .request_ids import request_ids

LOWER_IS_BETTER = {"mae", "rmse"}
DEFAULT_MAX_DROP = 0.05
DEFAULT_MIN_ROWS = 100
def parse_window(text: str | None) -> float | None:
    """``1d``, ``6h``, ``30m``, ``2w`` → seconds; None for one window over everything."""
    if text is None or str(text).strip() in ("", "all"):
        return None
    return parse_duration(str(text), "window", " (or 'all')")


@dataclass
class WindowPerformance:
    """One window: how many rows, how many labelled, realized and estimated metrics, and the verdict."""

    start: float | None
    end: float | None
    rows: int
    labelled: int
    realized: dict[str, float] = field(default_factory=dict)
    estimated: dict[str, float] = field(default_factory=dict)
    band: dict[str, list[float]] = field(default_factory=dict)  # metric -> [low, high] of the estimate
    value: float | None = None  # the watched metric: realized when enough labels, else estimated
    source: str = "estimated"  # realized | estimated | none
    verdict: str = "ok"  # ok | drop | insufficient data | not estimable


@dataclass
class PerformanceReport:
    model: str
    version: int
    kind: str  # classification | regression
    metric: str
    bar: float
    reference: dict[str, float]
    windows: list[WindowPerformance]
    estimable: bool = True
    note: str | None = None

    @property
    def latest(self) -> WindowPerformance | None:
        judged = [w for w in self.windows if w.verdict in ("ok", "drop")]
        return judged[-1] if judged else (self.windows[-1] if self.windows else None)

    @property
    def dropped(self) -> bool:
        latest = self.latest
        return latest is not None and latest.verdict == "drop"

    @property
    def verdict(self) -> str:
        latest = self.latest
        return latest.verdict if latest else "insufficient data"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        latest = self.latest
        out.update(latest_value=latest.value if latest else None, dropped=self.dropped, verdict=self.verdict)
        finite: dict[str, Any] = json_safe(out, non_finite="null")  # figures are "a number or none"
        return finite

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerformanceReport:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["windows"] = [WindowPerformance(**w) for w in data.get("windows", [])]
        return cls(**fields)

    def to_frame(self) -> Any:
        """One row per window: rows, labelled, realized and estimated metrics, the band, reference, verdict."""
        import pandas as pd

        rows = []
        for w in self.windows:
            row: dict[str, Any] = {
                "window_start": pd.Timestamp(w.start, unit="s", tz="UTC") if w.start is not None else None,
                "window_end": pd.Timestamp(w.end, unit="s", tz="UTC") if w.end is not None else None,
                "rows": w.rows, "labelled": w.labelled}
            for m in _metrics_of(self.kind):
                row[f"realized.{m}"] = w.realized.get(m)
                if self.estimable:
                    row[f"estimated.{m}"] = w.estimated.get(m)
            if self.estimable and self.metric in w.band:
                row[f"estimated.{self.metric}.low"], row[f"estimated.{self.metric}.high"] = w.band[self.metric]
            row.update({f"reference.{self.metric}": self.reference.get(self.metric), "bar": self.bar,
                        "value": w.value, "source": w.source, "verdict": w.verdict})
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return performance_text(self)

    def _repr_html_(self) -> str:
        return performance_html(self)


def _metrics_of(kind: str) -> tuple[str, ...]:
    return P.CLASSIFICATION_METRICS if kind == "classification" else P.REGRESSION_METRICS


# -- the reference -----------------------------------------------------------------------------------------
def load_reference(store: Store, ref: str) -> tuple[str, int, str, dict[str, Any]]:
    """(model, version, kind, reference) of ``NAME[@ALIAS|@N]``; one line when none was stored."""
    model, version = resolve_version_number(store, ref)
    found = tables.performance_reference(store.db, model, version)
    if found is None:
        raise NotFoundError(f"model {model} v{version} has no performance reference; register it with labels: "
                            f"mlops.register_model(clf, {model!r}, input=X_test, labels=y_test)")
    return model, version, found[0], found[1]


# -- labels ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelsResult:
    """What ``log_labels`` did: stored, replaced an earlier label, and ids no served prediction has (yet)."""

    model: str
    stored: int
    replaced: int
    unknown: int
    unknown_examples: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        text = f"{self.stored} labels for {self.model}"
        if self.replaced:
            text += f" ({self.replaced} replaced an earlier label)"
        if self.unknown:
            text += (f"; {self.unknown} match no served prediction yet (e.g. {', '.join(self.unknown_examples)}): "
                     "kept, and joined if their predictions arrive")
        return text


def log_labels(store: Store, model: str, ids: Any, labels: Any, *, key: str | None = None,
               times: Any = None) -> LabelsResult:
    """Keep labels by request id (the last one for an id wins); report ids no served row has.

    With ``key``, ``ids`` are values of that input column (an entity such as ``customer_id``) instead
    of request ids: each label goes to the entity's latest served prediction at or before its time in
    ``times`` (or its latest prediction without ``times``). Entities the server never answered for are
    reported and not stored, since no prediction is there to label.
    """
    check_model_name(model)
    require_model(store, model)
    raw_ids = as_list(ids, "ids")
    values = as_list(labels, "labels")
    if len(raw_ids) != len(values):
        raise InvalidInputError(f"{len(raw_ids)} ids but {len(values)} labels; give one label per id")
    if not raw_ids:
        raise InvalidInputError("no labels given")
    unmatched: list[str] = []
    if key is not None:
        matched = _request_ids_by_entity(store, model, key, raw_ids, times)
        unmatched = [str(e) for e, rid in zip(raw_ids, matched) if rid is None]
        pairs_in = [(rid, v) for rid, v in zip(matched, values) if rid is not None]
        id_list, values = [rid for rid, _ in pairs_in], [v for _, v in pairs_in]
        if not id_list:
            return LabelsResult(model, 0, 0, len(unmatched), unmatched[:3])
    else:
        if times is not None:
            raise InvalidInputError("times= goes with key=: request ids name one prediction already")
        id_list = request_ids(raw_ids)
    version = get_version(store, model)
    found = tables.performance_reference(store.db, model, version.version)
    kind, reference = found if found else ("classification" if version.flavour == "sklearn" else "unknown", {})
    checked = [_check_label(v, kind, reference) for v in values]
    last: dict[str, Any] = {}
    for rid, value in zip(id_list, checked):  # duplicates within one call: the last one wins too
        last[rid] = value
    pairs = list(last.items())
    replaced = store.db.run_in_transaction(lambda tx: tables.upsert_labels(tx, model, pairs, time.time()))
    replaced += len(id_list) - len(pairs)
    if key is not None:
        return LabelsResult(model, len(pairs), replaced, len(unmatched), unmatched[:3])
    known = tables.known_request_ids(store.db, model, list(last))
    unknown = [rid for rid in last if rid not in known]
    return LabelsResult(model, len(pairs), replaced, len(unknown), unknown[:3])


def _request_ids_by_entity(store: Store, model: str, key: str, entities: list[Any], times: Any) -> list[str | None]:
    """The request id of each entity's latest served prediction at or before its label time."""
    import bisect

    when = as_list(times, "times") if times is not None else None
    if when is not None and len(when) != len(entities):
        raise InvalidInputError(f"{len(entities)} ids but {len(when)} times; give one time per label")
    rows = tables.served_request_rows(store.db, model)
    if rows and not any(key in record for _, _, record in rows[-100:]):
        raise InvalidInputError(f"served inputs of {model!r} have no column {key!r} to join labels on")
    index: dict[str, tuple[list[float], list[str]]] = {}
    for received, request_id, record in rows:
        if key in record:
            at, ids = index.setdefault(str(record[key]), ([], []))
            at.append(received)
            ids.append(request_id)
    out: list[str | None] = []
    for i, entity in enumerate(entities):
        found = index.get(str(entity.item() if hasattr(entity, "item") else entity))
        if found is None:
            out.append(None)
            continue
        at, ids = found
        if when is None:
            out.append(ids[-1])
            continue
        pos = bisect.bisect_right(at, to_timestamp(when[i])) - 1
        out.append(ids[pos] if pos >= 0 else None)
    return out


def to_timestamp(value: Any) -> float:
    """Seconds since the epoch from a number, a datetime, a pandas Timestamp or an ISO 8601 string."""
    if isinstance(value, bool):
        raise InvalidInputError(f"time {value!r} is not a time")
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    if isinstance(value, str):
        from datetime import datetime, timezone

        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(f"time {value!r} is not ISO 8601 (e.g. 2026-12-01T10:00:00Z)") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    raise InvalidInputError(f"time {value!r} is not a time")


def as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or values is None:
        raise InvalidInputError(f"{what} must be a column or a list of values, got {type(values).__name__}")
    if hasattr(values, "tolist"):
        return list(values.tolist())
    try:
        return list(values)
    except TypeError:
        raise InvalidInputError(f"{what} must be a column or a list of values, got {type(values).__name__}") from None


def _check_label(value: Any, kind: str, reference: dict[str, Any]) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise InvalidInputError("a label is missing (None/NaN); drop unlabelled rows before logging labels")
    if not isinstance(value, (str, int, float)):  # a class or a number; never a tree or an object
        raise InvalidInputError(f"a label is {'a list' if isinstance(value, list) else 'an object'}"
                                f" ({type(value).__name__}); give a class or a number")
    if isinstance(value, float) and math.isinf(value):
        raise InvalidInputError(f"a label is {value}; give a finite number")
    if kind == "regression":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInputError(f"label {value!r} is not a number, and the model is a regressor")
        return float(value)
    if reference.get("classes"):
        P.class_indices([value], reference["classes"], "label")
    return value


# -- performance -----------------------------------------------------------------------------------------
def performance(store: Store, ref: str, *, window: str | None = None, current: Any = None, labels: Any = None,
                metric: str | None = None, threshold: float | None = None, max_drop: float | None = None,
                min_rows: int | None = None, namespace: dict[str, Any] | None = None) -> PerformanceReport:
    """Realized and estimated performance of a version over served traffic, or over one batch ``current``.

    ``max_drop`` and ``min_rows`` None mean :data:`DEFAULT_MAX_DROP` and :data:`DEFAULT_MIN_ROWS`, so every
    face can pass "not given" through."""
    max_drop = DEFAULT_MAX_DROP if max_drop is None else max_drop
    min_rows = DEFAULT_MIN_ROWS if min_rows is None else min_rows
    model, version, kind, reference = load_reference(store, ref)
    metric = _metric(kind, reference, metric)
    ref_value = float(reference["metrics"].get(metric) or math.nan)
    bar = float(threshold) if threshold is not None else _bar(metric, ref_value, max_drop)
    if math.isnan(bar):
        raise InvalidInputError(f"no reference {metric} for {model} v{version}; give threshold=")
    estimable = bool(reference.get("estimable"))
    note = None if estimable else (
        "estimation without labels is not available for a regressor" if kind == "regression"
        else "estimation without labels needs predict_proba; this model has none")
    if current is not None:
        windows = [_batch_window(store, model, version, kind, reference, current, labels, namespace)]
    else:
        if labels is not None:
            raise InvalidInputError("labels= goes with current=; served traffic is labelled with log_labels")
        windows = _served_windows(store, model, kind, reference, parse_window(window))
    for w in windows:
        _judge(w, kind, reference, metric, bar, min_rows, estimable)
    return PerformanceReport(model, version, kind, metric, bar, dict(reference["metrics"]), windows, estimable, note)


def _metric(kind: str, reference: dict[str, Any], metric: str | None) -> str:
    allowed = _metrics_of(kind)
    if metric is None:
        if kind == "regression":
            return "rmse"
        return "auc" if len(reference.get("classes", [])) == 2 and reference.get("estimable") else "accuracy"
    if metric not in allowed:
        what = "a regressor" if kind == "regression" else "a classifier"
        raise InvalidInputError(f"metric {metric!r} is not measured for {what}; use one of {', '.join(allowed)}")
    return metric


def _bar(metric: str, reference: float, max_drop: float) -> float:
    if max_drop < 0:
        raise InvalidInputError("max_drop must be zero or more")
    return reference * (1 + max_drop) if metric in LOWER_IS_BETTER else reference - max_drop


def _judge(w: WindowPerformance, kind: str, reference: dict[str, Any], metric: str, bar: float, min_rows: int,
           estimable: bool) -> None:
    if w.labelled >= min_rows and not math.isnan(w.realized.get(metric, math.nan)):
        w.value, w.source = w.realized[metric], "realized"
    elif estimable and w.rows >= min_rows:
        w.value, w.source = w.estimated.get(metric), "estimated"
    else:
        w.value, w.source = None, "none"
        w.verdict = "insufficient data" if estimable or w.rows < min_rows else "not estimable"
        return
    if w.value is None or math.isnan(w.value):
        w.verdict = "insufficient data"
        return
    worse = w.value > bar if metric in LOWER_IS_BETTER else w.value < bar
    w.verdict = "drop" if worse else "ok"


def _window(kind: str, reference: dict[str, Any], predictions: list[Any], proba: list[Any] | None,
            labels: list[Any | None], start: float | None, end: float | None) -> WindowPerformance:
    rows = len(predictions)
    labelled_at = [i for i, v in enumerate(labels) if v is not None]
    w = WindowPerformance(start, end, rows, len(labelled_at))
    if kind == "regression":
        if labelled_at:
            truth = np.array([float(v) for v in labels if v is not None])
            pred = np.array([float(predictions[i]) for i in labelled_at])
            w.realized = P.realized_regression(truth, pred)
        return w
    classes = reference["classes"]
    k = len(classes)
    pred_idx = P.class_indices(predictions, classes, "prediction")
    probs = np.asarray(proba, dtype=float) if proba is not None and rows else None
    if probs is not None and (probs.ndim != 2 or probs.shape[1] != k):
        probs = None
    if labelled_at:
        truth = P.class_indices([labels[i] for i in labelled_at], classes, "label")
        w.realized = P.realized_classification(truth, pred_idx[labelled_at],
                                               probs[labelled_at] if probs is not None else None, k)
    if probs is not None and reference.get("calibration") and rows:
        calibration = P.Calibration.from_dict(reference["calibration"])
        w.estimated, expected = P.estimate_classification(calibration, pred_idx, probs)
        errors = P.standard_errors(w.estimated, expected)
        w.band = {m: [w.estimated[m] - P.Z * errors[m], w.estimated[m] + P.Z * errors[m]]
                  for m in w.estimated if not math.isnan(errors.get(m, math.nan))}
    return w


def _served_windows(store: Store, model: str, kind: str, reference: dict[str, Any],
                    length: float | None) -> list[WindowPerformance]:
    rows = tables.served_predictions(store.db, model)
    if not rows:
        raise NotFoundError(f"no served predictions of model {model!r} yet; `mlops serve {model}@production` "
                            "logs them as it answers, mlops.log_predictions records ones made elsewhere "
                            "(or pass current= a batch of inputs)")
    groups: dict[float | None, list[Any]] = {}
    for row in rows:
        key = None if length is None else math.floor(row[1] / length) * length
        groups.setdefault(key, []).append(row)
    out = []
    for key, group in sorted(groups.items(), key=lambda kv: kv[0] or 0.0):
        start = key if key is not None else group[0][1]
        end = key + length if key is not None and length is not None else group[-1][1]
        proba = [r[4] for r in group]
        out.append(_window(kind, reference, [r[3] for r in group],
                           proba if all(p is not None for p in proba) else None, [r[5] for r in group], start, end))
    return out


def _batch_window(store: Store, model: str, version: int, kind: str, reference: dict[str, Any], current: Any,
                  labels: Any, namespace: dict[str, Any] | None) -> WindowPerformance:
    frame = resolve_data(current, namespace, what="current data", store=store)
    truth: list[Any] | None = None
    if isinstance(labels, str) and hasattr(frame, "columns") and labels in frame.columns:
        truth = frame[labels].tolist()
        frame = frame.drop(columns=[labels])
    elif labels is not None:
        labels = namespace.get(labels, labels) if namespace and isinstance(labels, str) else labels
        truth = as_list(labels, "labels")
        if len(truth) != len(frame):
            raise InvalidInputError(f"labels has {len(truth)} values but the current data has {len(frame)} rows")
    if len(frame) == 0:
        raise InvalidInputError("the current data has no rows")
    mv = get_version(store, f"{model}@{version}")
    if mv.columns and hasattr(frame, "columns"):
        missing = [c for c in mv.columns if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"the current data lacks the model's input columns: {', '.join(missing[:5])}")
        frame = frame[mv.columns]
    clf = load(store, f"{model}@{version}")
    predictions = [p.item() if hasattr(p, "item") else p for p in np.asarray(clf.predict(frame))]
    proba = np.asarray(clf.predict_proba(frame), dtype=float).tolist() if hasattr(clf, "predict_proba") else None
    checked = [None if v is None or (isinstance(v, float) and math.isnan(v)) else _check_label(v, kind, reference)
               for v in truth] if truth is not None else [None] * len(predictions)
    return _window(kind, reference, predictions, proba, checked, None, None)


def record_performance(store: Store, report: PerformanceReport, *, run_id: str | None,
                       stage_id: int | None) -> int:
    """Store the check with its stage run; a drop becomes a ``performance-drop`` event."""
    return store.db.run_in_transaction(lambda tx: tables.insert_performance_report(
        tx, report.to_dict(), dropped=report.dropped, model=report.model, version=report.version,
        run_id=run_id, stage_id=stage_id))


def check_performance(ref: str, **options: Any) -> PerformanceReport:
    """``mlops.performance`` / ``%mlops performance``: compute, record in the current run and stage.

    The watched metric's value of the latest judged window is logged as ``performance.METRIC`` (and
    the verdict as a tag), so ``%mlops gate "performance.auc >= 0.8"`` works like any gate.
    """

    record = options.pop("record", True)
    session = get_session()
    report = performance(session.store, ref, **options)
    if record:
        run_id = session.recording_run_id()
        stage = session.current_stage
        record_performance(session.store, report, run_id=run_id, stage_id=stage.id if stage else None)
        latest = report.latest
        if latest is not None and latest.value is not None:
            session.log_metric(f"performance.{report.metric}", latest.value)
    return report


def performance_history(store: Store, model: str) -> list[PerformanceReport]:
    check_model_name(model)
    return [PerformanceReport.from_dict(r) for r in tables.performance_reports_of_model(store.db, model)]


def performance_reports(store: Store, run_id: str) -> list[PerformanceReport]:
    return [PerformanceReport.from_dict(r) for r in tables.performance_reports_of_run(store.db, run_id)]

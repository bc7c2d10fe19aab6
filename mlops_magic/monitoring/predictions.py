"""Predictions made anywhere, recorded as served traffic: ``mlops.log_predictions``.

Most predictions are made by batch jobs and services ``mlops serve`` never saw. Logging them writes
the rows the server writes for what it answers (``served_inputs``: the inputs, the prediction, the
class probabilities, a request id, a time), so everything that reads served traffic works on them
unchanged: drift against ``served:NAME``, labels joined by id (or by an input column and time),
realized performance, and CBPE estimates where the labels have not arrived yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..entities import json_safe
from ..errors import InvalidInputError
from ..registry.versions import get_version, resolve_version_number
from ..stats import performance as P
from ..store import Store
from ..store import monitoring as tables
from .performance import as_list, to_timestamp
from .served import record_served

#: Rows kept per model, as ``mlops serve --keep`` defaults to: the oldest are deleted as new ones arrive.
KEEP = 100_000


@dataclass(frozen=True)
class LoggedPredictions:
    """What ``log_predictions`` recorded: how many rows, for which version, and under which ids."""

    model: str
    version: int
    rows: int
    ids_generated: bool
    first_id: str
    dropped: int = 0  # older rows of this model deleted to stay within ``keep``

    def __repr__(self) -> str:
        ids = (f"ids {self.first_id}…: generated, like mlops serve's" if self.ids_generated
               else "ids as given, for labels to join on")
        text = f"{self.rows} predictions of {self.model} v{self.version} recorded ({ids})"
        if self.dropped:
            text += f"; the oldest {self.dropped} rows of {self.model} were deleted (keep={KEEP})"
        return text


def log_predictions(store: Store, model: str, *, inputs: Any = None, predictions: Any = None,
                    probabilities: Any = None, ids: Any = None, times: Any = None,
                    keep: int = KEEP) -> LoggedPredictions:
    """Record predictions ``model`` made elsewhere exactly as served traffic is recorded.

    ``model`` is NAME, NAME@ALIAS or NAME@N: the version that made them (NAME alone: the latest).
    ``inputs`` (a DataFrame with at least the version's input columns) are what drift compares;
    ``predictions`` and ``probabilities`` (one column per class in the model's class order, or for two
    classes the second one's alone) what performance reads; ``ids`` name each prediction for labels
    that arrive later (generated when not given); ``times`` say when each was made (default now).
    """
    name, version = resolve_version_number(store, model)
    mv = get_version(store, f"{name}@{version}")
    preds = as_list(predictions, "predictions") if predictions is not None else None
    rows = len(preds) if preds is not None else (len(inputs) if inputs is not None else 0)
    if inputs is None and preds is None:
        raise InvalidInputError("nothing to log: give predictions= (and inputs= for drift)")
    if rows == 0:
        raise InvalidInputError("no predictions given (zero rows)")
    records = _records(inputs, mv.columns, rows)
    reference = tables.performance_reference(store.db, name, version)
    classes = reference[1].get("classes") if reference and reference[0] == "classification" else None
    if preds is not None and classes:
        P.class_indices(preds, classes, "prediction")  # one clear line for a class the model never had
    proba = _probabilities(probabilities, classes, rows, preds is not None)
    request_ids, generated = _ids(ids, rows)
    received = [to_timestamp(t) for t in _column(times, "times", rows)] if times is not None else None
    outputs: list[tuple[str | None, Any, Any]] = [
        (request_ids[i], preds[i] if preds is not None else None, proba[i] if proba is not None else None)
        for i in range(rows)]
    if received is not None:  # in time order, as a server appends them: labels by key look back in time
        order = sorted(range(rows), key=received.__getitem__)
        records, outputs = [records[i] for i in order], [outputs[i] for i in order]
        received = [received[i] for i in order]
    before = tables.served_count(store.db, name)
    record_served(store, name, version, records, keep, outputs=outputs, received=received)
    return LoggedPredictions(name, version, rows, generated, request_ids[0],
                             dropped=max(0, before + rows - keep))


def log_prediction_table(store: Store, model: str, frame: Any, *, prediction_column: str | None = "prediction",
                         proba_columns: Sequence[str] = (), id_column: str | None = None,
                         time_column: str | None = None, keep: int = KEEP) -> LoggedPredictions:
    """:func:`log_predictions` from one table (a file's or a DataFrame's): the named columns are the
    prediction, the class probabilities (in class order), the id and the time; every other is an input."""
    if not hasattr(frame, "columns"):
        raise InvalidInputError(f"the predictions must be a table (a DataFrame or a file), got a "
                                f"{type(frame).__name__}")
    probas = [c.strip() for text in proba_columns for c in str(text).split(",") if c.strip()]
    named = [c for c in (prediction_column, *probas, id_column, time_column) if c]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"the predictions have no column {missing[0]!r}; their columns: "
                                f"{', '.join(map(str, frame.columns))}")
    return log_predictions(
        store, model, inputs=frame.drop(columns=named), keep=keep,
        predictions=frame[prediction_column] if prediction_column else None,
        probabilities=frame[probas].to_numpy() if probas else None,
        ids=frame[id_column] if id_column else None, times=frame[time_column] if time_column else None)


def _column(values: Any, what: str, rows: int) -> list[Any]:
    out = as_list(values, what)
    if len(out) != rows:
        raise InvalidInputError(f"{what} has {len(out)} values for {rows} predictions; give one per prediction")
    return out


def _records(inputs: Any, columns: list[str], rows: int) -> list[dict[str, Any]]:
    """The input rows as the JSON values the server keeps (numbers exact, NaN as null, times as ISO 8601)."""
    if inputs is None:
        return [{} for _ in range(rows)]
    import pandas as pd

    if not isinstance(inputs, pd.DataFrame):
        if isinstance(inputs, np.ndarray) and inputs.ndim == 2 and columns and inputs.shape[1] == len(columns):
            inputs = pd.DataFrame(inputs, columns=columns)
        else:
            raise InvalidInputError(f"inputs must be a DataFrame with the model's input columns, got a "
                                    f"{type(inputs).__name__}")
    if len(inputs) != rows:
        raise InvalidInputError(f"inputs has {len(inputs)} rows for {rows} predictions; give one row per prediction")
    missing = [c for c in columns if c not in inputs.columns]
    if missing:
        raise InvalidInputError(f"inputs lack the model's input columns: {', '.join(missing[:5])}")
    if inputs.columns.duplicated().any():
        raise InvalidInputError("inputs has duplicate column names")
    records: list[dict[str, Any]] = json_safe(inputs.to_dict("records"), non_finite="null")  # to_json rounds floats
    return records


def _probabilities(values: Any, classes: list[Any] | None, rows: int, with_predictions: bool) -> list[Any] | None:
    if values is None:
        return None
    if not with_predictions:
        raise InvalidInputError("probabilities= go with predictions=: give the predicted classes too")
    if classes:
        matrix = P.as_probabilities(values, classes)
    else:  # no reference yet to name the classes: kept as given, one column per class
        matrix = np.asarray(values, dtype=float)
        matrix = np.column_stack([1 - matrix, matrix]) if matrix.ndim == 1 else matrix
    if len(matrix) != rows:
        raise InvalidInputError(f"probabilities has {len(matrix)} rows for {rows} predictions")
    return [[float(p) for p in row] for row in matrix]


def _ids(ids: Any, rows: int) -> tuple[list[str], bool]:
    """The ids labels will join on: as given, else generated the way ``mlops serve`` does (``BASE:ROW``)."""
    if ids is None:
        base = uuid.uuid4().hex[:16]
        return ([base] if rows == 1 else [f"{base}:{i}" for i in range(rows)]), True
    values = _column(ids, "ids", rows)
    out = [str(v.item() if hasattr(v, "item") else v) for v in values]
    if any(v in ("", "None", "nan") for v in out):
        raise InvalidInputError("ids has missing values; every prediction needs an id (or leave ids= out)")
    return out, False

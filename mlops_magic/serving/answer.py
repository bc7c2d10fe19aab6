"""The one path every prediction request of ``mlops serve`` takes, whichever protocol it came in.

A surface (``/predict``, the Open Inference Protocol's ``/v2/.../infer``, MLflow's ``/invocations``)
only reads its own body format into a :class:`Call` and writes its own answer from an :class:`Answer`.
Between the two, this module does the same for all three: the input schema's checks
(:func:`serving.inputs.prepare`), the request ids (one per row, by the one request-id rule), the model's
``predict`` (and ``predict_proba`` when the caller asked for it), and the sample kept for monitoring,
so drift, labels and estimated performance see every surface's traffic alike.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Protocol

from ..entities import is_pandas_na, json_safe
from ..errors import InvalidInputError, MlopsError
from ..monitoring.request_ids import header_value
from .holder import ModelHolder, Sample, Served, floats_of
from .inputs import Prepared, prepare, request_ids_of

log = logging.getLogger("mlops_magic.serving.app")
INLINE_ROWS = 256  # smaller batches predict on the event loop: a thread hop costs more than they do


class InputRefused(InvalidInputError):
    """The body was read, but what it holds is not what the model takes (a column, a type, a shape)."""

    status = 422


class UnsupportedMedia(InvalidInputError):
    """The body is in a format the route does not read (its Content-Type)."""

    status = 415


class ModelFailed(MlopsError):
    """The served model raised, or answered what JSON cannot carry: the server's problem, not the caller's."""

    status = 500


@dataclass
class Call:
    """What a surface read from a request: the rows as :func:`serving.inputs.prepare` reads them, and the
    request's own id when its format has one (else the ``X-Request-Id`` header stands for it)."""

    payload: Any
    header_id: str | None = None
    given_id: object = None
    proba: bool = False  # compute class probabilities now: the caller asked for them
    extra: dict[str, Any] = field(default_factory=dict)  # what only the surface reads back (outputs asked for)


@dataclass
class Answer:
    served: Served
    prepared: Prepared
    predictions: Any  # what predict returned
    request_id: str | None
    ids: list[str]
    probabilities: Any = None  # what predict_proba returned, when asked
    _listed: list[Any] | None = field(default=None, repr=False)

    def predictions_list(self) -> list[Any]:
        """The predictions as JSON values, converted once for the answer and the sample alike: a NaN or
        infinite prediction, or pandas' ``pd.NA``, is null (no number to answer, and no prediction to judge
        performance by)."""
        if self._listed is None:
            self._listed, nulled = _nulled(self.predictions)
            if nulled:
                _warn_nonfinite(self.served, nulled, self.prepared.rows)
        return self._listed

    def echo(self) -> dict[str, str]:
        """The ``X-Request-Id`` answer header of a one-row request: its id, always a valid header."""
        return {"X-Request-Id": header_value(self.ids[0])} if len(self.ids) == 1 else {}


@dataclass
class Reply:
    """An HTTP answer, built by a surface without knowing the web framework."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


class Surface(Protocol):
    """One protocol's reading of a request and writing of an answer."""

    forms: str  # what to send, said when a body cannot be read at all

    def read(self, body: bytes, headers: Any, served: Served) -> Call: ...

    def reply(self, answer: Answer, call: Call) -> Reply: ...

    def error(self, status: int, message: str) -> Reply: ...


async def answer(served: Served, call: Call, *, id_column: str | None, forms: str) -> Answer:
    """Check ``call``'s rows against the served version's schema, give them ids, predict.

    Raises :class:`InputRefused` naming the column and row when the rows are not what the model takes
    (``forms`` says what to send when the body has no readable shape at all), :class:`ModelFailed`
    when the model raises.
    """
    try:
        prepared = prepare(call.payload, served.version.input_schema, id_column=id_column)
        request_id, ids = request_ids_of(call.header_id, prepared, call.given_id)
    except InvalidInputError as exc:
        raise InputRefused(str(exc)) from None
    except Exception as exc:  # a body shape nobody foresaw is still the client's, in one line
        log.warning("unreadable request body: %s: %s", type(exc).__name__, exc)
        raise InputRefused(f"cannot read the request body ({type(exc).__name__}); send {forms}") from None
    try:
        if prepared.rows <= INLINE_ROWS:
            out, proba = _predict(served.model, prepared.frame, call.proba)
        else:
            from starlette.concurrency import run_in_threadpool

            out, proba = await run_in_threadpool(_predict, served.model, prepared.frame, call.proba)
    except Exception as exc:
        raise ModelFailed(f"{served.version} failed to predict: {type(exc).__name__}: {exc}") from None
    _one_per_row(served, "prediction", out, prepared.rows)
    if proba is not None:
        _one_per_row(served, "class-probability row", proba, prepared.rows)
    return Answer(served, prepared, out, request_id, ids, proba)


def _one_per_row(served: Served, what: str, values: Any, rows: int) -> None:
    """:class:`ModelFailed` unless ``values`` holds one answer per row: a model that answers more or
    fewer would pair predictions with the wrong rows (in the answer and in the monitoring log)."""
    count = _count_rows(values)
    if count is None:
        raise ModelFailed(f"{served.version} returned a {type(values).__name__} for {_counted(rows, 'row')}, "
                          "not one answer per row (a list, an array, a Series or a DataFrame)")
    if count != rows:
        raise ModelFailed(f"{served.version} returned {_counted(count, what)} for {_counted(rows, 'row')}; "
                          "it must return one per row")


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _count_rows(values: Any) -> int | None:
    """How many rows a model's answer holds (a DataFrame's rows, a 2-D array's first axis), 1 for a 0-d
    array (one prediction); None when it has no length."""
    if getattr(values, "ndim", None) == 0:
        return 1
    try:
        return len(values)
    except TypeError:
        return None


def _predict(model: Any, frame: Any, proba: bool) -> tuple[Any, Any]:
    return model.predict(frame), model.predict_proba(frame) if proba else None


def keep(holder: ModelHolder, done: Answer) -> None:
    """Keep a sample of an answered request for monitoring (only what was answered is kept)."""
    probabilities = None if done.probabilities is None else floats_of(done.probabilities)
    holder.remember(Sample(done.served, done.prepared, done.predictions_list(), done.ids, probabilities))


def to_json(value: Any, served: Served) -> bytes:
    """``value`` as compact JSON, or :class:`ModelFailed` when the model answered NaN/inf or an object."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise ModelFailed(f"{served.version} returned predictions JSON cannot carry "
                          f"({type(exc).__name__}: {str(exc)[:200]}); check the inputs' range") from None


def json_reply(value: Any, status: int = 200) -> Reply:
    """An answer whose body is JSON the server built itself (metadata, errors), ASCII so that no
    character a client sent (a lone surrogate in a path) can make it unencodable."""
    return Reply(json.dumps(value, separators=(",", ":")).encode(), status)


def jsonable(values: Any) -> list[Any]:
    """Model output as JSON values; NaN, infinity and ``pd.NA``, which JSON cannot carry, as null."""
    return _nulled(values)[0]


def _nulled(values: Any) -> tuple[list[Any], int]:
    """``values`` as (nested) lists of Python scalars with each NaN, infinity or ``pd.NA`` as None; how many were.

    A numpy float array is checked in C (the usual regressor or ``predict_proba`` answer); other output
    is walked only to find one, and converted by :func:`~mlops_magic.entities.json_safe` only when it holds
    one or a value that is not plain (a list of numpy scalars, an object array's). A pandas DataFrame is
    one record per row, as MLflow's scoring server answers it; a 0-d array is one prediction."""
    if hasattr(values, "columns") and hasattr(values, "to_dict"):  # a DataFrame: it has no tolist
        values = values.to_dict("records")
    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "O") in "fc":
        import numpy as np

        try:
            array = np.atleast_1d(np.asarray(values))
            bad = ~np.isfinite(array)
        except TypeError:  # a pandas extension dtype with missing values: walked below
            pass
        else:
            count = int(bad.sum())
            if count:
                array = array.astype(object)
                array[bad] = None
            return array.tolist(), count
    listed = values.tolist() if hasattr(values, "tolist") else list(values)
    if not isinstance(listed, list):  # a 0-d array's tolist is its one value
        listed = [listed]
    if dtype is not None and getattr(dtype, "kind", "O") in "biuSU" and not hasattr(dtype, "na_value"):
        return listed, 0  # numpy's integers, booleans or text: no NaN (pandas' nullable ones may hold pd.NA)
    count, plain = _scan(listed)
    return (listed if plain and not count else json_safe(listed, non_finite="null")), count


_SCALARS = {bool, int, str, type(None)}


def _scan(values: Any) -> tuple[int, bool]:
    """How many NaN, infinities or ``pd.NA`` (nested) lists and records hold, numpy's float32 among them; and whether
    they hold only what ``json.dumps`` takes as it is (Python scalars, lists, tuples, dicts)."""
    count, plain = 0, True
    for v in (values.values() if isinstance(values, Mapping) else values):
        kind = type(v)
        if kind is float:
            count += not math.isfinite(v)
        elif kind in _SCALARS:
            continue
        elif isinstance(v, (list, tuple, Mapping)):
            inner, inner_plain = _scan(v)
            count, plain = count + inner, plain and inner_plain and isinstance(v, (list, tuple, dict))
        else:  # a numpy scalar, pd.NA, or what json_safe leaves as it is (and to_json refuses, in one line)
            plain = False
            count += (isinstance(v, Real) and not isinstance(v, Integral) and not math.isfinite(v)) or is_pandas_na(v)
    return count, plain


_warned: set[tuple[str, int]] = set()


def _warn_nonfinite(served: Served, count: int, rows: int) -> None:
    """Say once per served version that it answered NaN, infinity or pd.NA (as null): the model's own doing."""
    key = (served.version.name, served.version.version)
    if key not in _warned:
        _warned.add(key)
        log.warning("%s predicted NaN, infinity or pd.NA (%d values in a request of %d rows); answered null, "
                    "and logged no prediction for those rows (said once per version)", served.version, count, rows)

"""MLflow's scoring protocol (what ``mlflow models serve`` answers) for ``mlops serve``.

The formats follow ``mlflow/pyfunc/scoring_server/__init__.py``: ``POST /invocations`` takes a JSON
object with exactly one of ``dataframe_split`` (pandas' split orient: ``columns`` and ``data``),
``dataframe_records`` (a list of records), ``instances`` or ``inputs`` (TF-serving style: a list of
records, a list of rows for a model registered from a plain array, or an object of columns), plus an
optional ``params`` (MLflow passes those only to a model whose predict takes them; scikit-learn's does
not, so they are ignored here too); or a ``text/csv`` body with a header row. The answer is
``{"predictions": [...]}``; an error is MLflow's ``{"error_code": "BAD_REQUEST", "message": "..."}``.
``/ping`` and ``/version`` answer as MLflow's do (``/health`` stays ``mlops serve``'s own, a 200 too).

The rows then take the same path as ``/predict``'s (:mod:`serving.answer`): the schema's checks, the
request ids (a ``request_id`` column, else the ``X-Request-Id`` header), the sample for monitoring.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from ..errors import InvalidInputError
from .answer import Answer, Call, Reply, UnsupportedMedia, json_reply, to_json
from .body import parse_body
from .holder import Served
from .inputs import column_kind

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
#: MLflow's own words for a body without exactly one format key.
REQUIRED = ("The input must be a JSON dictionary with exactly one of the input fields "
            "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}")
CONTENT_TYPES = ("application/json", "text/csv")
#: MLflow's error codes for the statuses ``/invocations`` answers.
ERROR_CODES = {404: "ENDPOINT_NOT_FOUND", 500: "INTERNAL_ERROR"}
_BOOLS = {"true": True, "false": False}


def read_invocation(body: bytes, content_type: str | None, schema: dict[str, Any] | None) -> Any:
    """An ``/invocations`` body as the rows :func:`serving.inputs.prepare` reads."""
    mime = _media_type(content_type)
    array = (schema or {}).get("kind") == "array"
    if mime == "text/csv":
        return _csv(body, schema)
    request = parse_body(body)
    if not isinstance(request, dict):
        got = "a list" if isinstance(request, list) else f"unexpected input type '{type(request).__name__}'"
        raise InvalidInputError(f"{REQUIRED}. Received {got}.")
    keys = [k for k in FORMATS if k in request]
    if len(keys) != 1:
        shown = ", ".join(repr(str(k)[:40]) for k in list(request)[:8])
        raise InvalidInputError(f"{REQUIRED}. Received dictionary with input fields: [{shown}].")
    value = request[keys[0]]
    if keys[0] == "dataframe_split":
        return _split(value, array)
    if keys[0] == "dataframe_records" or isinstance(value, dict):
        if array:
            raise InvalidInputError("this model was registered from a plain array: send its rows, "
                                    '{"inputs": [[numbers], ...]} or dataframe_split\'s "data"')
        return {"records": value} if keys[0] == "dataframe_records" else {"columns": value}
    if isinstance(value, list) and value and all(isinstance(r, list) for r in value):
        if not array:
            raise InvalidInputError(f"{keys[0]} holds rows without column names; send records "
                                    '([{"column": value, ...}, ...]), an object of columns, or dataframe_split')
        return {"instances": value}
    return {"records": value}


def _media_type(content_type: str | None) -> str:
    """The body's media type, refused (415) as MLflow refuses it: not JSON or CSV, not UTF-8, other parameters."""
    if content_type is None:
        return "application/json"
    mime, *params = (p.strip() for p in content_type.split(";"))
    values = {k.strip().lower(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in params if p)}
    if values.get("charset", "utf-8").lower() != "utf-8":
        raise UnsupportedMedia("The scoring server only supports UTF-8")
    if set(values) - {"charset"}:
        raise UnsupportedMedia(f"Unrecognized content type parameters: {', '.join(sorted(set(values)))[:200]}")
    if mime.lower() not in CONTENT_TYPES:
        raise UnsupportedMedia(f"This predictor only supports the following content types: "
                               f"{', '.join(CONTENT_TYPES)}. Got {content_type[:100]!r}.")
    return mime.lower()


def _split(value: Any, array: bool) -> dict[str, Any]:
    """pandas' split orient (``columns``, ``data``, an ``index`` that is ignored) as columns or rows."""
    if not isinstance(value, dict) or not isinstance(value.get("data"), list) \
            or not all(isinstance(r, list) for r in value["data"]):
        raise InvalidInputError('dataframe_split is {"columns": [names], "data": [[values], ...]}, '
                                "pandas' split orient")
    data = value["data"]
    if array:
        return {"instances": data}
    names = value.get("columns")
    if not isinstance(names, list) or not all(isinstance(c, (str, int)) and not isinstance(c, bool)
                                              for c in names):
        raise InvalidInputError('dataframe_split needs "columns", the list of column names')
    columns = [str(c) for c in names]
    if len(set(columns)) != len(columns):
        raise InvalidInputError("dataframe_split names a column twice; name each column once")
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise InvalidInputError(f"dataframe_split row {i} has {len(row)} values for {len(columns)} columns")
    return {"columns": {c: [row[j] for row in data] for j, c in enumerate(columns)}}


def _csv(body: bytes, schema: dict[str, Any] | None) -> dict[str, Any]:
    """A CSV body (a header row, then rows), each cell read as its column's type: what does not read as
    that type stays text, so the schema's check names the column and row."""
    try:
        rows = [r for r in csv.reader(io.StringIO(body.decode("utf-8"))) if r]
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"the CSV body is not UTF-8 (byte {exc.start}); send UTF-8 text") from None
    except csv.Error as exc:
        raise InvalidInputError(f"the CSV body cannot be read: {str(exc)[:200]}") from None
    if len(rows) < 2:
        raise InvalidInputError("the CSV body needs a header row and at least one row of values")
    header, values = rows[0], rows[1:]
    for i, row in enumerate(values):
        if len(row) != len(header):
            raise InvalidInputError(f"CSV row {i + 1} has {len(row)} fields; the header has {len(header)}")
    if schema and schema.get("kind") == "array":
        kind = column_kind(schema.get("dtype"))
        return {"instances": [[_cell(v, kind) for v in row] for row in values]}
    kinds = {c["name"]: column_kind(c.get("dtype")) for c in (schema or {}).get("columns", [])}
    if len(set(header)) != len(header):
        raise InvalidInputError("the CSV header names a column twice; name each column once")
    return {"columns": {name: [_cell(row[j], kinds.get(name, "any")) for row in values]
                        for j, name in enumerate(header)}}


def _cell(text: str, kind: str) -> Any:
    if text == "":
        return None  # a missing value: the schema's check names it
    if kind in ("string", "datetime"):
        return text
    if kind == "bool":
        return _BOOLS.get(text.strip().lower(), text)
    for read in ((float,) if kind == "float" else (int, float)):
        try:
            return read(text)
        except ValueError:
            continue
    return text


class MlflowScoring:
    """The ``/invocations`` surface (see :class:`serving.answer.Surface`)."""

    forms = REQUIRED

    def read(self, body: bytes, headers: Any, served: Served) -> Call:
        payload = read_invocation(body, headers.get("content-type"), served.version.input_schema)
        return Call(payload, header_id=headers.get("x-request-id"))

    def reply(self, answer: Answer, call: Call) -> Reply:
        return Reply(to_json({"predictions": answer.predictions_list()}, answer.served), headers=answer.echo())

    def error(self, status: int, message: str) -> Reply:
        status = 400 if status == 422 else status
        return json_reply({"error_code": ERROR_CODES.get(status, "BAD_REQUEST"), "message": message}, status)

"""Prediction input: JSON checked against a version's input schema, then a DataFrame; and its sample kept.
Also what else a request carries: its request ids (body column or ``X-Request-Id``) and, for ``/labels``,
the ids and labels.

Validation is strict on purpose: a string where the model was trained on
numbers is a client bug to report (422), not a value to coerce silently.
Each message names the column, the row and what was expected.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..monitoring.request_ids import request_id, request_ids

_FORMS = ('{"records": [{"col": value, ...}, ...]}, {"columns": {"col": [values], ...}} '
          "or a bare list of records")


@dataclass
class Prepared:
    frame: Any  # pandas DataFrame or numpy array, ready for predict
    rows: int
    ignored: list[str] = field(default_factory=list)
    raw: dict[str, list[Any]] = field(default_factory=dict)  # the JSON values per column, cheap to store
    ids: list[str] | None = None  # the caller's request ids, from an id column of the body

    def records(self) -> list[dict[str, Any]]:
        names = list(self.raw)
        return [dict(zip(names, values)) for values in zip(*self.raw.values())]


_SCALARS = (str, int, float, bool)


def _kind(dtype: str | None) -> str:
    if not dtype:
        return "any"
    d = dtype.lower()
    if d.startswith(("float", "double")):
        return "float"
    if d.startswith(("int", "uint")):
        return "int"
    if d in ("bool", "boolean"):
        return "bool"
    if d.startswith("datetime"):
        return "datetime"
    return "string"  # object, str, string, category


def _check(name: str, kind: str, values: list[Any], dtype: str) -> Any:
    import numpy as np

    def bad(i: int, expected: str) -> InvalidInputError:
        shown = values[i] if isinstance(values[i], _SCALARS) else type(values[i]).__name__
        text = repr(shown) if not isinstance(shown, int) or abs(shown) < 10**30 else "a huge integer"
        return InvalidInputError(f"column {name!r} expects {expected} ({dtype}); row {i} has "
                                 f"{text[:80]} ({type(values[i]).__name__})")

    for i, v in enumerate(values):  # the docs promise a 422 for missing values, whatever the column
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise InvalidInputError(f"row {i} has a missing value ({'null' if v is None else 'NaN'}) "
                                    f"in column {name!r}; send a value")
    if kind == "float":
        for i, v in enumerate(values):
            if type(v) is bool or not isinstance(v, (int, float)):
                raise bad(i, "numbers")
            if isinstance(v, int) and not -1e308 < v < 1e308:
                raise bad(i, "numbers in range")
            if isinstance(v, float) and math.isinf(v):
                raise bad(i, "finite numbers")
        return np.array(values, dtype=dtype)
    if kind == "int":
        try:
            info = np.iinfo(dtype)
            low, high = int(info.min), int(info.max)
        except (TypeError, ValueError):
            low, high = -(2**63), 2**63 - 1
        for i, v in enumerate(values):
            if type(v) is bool or not (isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
                raise bad(i, "integers")
            if not low <= v <= high:
                raise bad(i, f"integers from {low} to {high}")
        return np.array(values, dtype=dtype)
    if kind == "bool":
        for i, v in enumerate(values):
            if type(v) is not bool:
                raise bad(i, "true or false")
        return np.array(values, dtype=bool)
    if kind == "datetime":
        import pandas as pd

        try:
            return pd.to_datetime(values)
        except (TypeError, ValueError):
            raise InvalidInputError(f"column {name!r} expects dates ({dtype}); cannot read {values[:3]!r}") from None
    if kind == "string":
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise bad(i, "strings")
        import pandas as pd

        return pd.Series(values, dtype=dtype if dtype.startswith(("category", "str")) else object)
    for i, v in enumerate(values):  # no schema type: still one JSON scalar per cell, never a tree
        if not isinstance(v, _SCALARS):
            raise bad(i, "a number, string or boolean")
        if isinstance(v, float) and math.isinf(v):
            raise bad(i, "finite numbers")
    return values


def _columns_of(payload: Any) -> dict[str, list[Any]]:
    if isinstance(payload, dict) and "columns" in payload:
        cols = payload["columns"]
        if not isinstance(cols, dict) or not all(isinstance(v, list) for v in cols.values()):
            raise InvalidInputError(f'"columns" must map each column name to a list of values; send {_FORMS}')
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise InvalidInputError(f"columns have different lengths ({sorted(lengths)}); send equal-length lists")
        return cols
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidInputError(f"cannot read the request body; send {_FORMS}")
    names: dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    return {n: [r.get(n, _MISSING) for r in records] for n in names}


_MISSING = object()


def prepare(payload: Any, schema: dict[str, Any] | None, *, id_column: str | None = None) -> Prepared:
    """Turn a request body into the model's input, or raise InvalidInputError saying exactly what is wrong.

    A column named ``id_column`` carries the caller's request ids (one per row, later joined to the
    labels that arrive); it is not an input of the model.
    """
    import numpy as np
    import pandas as pd

    if schema and schema.get("kind") == "array":
        rows = payload.get("instances") if isinstance(payload, dict) else payload
        width = schema["n_features"]
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == width for r in rows):
            raise InvalidInputError(f'send {{"instances": [[{width} numbers], ...]}} or a list of such lists')
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if type(v) is bool or not isinstance(v, (int, float)) or not -1e308 < v < 1e308:
                    shown = repr(v)[:40] if isinstance(v, (float, str)) or v is None else type(v).__name__
                    raise InvalidInputError(f"instance {r}, feature {c}: expected a finite number, got {shown}")
        try:
            arr = np.array(rows, dtype=schema.get("dtype") or float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(f"instances must be numbers: {exc}") from None
        return Prepared(arr, len(rows), raw={f"x{i}": list(col) for i, col in enumerate(zip(*rows))})
    columns = _columns_of(payload)
    if not columns:
        raise InvalidInputError(f"the request has no rows; send {_FORMS}")
    rows = len(next(iter(columns.values())))
    if rows == 0:
        raise InvalidInputError("the request has no rows")
    ids = None
    if id_column and id_column in columns:
        raw_ids = columns.pop(id_column)
        if any(v is _MISSING for v in raw_ids):
            raise InvalidInputError(f"column {id_column!r} holds the request ids: give every row one")
        ids = request_ids(raw_ids, f"column {id_column!r}, row")
        if not columns:
            raise InvalidInputError(f"the request has only ids (column {id_column!r}); send the model's inputs too")
    if not schema or not schema.get("columns"):
        for name, values in columns.items():
            _check(str(name), "any", [None if v is _MISSING else v for v in values], "")
        return Prepared(pd.DataFrame(columns), rows, raw=columns, ids=ids)
    wanted = schema["columns"]
    missing = [c["name"] for c in wanted if c["name"] not in columns]
    if missing:
        raise InvalidInputError(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                                f"the model needs {', '.join(c['name'] for c in wanted)}")
    data = {}
    for col in wanted:
        values = columns[col["name"]]
        gaps = [i for i, v in enumerate(values) if v is _MISSING]
        if gaps:
            raise InvalidInputError(f"row {gaps[0]} has no value for column {col['name']!r}")
        data[col["name"]] = _check(col["name"], _kind(col.get("dtype")), values, col.get("dtype") or "")
    known = {c["name"] for c in wanted}
    return Prepared(pd.DataFrame(data, copy=False), rows, [n for n in columns if n not in known],
                    {c["name"]: columns[c["name"]] for c in wanted}, ids)


# -- request ids and labels --------------------------------------------------------------------------------
def request_ids_of(header: str | None, prepared: Prepared) -> list[str]:
    """Per row: the body's id column, else the X-Request-Id header (``ID`` or ``ID:ROW``), else new ids.

    The header's id follows the one request-id rule (``monitoring.request_ids``), and so does each
    ``ID:ROW`` made from it, since a label arrives for exactly that id."""
    if prepared.ids is not None:
        return list(prepared.ids)
    text = _utf8(header or "").strip()  # an empty header (a proxy's) is no id: a new one is made
    base = request_id(text, "the X-Request-Id header") if text else uuid.uuid4().hex[:16]
    if prepared.rows == 1:
        return [base]
    return request_ids([f"{base}:{i}" for i in range(prepared.rows)], "the X-Request-Id header's id of row")


def _utf8(header: str) -> str:
    """A header as the client wrote it: Starlette decodes header bytes as Latin-1; UTF-8 bytes (an id in
    another script) are read as UTF-8."""
    try:
        return header.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header


def label_pairs(payload: Any) -> tuple[list[Any] | None, list[Any]]:
    """(ids, labels) of a ``/labels`` body, either form; ids None when it is neither."""
    if isinstance(payload, dict) and isinstance(payload.get("ids"), list) and isinstance(payload.get("labels"), list):
        return payload["ids"], payload["labels"]
    rows = payload.get("labels") if isinstance(payload, dict) else payload
    if isinstance(rows, list) and rows and all(isinstance(r, dict) and "request_id" in r and "label" in r
                                               for r in rows):
        return [r["request_id"] for r in rows], [r["label"] for r in rows]
    return None, []

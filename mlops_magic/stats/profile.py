"""Column summaries and the compact reference profile.

A :class:`ColumnProfile` is what every drift test and quality check reads. Built from a
frame for a drift run it keeps the sorted values and all category counts, so tests are
exact; built by :func:`profile` for storage it keeps 1,001 quantiles per numeric column
and at most ``max_categories`` category counts, so a monitor run needs only the current
data. The kind of a column is decided here, on the reference:

- ``numeric``: a number column with more than 10 distinct values;
- ``discrete``: a number column with at most 10 distinct values (counts kept, tested as
  categories);
- ``categorical``: strings, booleans, pandas categories;
- ``text``: a categorical column whose distinct values exceed half its rows (identifiers,
  free text), not tested by default because every new value would look like drift;
- ``datetime``: timestamps, not tested by default because time always moves on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .drift_tests import quantiles_sorted
from .parallel import map_columns

FORMAT = "mlops-magic.profile/1"
#: A number column with at most this many distinct reference values is ``discrete``.
DISCRETE_MAX_VALUES = 10
#: A categorical column needs more distinct values than this (and than half its rows) to be ``text``.
TEXT_MIN_VALUES = 20
FAMILY = {"numeric": "numeric", "discrete": "numeric", "categorical": "categorical",
          "text": "categorical", "datetime": "datetime"}


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """One column of one side: counts, range, and either values, quantiles or categories."""

    name: str
    kind: str
    dtype: str
    n: int  # non-missing values
    n_missing: int
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: tuple[float, ...] | None = None  # at quantile_probs(n_quantiles)
    n_quantiles: int = 0
    categories: tuple[Any, ...] = ()  # most frequent first; ascending values for number columns
    counts: tuple[int, ...] = ()
    other: int = 0  # rows in categories beyond the stored ones
    values: np.ndarray | None = field(default=None, repr=False)  # sorted, frames only

    @property
    def family(self) -> str:
        return FAMILY[self.kind]

    @property
    def missing_share(self) -> float:
        rows = self.n + self.n_missing
        return self.n_missing / rows if rows else 0.0

    @property
    def complete(self) -> bool:
        """True when every category is stored, so unseen values can be told apart."""
        return self.other == 0

    def quantile_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, quantiles) describing the numeric distribution."""
        return quantile_probs(self.n_quantiles), np.asarray(self.quantiles, dtype=np.float64)

    def sample(self) -> np.ndarray | None:
        """The exact sorted sample when known: kept values, or value counts expanded."""
        if self.values is not None:
            return self.values
        if self.family != "categorical" and self.counts and self.other == 0:
            return np.repeat(np.asarray(self.categories, dtype=np.float64), self.counts)
        return None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "dtype": self.dtype,
                               "n": self.n, "n_missing": self.n_missing}
        if self.family != "categorical":
            out.update(minimum=self.minimum, maximum=self.maximum, mean=self.mean, std=self.std)
        if self.quantiles is not None:
            out.update(n_quantiles=self.n_quantiles, quantiles=list(self.quantiles))
        if self.categories:
            out.update(categories=list(self.categories), counts=list(self.counts), other=self.other)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        q = data.get("quantiles")
        return cls(name=data["name"], kind=data["kind"], dtype=data["dtype"], n=int(data["n"]),
                   n_missing=int(data["n_missing"]), minimum=data.get("minimum"),
                   maximum=data.get("maximum"), mean=data.get("mean"), std=data.get("std"),
                   quantiles=None if q is None else tuple(float(v) for v in q),
                   n_quantiles=int(data.get("n_quantiles", 0)),
                   categories=tuple(data.get("categories", ())),
                   counts=tuple(int(c) for c in data.get("counts", ())), other=int(data.get("other", 0)))


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """A compact, JSON-serialisable stand-in for the training data in drift and quality checks."""

    columns: dict[str, ColumnProfile]
    n_rows: int
    n_quantiles: int = 1000
    max_categories: int = 1000

    @property
    def schema(self) -> dict[str, str]:
        return {name: col.dtype for name, col in self.columns.items()}

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def __repr__(self) -> str:
        kinds = ", ".join(f"{n}: {c.kind}" for n, c in list(self.columns.items())[:8])
        more = ", …" if len(self.columns) > 8 else ""
        return f"ReferenceProfile({self.n_rows} rows; {kinds}{more})"

    def to_dict(self) -> dict[str, Any]:
        """A dict that ``json.dumps`` accepts (no NaN); :meth:`from_dict` reverses it."""
        return {"format": FORMAT, "n_rows": self.n_rows, "n_quantiles": self.n_quantiles,
                "max_categories": self.max_categories,
                "columns": [c.to_dict() for c in self.columns.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidInputError(f"not a reference profile (expected format {FORMAT!r}); "
                                    "build one with mlops_magic.monitoring.profile(df)")
        cols = [ColumnProfile.from_dict(c) for c in data["columns"]]
        return cls(columns={c.name: c for c in cols}, n_rows=int(data["n_rows"]),
                   n_quantiles=int(data["n_quantiles"]), max_categories=int(data["max_categories"]))


def profile(data: Any, *, n_quantiles: int = 1000, max_categories: int = 1000) -> ReferenceProfile:
    """Summarise a reference DataFrame so drift can later be tested without it.

    Numeric columns keep ``n_quantiles + 1`` quantiles plus min, max, mean and std;
    discrete and categorical columns keep their counts, the ``max_categories`` most
    frequent ones exactly and the rest summed as ``other``; every column keeps its dtype
    and missing count.
    """
    frame = as_frame(data, "reference")
    if n_quantiles < 10 or max_categories < DISCRETE_MAX_VALUES:
        raise InvalidInputError(f"profile needs n_quantiles >= 10 and max_categories >= {DISCRETE_MAX_VALUES}")
    def one(column: Any) -> ColumnProfile:
        return summarise(frame[column], str(column), keep_values=False, n_quantiles=n_quantiles,
                         max_categories=max_categories)

    cols = {c.name: c for c in map_columns(one, list(frame.columns), rows=len(frame))}
    return ReferenceProfile(columns=cols, n_rows=len(frame), n_quantiles=n_quantiles,
                            max_categories=max_categories)


def quantile_probs(n_quantiles: int) -> np.ndarray:
    """Probabilities at which a profile keeps quantiles: a uniform grid of ``n_quantiles``
    steps, refined in both tails down to 1e-8, where linear interpolation between
    uniform steps would misplace the extreme values (and with them Wasserstein)."""
    tails = np.array([m * 10.0**-e for e in range(4, 9) for m in (5, 2, 1)])
    tails = tails[tails < 1 / n_quantiles]
    return np.unique(np.concatenate((np.arange(n_quantiles + 1) / n_quantiles, tails, 1 - tails)))


def as_frame(data: Any, side: str) -> Any:
    """The data as a non-empty DataFrame, or InvalidInputError naming the side."""
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError(f"{side} must be a pandas DataFrame, not {type(data).__name__}; "
                                "convert it with pd.DataFrame(...) or pd.read_parquet(...)")
    if len(data) == 0 or data.shape[1] == 0:
        raise InvalidInputError(f"{side} data is empty ({data.shape[0]} rows, {data.shape[1]} columns); "
                                "pass a DataFrame with at least one row and one column")
    if data.columns.has_duplicates:
        dup = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise InvalidInputError(f"{side} has duplicate column names {dup}; rename them first")
    return data


def family_of(series: Any) -> str:
    """numeric, categorical or datetime, from the dtype alone."""
    import pandas as pd

    dt = series.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt):
        return "numeric"
    return "categorical"


def _floats(series: Any, family: str) -> np.ndarray:
    """Float64 values in a new array, NaN for missing; timestamps and durations as nanoseconds."""
    import pandas as pd

    if family == "datetime":
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        arr = series.to_numpy(dtype="datetime64[ns]")
    elif pd.api.types.is_timedelta64_dtype(series.dtype):
        arr = series.to_numpy(dtype="timedelta64[ns]")
    else:  # a copy of our own, so it can be sorted in place
        return series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    out = arr.view("int64").astype(np.float64)
    out[np.isnat(arr)] = np.nan
    return out


def json_key(value: Any) -> Any:
    """A category value as JSON keeps it: str, bool, int and finite float as is, else str."""
    if type(value) is str or isinstance(value, bool):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return float(value)
    return str(value)


def summarise(series: Any, name: str, *, keep_values: bool, kind: str | None = None, moments: bool = True,
              n_quantiles: int = 1000, max_categories: int = 1000) -> ColumnProfile:
    """Summarise one column; ``kind`` (taken from the reference) overrides detection.

    ``keep_values`` keeps the sorted values and every category (for exact tests) instead
    of quantiles and the top ``max_categories``; ``moments=False`` skips mean and std.
    """
    family = family_of(series)
    if kind is not None and FAMILY[kind] != family:
        kind = None  # retyped: describe the column as it is; quality reports the change
    if family == "categorical":
        return _summarise_categories(series, name, keep_values, kind, max_categories)
    vals = _floats(series, family)
    vals.sort()  # in place, NaN last, after +inf: the one sort of this column every test shares
    lo, hi = np.searchsorted(vals, -np.inf, side="right"), np.searchsorted(vals, np.inf, side="left")
    vals = vals[lo:hi]  # the finite values, without a copy
    n = int(vals.size)
    base: dict[str, Any] = dict(name=name, dtype=str(series.dtype), n=n, n_missing=len(series) - n)
    if n == 0:
        return ColumnProfile(kind=kind or ("datetime" if family == "datetime" else "numeric"), **base)
    stats: dict[str, Any] = dict(minimum=float(vals[0]), maximum=float(vals[-1]))
    if moments:  # only the reference needs them (Wasserstein is normalised by its std)
        stats.update(mean=float(vals.mean()), std=float(vals.std()))
    distinct = 0 if keep_values and kind else 1 + int(np.count_nonzero(vals[1:] != vals[:-1]))
    if kind is None:
        kind = "datetime" if family == "datetime" else (
            "discrete" if distinct <= DISCRETE_MAX_VALUES else "numeric")
    if keep_values:
        return ColumnProfile(kind=kind, values=vals, **base, **stats)
    if distinct <= max_categories:  # few distinct values: exact counts make every test exact
        starts = np.flatnonzero(np.concatenate(([True], vals[1:] != vals[:-1])))
        return ColumnProfile(kind=kind, categories=tuple(vals[starts].tolist()),
                             counts=tuple(np.diff(np.append(starts, n)).tolist()), **base, **stats)
    probs = quantile_probs(n_quantiles)
    return ColumnProfile(kind=kind, quantiles=tuple(quantiles_sorted(vals, probs).tolist()),
                         n_quantiles=n_quantiles, **base, **stats)


def _summarise_categories(series: Any, name: str, keep_values: bool, kind: str | None,
                          max_categories: int) -> ColumnProfile:
    vc = series.value_counts(dropna=True, sort=True)
    vc = vc[vc > 0]
    n = int(vc.sum())
    keys = [json_key(k) for k in vc.index.tolist()]
    counts = vc.to_numpy().astype(np.int64)
    if kind is None:
        kind = "text" if len(keys) > max(TEXT_MIN_VALUES, n / 2) else "categorical"
    other = 0
    if not keep_values and len(keys) > max_categories:
        other = int(counts[max_categories:].sum())
        keys, counts = keys[:max_categories], counts[:max_categories]
    if len(set(keys)) < len(keys):  # e.g. 1 and "1" both became "1": merge them
        merged: dict[Any, int] = {}
        for k, c in zip(keys, counts.tolist()):
            merged[k] = merged.get(k, 0) + c
        keys, counts = list(merged), np.array(list(merged.values()), dtype=np.int64)
    return ColumnProfile(name=name, kind=kind, dtype=str(series.dtype), n=n, n_missing=len(series) - n,
                         categories=tuple(keys), counts=tuple(counts.tolist()), other=other)

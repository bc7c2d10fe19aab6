"""Per-column drift between reference and current data, and the :class:`DriftReport`.

A column drifts only when its test is significant (p < ``alpha``) AND its effect size
reaches a floor: with a million rows almost any difference is significant, and the
floor keeps trivial ones from raising alarms (see docs/monitoring.md for how the floors
were chosen). Distances (Wasserstein, Jensen-Shannon, PSI) take their p-value from the
exact-distribution test on the same representation: KS on the values, chi-squared on the
same categories or bins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..display.html import fmt_number
from ..display.monitoring import drift_html, drift_markdown, drift_text
from ..entities import json_safe
from ..errors import InvalidInputError
from ..stats import drift_tests as T
from ..stats.parallel import map_columns
from ..stats.profile import ColumnProfile, ReferenceProfile, as_frame, family_of, summarise
from .quality import QualityReport, assess

FORMAT = "mlops-magic.drift/1"
TESTS = ("ks", "wasserstein", "chi2", "jensenshannon", "psi")
#: Effect-size floor per test; a column drifts only at or above it (and when significant).
DEFAULT_THRESHOLDS = {"ks": 0.02, "wasserstein": 0.05, "chi2": 0.05, "jensenshannon": 0.05, "psi": 0.1}
EFFECT_NAMES = {"ks": "KS D", "wasserstein": "Wasserstein / ref. std", "chi2": "Cramér's V",
                "jensenshannon": "JS distance", "psi": "PSI"}
#: Up to this many values on the smaller side, p-value tests (KS, chi-squared) are the default.
SMALL_SAMPLE = 1000
#: Below this many non-missing values on either side a column is not tested: no test says anything
#: meaningful about 1 row against 1 row, and a verdict would read as "no drift".
MIN_SAMPLE = 30
INSUFFICIENT = "insufficient data"
PSI_BINS = 10
_CHART_BINS = 20
_CHART_BARS = 10


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict; ``test`` is None when the column could not be tested (see ``note``)."""

    column: str
    kind: str
    test: str | None
    statistic: float | None
    p_value: float | None
    effect_size: float | None
    threshold: float | None
    drifted: bool
    n_reference: int = 0
    n_current: int = 0
    note: str = ""
    chart: dict[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, repr=False)
class DriftReport:
    """Per-column drift, the data-set verdict and the data-quality findings."""

    columns: tuple[ColumnDrift, ...]
    quality: QualityReport
    alpha: float = 0.05
    share_threshold: float = 0.5
    reference_rows: int = 0
    current_rows: int = 0

    @property
    def tested(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.columns if c.test is not None)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        """Drifted columns over tested columns (0.0 when none could be tested)."""
        return len(self.drifted_columns) / len(self.tested) if self.tested else 0.0

    @property
    def drifted(self) -> bool:
        """Data-set drift: at least ``share_threshold`` of the tested columns drifted."""
        return bool(self.drifted_columns) and self.drift_share >= self.share_threshold

    @property
    def insufficient_data(self) -> bool:
        """No column was tested, and some were not for lack of values: no verdict is meaningful."""
        return not self.tested and any(c.note.startswith(INSUFFICIENT) for c in self.columns)

    @property
    def status(self) -> str:
        """``drift``, ``no drift`` or ``insufficient data`` (nothing could be tested)."""
        if self.insufficient_data:
            return INSUFFICIENT
        return "drift" if self.drifted else "no drift"

    @property
    def verdict(self) -> str:
        k, n = len(self.drifted_columns), len(self.tested)
        if self.insufficient_data:
            line = (f"Insufficient data: {self.reference_rows} reference and {self.current_rows} current rows; "
                    f"a drift test needs at least {MIN_SAMPLE} values per column on each side, so no verdict")
        elif n == 0:
            line = "No column could be tested"
        else:
            names = ", ".join(self.drifted_columns[:6]) + (", …" if k > 6 else "")
            share = f"{k} of {n} columns ({self.drift_share:.0%}"
            if self.drifted:
                line = f"Drift detected in {share}, threshold {self.share_threshold:.0%}): {names}"
            elif k:
                line = f"Drift in {share}), below the {self.share_threshold:.0%} data-set threshold: {names}"
            else:
                line = f"No drift in {n} tested column{'s' if n != 1 else ''}"
        issues = len(self.quality.issues)
        return line + (f"; {issues} data-quality issue{'s' if issues != 1 else ''}" if issues else "")

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def to_frame(self) -> Any:
        """One row per column: column, kind, test, statistic, p_value, effect_size, threshold, drifted."""
        import pandas as pd

        rows = [{k: v for k, v in asdict(c).items() if k != "chart"} for c in self.columns]
        return pd.DataFrame(rows, columns=[f for f in ColumnDrift.__dataclass_fields__ if f != "chart"])

    def to_dict(self) -> dict[str, Any]:
        """A dict that ``json.dumps`` accepts; :meth:`from_dict` restores the report."""
        cols = [json_safe(asdict(c)) for c in self.columns]
        return {"format": FORMAT, "alpha": self.alpha, "share_threshold": self.share_threshold,
                "reference_rows": self.reference_rows, "current_rows": self.current_rows,
                "drift_share": self.drift_share, "drifted": self.drifted, "status": self.status,
                "verdict": self.verdict,
                "columns": cols, "quality": self.quality.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReport:
        if data.get("format") != FORMAT:
            raise InvalidInputError(f"not a stored drift report (expected format {FORMAT!r})")
        fields = ColumnDrift.__dataclass_fields__
        cols = tuple(ColumnDrift(**{k: _unjson(v) if k in _FLOATS else v
                                    for k, v in c.items() if k in fields}) for c in data["columns"])
        return cls(columns=cols, quality=QualityReport.from_dict(data["quality"]), alpha=data["alpha"],
                   share_threshold=data["share_threshold"], reference_rows=data["reference_rows"],
                   current_rows=data["current_rows"])

    def __repr__(self) -> str:
        return drift_text(self)

    def _repr_markdown_(self) -> str:
        return drift_markdown(self)

    def _repr_html_(self) -> str:
        return drift_html(self)


_FLOATS = ("statistic", "p_value", "effect_size", "threshold")


def _unjson(v: Any) -> Any:
    return float(v) if isinstance(v, str) else v


def default_test(kind: str, n: int) -> str:
    """The test used when none is requested, by column kind and smaller sample size."""
    if kind in ("numeric", "datetime"):
        return "ks" if n <= SMALL_SAMPLE else "wasserstein"
    return "chi2" if n <= SMALL_SAMPLE else "jensenshannon"


def drift(reference: Any, current: Any, columns: Sequence[str] | None = None,
          tests: str | Mapping[str, str] | None = None, threshold: float | Mapping[str, float] | None = None,
          *, alpha: float = 0.05, share_threshold: float = 0.5) -> DriftReport:
    """Test each column of ``current`` against ``reference`` (a DataFrame or ReferenceProfile).

    ``tests`` names one test for all columns or one per column; ``threshold`` overrides the
    effect-size floor (one number or per column). Columns present on one side only, or
    retyped, are data-quality findings unless requested explicitly, which is an error.
    """
    if not 0 < alpha < 1 or not 0 <= share_threshold <= 1:
        raise InvalidInputError("alpha must be in (0, 1) and share_threshold in [0, 1], e.g. alpha=0.05")
    cur = as_frame(current, "current")
    is_profile = isinstance(reference, ReferenceProfile)
    ref = reference if is_profile else as_frame(reference, "reference")
    ref_names = list(ref.columns) if is_profile else [str(c) for c in ref.columns]
    cur_names = [str(c) for c in cur.columns]
    names = _select(ref_names, cur_names, columns, tests)
    test_map = _tests_for(tests, names)
    floors = _thresholds_for(threshold, names)
    explicit = set(test_map) | set(columns or ())
    ref_get = ref.columns.get if is_profile else _getter(ref)
    cur_get = _getter(cur)
    _check_explicit(names, explicit, test_map, ref_get, cur_get, is_profile)

    def one(name: str) -> tuple[ColumnDrift, QualityReport]:
        """A column's test and quality while its sorted values exist: a million-row column's are 16 MB,
        freed as the next column starts, so the memory is reused instead of mapped fresh each time."""
        rp = ref_get(name) if is_profile else summarise(ref_get(name), name, keep_values=True)
        cp = summarise(cur_get(name), name, keep_values=True, kind=rp.kind, moments=False)
        tested = _test_column(rp, cp, test_map.get(name), floors.get(name), alpha, name in explicit)
        return tested, assess([rp], [cp], [], [], alpha=alpha)

    results = map_columns(one, names, rows=len(cur) + (0 if is_profile else len(ref)))
    added = [n for n in cur_names if n not in ref_names] if columns is None else []
    removed = [n for n in ref_names if n not in cur_names] if columns is None else []
    schema = assess([], [], added, removed, alpha=alpha)  # the same findings in the same order as one assess
    qual = QualityReport(columns=tuple(c for _, q in results for c in q.columns),
                         issues=schema.issues + tuple(i for _, q in results for i in q.issues))
    return DriftReport(columns=tuple(r[0] for r in results), quality=qual, alpha=alpha,
                       share_threshold=share_threshold,
                       reference_rows=ref.n_rows if is_profile else len(ref), current_rows=len(cur))


def _getter(frame: Any) -> Any:
    by_name = {str(c): c for c in frame.columns}
    return lambda name: frame[by_name[name]]


def _select(ref: list[str], cur: list[str], columns: Sequence[str] | None,
            tests: str | Mapping[str, str] | None) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    wanted = list(columns) if columns is not None else [n for n in ref if n in cur]
    if isinstance(tests, Mapping):
        wanted += [str(k) for k in tests if str(k) not in wanted]
    for side, have in (("reference", ref), ("current", cur)):
        missing = [n for n in wanted if n not in have]
        if missing:
            raise InvalidInputError(f"columns missing from the {side} data: {', '.join(map(repr, missing))}; "
                                    "pass columns=[...] naming columns present in both")
    if not wanted:
        raise InvalidInputError("reference and current share no column; check that both have the same schema")
    return wanted


def _tests_for(tests: str | Mapping[str, str] | None, names: list[str]) -> dict[str, str]:
    chosen = {n: tests for n in names} if isinstance(tests, str) else {str(k): v for k, v in (tests or {}).items()}
    for col, test in chosen.items():
        if test not in TESTS:
            raise InvalidInputError(f"unknown drift test {test!r} for column {col!r}; "
                                    f"choose one of {', '.join(TESTS)}")
    return chosen


def _thresholds_for(threshold: float | Mapping[str, float] | None, names: list[str]) -> dict[str, float]:
    chosen = {n: threshold for n in names} if isinstance(threshold, (int, float)) else dict(threshold or {})
    for col, value in chosen.items():
        if col not in names:
            raise InvalidInputError(f"threshold given for {col!r}, which is not tested; tested: {', '.join(names)}")
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise InvalidInputError(f"threshold for {col!r} must be a number >= 0, not {value!r}")
    return {k: float(v) for k, v in chosen.items()}


def _check_explicit(names: list[str], explicit: set[str], test_map: dict[str, str], ref_get: Any,
                    cur_get: Any, is_profile: bool) -> None:
    """Refuse requested columns and tests that cannot run, before any work is done."""
    for name in names:
        rf = ref_get(name).family if is_profile else family_of(ref_get(name))
        cf = family_of(cur_get(name))
        if rf != cf and name in explicit:
            raise InvalidInputError(f"column {name!r} is {rf} in the reference but {cf} in the current data; "
                                    "convert one side (e.g. pd.to_numeric) or leave it out of columns/tests")
        test = test_map.get(name)
        if test in ("ks", "wasserstein") and rf == "categorical":
            raise InvalidInputError(f"test {test!r} needs a numeric column but {name!r} is categorical; "
                                    "use chi2, jensenshannon or psi")


def _test_column(ref: ColumnProfile, cur: ColumnProfile, test: str | None, floor: float | None,
                 alpha: float, explicit: bool) -> ColumnDrift:
    base: dict[str, Any] = dict(column=ref.name, kind=ref.kind, n_reference=ref.n, n_current=cur.n)

    def untested(note: str) -> ColumnDrift:
        return ColumnDrift(test=None, statistic=None, p_value=None, effect_size=None, threshold=None,
                           drifted=False, note=note, **base)

    if ref.family != cur.family:
        return untested(f"not tested: retyped from {ref.family} ({ref.dtype}) to {cur.family} ({cur.dtype})")
    if ref.n == 0 or cur.n == 0:
        return untested(f"not tested: all values missing in the {'reference' if ref.n == 0 else 'current'} data")
    if ref.kind in ("text", "datetime") and not explicit:
        why = "identifier or free text" if ref.kind == "text" else "time always moves on"
        return untested(f"not tested by default ({why}); request it with columns=[...]")
    if min(ref.n, cur.n) < MIN_SAMPLE:
        return untested(f"{INSUFFICIENT}: {ref.n} reference and {cur.n} current values "
                        f"(a test needs at least {MIN_SAMPLE} on each side)")
    test = test or default_test(ref.kind if ref.kind != "text" else "categorical", min(ref.n, cur.n))
    floor = DEFAULT_THRESHOLDS[test] if floor is None else floor
    exact = True
    if test in ("ks", "wasserstein"):
        d, w, p, exact = _numeric(ref, cur)
        stat = d if test == "ks" else w
        effect = d if test == "ks" else (w / ref.std if ref.std else (math.inf if w > 0 else 0.0))
    else:
        _, r, c, exact = _counts(ref, cur)
        stat, p, effect = T.chi2_counts(r, c)
        if test == "jensenshannon":
            stat = effect = T.jensenshannon_counts(r, c)
        elif test == "psi":
            stat = effect = T.psi_counts(r, c)
    note = "" if exact else "approximate: reference is a profile"
    return ColumnDrift(test=test, statistic=stat, p_value=p, effect_size=effect, threshold=floor,
                       drifted=bool(p < alpha and effect >= floor), note=note, chart=_chart(ref, cur), **base)


def _numeric(ref: ColumnProfile, cur: ColumnProfile) -> tuple[float, float, float, bool]:
    """KS D, Wasserstein-1, KS p-value, and whether they are exact."""
    sample, values = ref.sample(), cur.values
    assert values is not None
    if sample is not None:
        d, w = T.ks_wasserstein_sorted(sample, values)
        return d, w, T.ks_pvalue_for(d, sample, values), True
    probs, qv = ref.quantile_grid()
    d = T.ks_quantiles(qv, probs, values)
    return d, T.wasserstein_quantiles(qv, probs, values), T.ks_pvalue(d, ref.n, cur.n), False


def _counts(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[str], np.ndarray, np.ndarray, bool]:
    """Labels and aligned reference/current counts: categories, discrete values or decile bins."""
    if ref.family == "categorical":
        table = dict(zip(ref.categories, ref.counts))
        cur_counts: dict[Any, int] = {}
        for key, n in zip(cur.categories, cur.counts):
            slot = key if key in table or ref.complete else _OTHER
            cur_counts[slot] = cur_counts.get(slot, 0) + n
        if ref.other:
            table[_OTHER] = ref.other
        keys = list(table) + [k for k in cur_counts if k not in table]
        return ([str(k) if k is not _OTHER else "(other)" for k in keys],
                np.array([table.get(k, 0) for k in keys], dtype=np.float64),
                np.array([cur_counts.get(k, 0) for k in keys], dtype=np.float64), True)
    sample, values = ref.sample(), cur.values
    assert values is not None
    if ref.kind == "discrete" and sample is not None:
        ru, rc = _distinct(sample)
        cu, cc = _distinct(values)
        union = np.union1d(ru, cu)
        r, c = np.zeros(union.size), np.zeros(union.size)
        r[np.searchsorted(union, ru)] = rc
        c[np.searchsorted(union, cu)] = cc
        return [f"{v:g}" for v in union], r, c, True
    probs = np.arange(1, PSI_BINS) / PSI_BINS
    if sample is not None:
        edges = np.unique(T.quantiles_sorted(sample, probs))
        r = T.bin_counts_sorted(sample, edges)
    else:
        grid, qv = ref.quantile_grid()
        edges = np.unique(np.interp(probs, grid, qv))
        r = ref.n * np.diff(np.concatenate(([0.0], T.quantile_cdf(qv, grid, edges), [1.0])))
    labels = [f"≤{fmt_number(e)}" for e in edges] + [f">{fmt_number(edges[-1])}"]
    return labels, r, T.bin_counts_sorted(values, edges), sample is not None


_OTHER = object()  # the bucket of categories a capped profile did not keep


def _distinct(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    return sorted_values[starts], np.diff(np.append(starts, sorted_values.size))


def _chart(ref: ColumnProfile, cur: ColumnProfile) -> dict[str, Any]:
    """Small overlaid distributions for the report: shares per bin or per top category."""
    if ref.family == "categorical" or ref.kind == "discrete":
        labels, r, c, _ = _counts(ref, cur)
        order = np.argsort(-r, kind="stable")[:_CHART_BARS]
        rest_r, rest_c = r.sum() - r[order].sum(), c.sum() - c[order].sum()
        names = [labels[i] for i in order] + (["(rest)"] if rest_r + rest_c > 0 else [])
        rv = np.append(r[order], rest_r)[: len(names)] / max(r.sum(), 1)
        cv = np.append(c[order], rest_c)[: len(names)] / max(c.sum(), 1)
        return {"type": "bars", "labels": names, "reference": _round(rv), "current": _round(cv)}
    probs = np.array([0.005, 0.995])
    sample, values = ref.sample(), cur.values
    assert values is not None
    if sample is not None:
        r_lo, r_hi = T.quantiles_sorted(sample, probs)
    else:
        grid, qv = ref.quantile_grid()
        r_lo, r_hi = np.interp(probs, grid, qv)
    c_lo, c_hi = T.quantiles_sorted(values, probs)
    lo, hi = min(r_lo, c_lo), max(r_hi, c_hi)
    if not hi > lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, _CHART_BINS + 1)
    if sample is not None:
        rv = np.diff(np.searchsorted(sample, edges, side="right")) / sample.size
    else:
        rv = np.diff(T.quantile_cdf(qv, grid, edges))
    cv = np.diff(np.searchsorted(values, edges, side="right")) / values.size
    return {"type": "hist", "edges": _round(edges, 6), "reference": _round(rv), "current": _round(cv)}


def _round(a: np.ndarray, digits: int = 4) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(a, dtype=np.float64)]

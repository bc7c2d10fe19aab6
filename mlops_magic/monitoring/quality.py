"""Data quality of current data against a reference: schema, missing values, new values, ranges.

Schema findings (a column added, removed, retyped or entirely missing) are always raised.
Share findings (more missing values, unseen categories, values out of the reference
range) are raised only when the share reaches ``QUALITY_FLOOR`` AND is more than chance
explains at level ``alpha``: a resample of the reference already holds a few new extremes
(about 2 / (n + 1) of rows) and, for categories, about as many unseen values as the
reference has singletons (the Good-Turing estimate of the missing mass).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..display.html import fmt_number
from ..display.monitoring import quality_html, quality_markdown, quality_text
from ..errors import InvalidInputError
from ..stats.drift_tests import chi2_counts
from ..stats.profile import ColumnProfile, ReferenceProfile, as_frame, summarise

FORMAT = "mlops-magic.quality/1"
#: Smallest share of current rows that makes a missing/unseen/out-of-range finding.
QUALITY_FLOOR = 0.01


@dataclass(frozen=True)
class QualityIssue:
    """One finding; ``severity`` is ``error`` when the column cannot be compared at all."""

    column: str
    check: str  # added | removed | retyped | all_missing | missing | unseen | out_of_range
    severity: str  # error | warning
    message: str
    value: float | None = None


@dataclass(frozen=True)
class ColumnQuality:
    column: str
    kind: str
    dtype_reference: str
    dtype_current: str
    missing_reference: float
    missing_current: float
    unseen_share: float | None = None  # None: not a categorical column, or the profile is capped
    out_of_range_share: float | None = None  # None: not a numeric column


@dataclass(frozen=True, repr=False)
class QualityReport:
    columns: tuple[ColumnQuality, ...]
    issues: tuple[QualityIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def verdict(self) -> str:
        if self.ok:
            return f"No data-quality issue in {len(self.columns)} columns"
        errors = sum(i.severity == "error" for i in self.issues)
        cols = sorted({i.column for i in self.issues})
        return (f"{len(self.issues)} data-quality issue{'s' if len(self.issues) != 1 else ''}"
                f" ({errors} blocking) in {', '.join(cols[:6])}{', …' if len(cols) > 6 else ''}")

    def to_frame(self) -> Any:
        """One row per issue: column, check, severity, message, value."""
        import pandas as pd

        return pd.DataFrame([asdict(i) for i in self.issues], columns=list(QualityIssue.__dataclass_fields__))

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "columns": [asdict(c) for c in self.columns],
                "issues": [asdict(i) for i in self.issues]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        if data.get("format") != FORMAT:
            raise InvalidInputError(f"not a stored quality report (expected format {FORMAT!r})")
        return cls(columns=tuple(ColumnQuality(**c) for c in data["columns"]),
                   issues=tuple(QualityIssue(**i) for i in data["issues"]))

    def __repr__(self) -> str:
        return quality_text(self)

    def _repr_markdown_(self) -> str:
        return quality_markdown(self)

    def _repr_html_(self) -> str:
        return quality_html(self)


def quality(reference: Any, current: Any, columns: Sequence[str] | None = None, *,
            alpha: float = 0.05) -> QualityReport:
    """Check ``current`` against ``reference`` (a DataFrame or ReferenceProfile)."""
    cur = as_frame(current, "current")
    is_profile = isinstance(reference, ReferenceProfile)
    ref = reference if is_profile else as_frame(reference, "reference")
    ref_cols = {n: n for n in ref.columns} if is_profile else {str(c): c for c in ref.columns}
    cur_cols = {str(c): c for c in cur.columns}
    if columns is not None:
        for side, have in (("reference", ref_cols), ("current", cur_cols)):
            missing = [c for c in columns if c not in have]
            if missing:
                raise InvalidInputError(f"columns missing from the {side} data: {', '.join(map(repr, missing))}; "
                                        "pass columns=[...] naming columns present in both")
    names = list(columns) if columns is not None else [n for n in ref_cols if n in cur_cols]
    refs, curs = [], []
    for name in names:
        rp = ref[name] if is_profile else summarise(ref[ref_cols[name]], name, keep_values=True)
        refs.append(rp)
        curs.append(summarise(cur[cur_cols[name]], name, keep_values=True, kind=rp.kind, moments=False))
    added = [n for n in cur_cols if n not in ref_cols] if columns is None else []
    removed = [n for n in ref_cols if n not in cur_cols] if columns is None else []
    return assess(refs, curs, added, removed, alpha=alpha)


def assess(refs: Sequence[ColumnProfile], curs: Sequence[ColumnProfile], added: Sequence[str],
           removed: Sequence[str], *, alpha: float = 0.05) -> QualityReport:
    """Quality findings from column summaries (shared with :func:`drift`, which has them already)."""
    issues = [QualityIssue(n, "removed", "error", f"column {n!r} is missing from the current data")
              for n in removed]
    issues += [QualityIssue(n, "added", "warning", f"column {n!r} is new in the current data") for n in added]
    rows = []
    for ref, cur in zip(refs, curs):
        unseen = out = None
        if ref.family != cur.family:
            issues.append(QualityIssue(ref.name, "retyped", "error", f"column {ref.name!r} changed from "
                                       f"{ref.family} ({ref.dtype}) to {cur.family} ({cur.dtype})"))
        elif cur.n == 0:
            issues.append(QualityIssue(ref.name, "all_missing", "error",
                                       f"column {ref.name!r} has no values in the current data", 1.0))
        else:
            issues += _missing(ref, cur, alpha)
            if ref.n and ref.kind in ("categorical", "discrete"):
                unseen = _unseen(ref, cur, alpha, issues)
            if ref.n and ref.kind in ("numeric", "discrete"):
                out = _out_of_range(ref, cur, alpha, issues)
        rows.append(ColumnQuality(ref.name, ref.kind, ref.dtype, cur.dtype, ref.missing_share,
                                  cur.missing_share, unseen, out))
    return QualityReport(columns=tuple(rows), issues=tuple(issues))


def _beyond_chance(k: int, n: int, p0: float, alpha: float) -> bool:
    """k of n rows is at least the floor and unlikely under a chance rate p0 (binomial tail)."""
    if n == 0 or k / n < QUALITY_FLOOR:
        return False
    if p0 <= 0:
        return True
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, min(p0, 1.0))) < alpha


def _missing(ref: ColumnProfile, cur: ColumnProfile, alpha: float) -> list[QualityIssue]:
    rise = cur.missing_share - ref.missing_share
    if rise < QUALITY_FLOOR:
        return []
    _, p, _ = chi2_counts([ref.n_missing, ref.n], [cur.n_missing, cur.n])
    if p >= alpha:
        return []
    return [QualityIssue(ref.name, "missing", "warning", f"missing share of {ref.name!r} rose from "
                         f"{ref.missing_share:.1%} to {cur.missing_share:.1%}", cur.missing_share)]


def _category_counts(col: ColumnProfile) -> dict[Any, int] | None:
    if col.values is not None:  # discrete column summarised from a frame
        starts = np.flatnonzero(np.concatenate(([True], col.values[1:] != col.values[:-1])))
        return dict(zip(col.values[starts].tolist(), np.diff(np.append(starts, col.values.size)).tolist()))
    return dict(zip(col.categories, col.counts)) if col.complete else None


def _unseen(ref: ColumnProfile, cur: ColumnProfile, alpha: float, issues: list[QualityIssue]) -> float | None:
    seen, now = _category_counts(ref), _category_counts(cur)
    if seen is None or now is None:
        return None
    new = {k: n for k, n in now.items() if k not in seen}
    k = sum(new.values())
    singletons = sum(1 for n in seen.values() if n == 1)
    if _beyond_chance(k, cur.n, singletons / ref.n, alpha):
        shown = ", ".join(repr(v) for v in sorted(new, key=new.__getitem__, reverse=True)[:3])
        what = "1 category" if len(new) == 1 else f"{len(new)} categories"
        issues.append(QualityIssue(ref.name, "unseen", "warning", f"{k / cur.n:.1%} of current {ref.name!r} "
                                   f"values are {what} unseen in the reference (e.g. {shown})", k / cur.n))
    return k / cur.n


def _out_of_range(ref: ColumnProfile, cur: ColumnProfile, alpha: float,
                  issues: list[QualityIssue]) -> float | None:
    vals = cur.values
    if vals is None or ref.minimum is None or ref.maximum is None:
        return None
    k = int(np.searchsorted(vals, ref.minimum, side="left")
            + vals.size - np.searchsorted(vals, ref.maximum, side="right"))
    if _beyond_chance(k, vals.size, 2 / (ref.n + 1), alpha):
        issues.append(QualityIssue(ref.name, "out_of_range", "warning", f"{k / vals.size:.1%} of current "
                                   f"{ref.name!r} values fall outside the reference range "
                                   f"[{fmt_number(ref.minimum, 6)}, {fmt_number(ref.maximum, 6)}]", k / vals.size))
    return k / vals.size

"""Data quality: schema changes, missing values, unseen categories, out-of-range values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.monitoring import QualityReport, drift, profile, quality


def _frame(n: int, seed: int, **changes: object) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "amount": rng.gamma(2, 50, n),
        "city": rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "rooms": rng.integers(1, 6, n),
        "note": rng.normal(size=n),
    })
    df.loc[df.index[::25], "amount"] = np.nan  # 4% missing everywhere
    for name, value in changes.items():
        df[name] = value
    return df


def _checks(report: QualityReport) -> set[tuple[str, str]]:
    return {(i.column, i.check) for i in report.issues}


def test_a_resample_has_no_issue() -> None:
    report = quality(_frame(20_000, 0), _frame(20_000, 1))
    assert report.ok, report.issues
    assert report.verdict == "No data-quality issue in 4 columns"


def test_schema_changes_are_found() -> None:
    ref = _frame(1000, 0)
    cur = _frame(1000, 1).drop(columns=["note"]).assign(extra=1.0)
    cur["rooms"] = cur["rooms"].astype(str)
    report = quality(ref, cur)
    assert _checks(report) == {("note", "removed"), ("extra", "added"), ("rooms", "retyped")}
    assert {i.severity for i in report.issues if i.check != "added"} == {"error"}


def test_share_findings_need_size_and_significance() -> None:
    n = 5000
    rng = np.random.default_rng(3)
    ref = _frame(n, 0)
    amount = rng.gamma(2, 50, n)
    amount[: n // 5] = np.nan  # 20% missing instead of 4%
    amount[n // 5: n // 5 + 150] = 1e6  # 3% beyond the reference maximum
    city = rng.choice(["paris", "lyon", "nice", "lille", "brest"], n, p=[0.35, 0.3, 0.2, 0.1, 0.05])
    cur = _frame(n, 1, amount=amount, city=city)
    report = quality(ref, cur)
    assert _checks(report) == {("amount", "missing"), ("amount", "out_of_range"), ("city", "unseen")}
    unseen = next(i for i in report.issues if i.check == "unseen")
    assert "'brest'" in unseen.message and unseen.value == pytest.approx((city == "brest").mean())
    col = {c.column: c for c in report.columns}["amount"]
    assert col.missing_current == pytest.approx(0.2) and col.out_of_range_share == pytest.approx(150 / 4000)
    few = _frame(n, 1)
    few.loc[:9, "city"] = "brest"  # 0.2% of rows: below the floor
    assert ("city", "unseen") not in _checks(quality(ref, few))


def test_all_missing_column_is_an_error_issue() -> None:
    ref, cur = _frame(500, 0), _frame(500, 1, note=np.nan)
    issue = next(i for i in quality(ref, cur).issues if i.column == "note")
    assert issue.check == "all_missing" and issue.severity == "error"


def test_quality_against_a_profile_matches_the_frame() -> None:
    n = 4000
    ref = _frame(n, 0)
    cur = _frame(n, 1, city=np.where(np.arange(n) % 10 == 0, "brest", _frame(n, 1)["city"]))
    assert _checks(quality(profile(ref), cur)) == _checks(quality(ref, cur)) == {("city", "unseen")}


def test_quality_travels_with_drift_and_round_trips() -> None:
    ref = _frame(2000, 0)
    cur = _frame(2000, 1, city="<script>")
    report = drift(ref, cur)
    assert ("city", "unseen") in _checks(report.quality)
    data = json.loads(json.dumps(report.quality.to_dict(), allow_nan=False))
    assert QualityReport.from_dict(data) == report.quality
    page = report._repr_html_() + report.quality._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert list(report.quality.to_frame().columns) == ["column", "check", "severity", "message", "value"]


def test_quality_refuses_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="missing from the reference data: 'nope'"):
        quality(_frame(10, 0), _frame(10, 1), columns=["nope"])
    with pytest.raises(InvalidInputError, match="current data is empty"):
        quality(_frame(10, 0), _frame(10, 1).iloc[:0])

"""Drift statistics against scipy, the large-sample rule, defaults, errors and the report."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlops_magic.errors import InvalidInputError
from mlops_magic.monitoring import DriftReport, drift
from mlops_magic.stats import drift_tests as T


def _samples(kind: str, n1: int, n2: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        return rng.normal(0, 1, n1), rng.normal(0.1, 1.2, n2)
    if kind == "ties":
        return np.round(rng.normal(0, 1, n1), 1), np.round(rng.normal(0.2, 1, n2), 1)
    return rng.integers(0, 5, n1).astype(float), rng.integers(0, 6, n2).astype(float)


@pytest.mark.parametrize("kind", ["continuous", "ties", "integers"])
@pytest.mark.parametrize(("n1", "n2"), [(7, 300), (500, 500), (1200, 800), (30_000, 20_000)])
def test_ks_and_wasserstein_equal_scipy(kind: str, n1: int, n2: int) -> None:
    a, b = _samples(kind, n1, n2)
    d, p = T.ks(a, b)
    ref = stats.ks_2samp(a, b)
    assert abs(d - ref.statistic) < 1e-9
    assert abs(T.wasserstein(a, b) - stats.wasserstein_distance(a, b)) < 1e-9
    if max(n1, n2) <= T.KS_EXACT_MAX_N:
        assert abs(p - ref.pvalue) < 1e-9  # scipy's exact p-value, as scipy's default
    else:  # asymptotic: Kolmogorov limit with Stephens' correction vs scipy's kstwo
        assert abs(p - ref.pvalue) < 2e-3


@pytest.mark.parametrize("k", [1, 2, 3, 50])
def test_chi2_and_jensenshannon_equal_scipy(k: int) -> None:
    rng = np.random.default_rng(k)
    r = rng.integers(1, 200, k).astype(float)
    c = rng.integers(1, 200, k).astype(float)
    stat, p, v = T.chi2_counts(np.append(r, 0), np.append(c, 0))  # an empty category is dropped
    if k == 1:
        assert (stat, p, v) == (0.0, 1.0, 0.0)
    else:
        ref = stats.chi2_contingency(np.stack([r, c]))  # Yates-corrected when k == 2, like ours
        assert abs(stat - ref.statistic) < 1e-9
        assert abs(p - ref.pvalue) < 1e-9
        assert abs(v - np.sqrt(stat / (r.sum() + c.sum()))) < 1e-12
    assert abs(T.jensenshannon_counts(r, c) - jensenshannon(r, c)) < 1e-9


def test_psi_follows_the_textbook_definition() -> None:
    ref, cur = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    p = np.array([0.5, 0.3, 0.2, 1e-4])  # the empty reference bin gets epsilon
    q = np.array([0.4, 0.3, 0.2, 0.1])
    assert T.psi_counts(ref, cur) == pytest.approx(float(((q - p) * np.log(q / p)).sum()), abs=1e-12)
    assert T.psi_counts([10, 20], [10, 20]) == 0.0


def test_frame_drift_statistics_equal_scipy() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(list("abcde"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(0.2, 1, 2000), "c": rng.choice(list("abcdef"), 2000)})
    report = drift(ref, cur, tests={"x": "ks", "c": "chi2"})
    assert abs(report["x"].statistic - stats.ks_2samp(ref.x, cur.x).statistic) < 1e-9
    table = pd.crosstab(pd.concat([ref.c, cur.c]), np.repeat([0, 1], [3000, 2000]))
    assert abs(report["c"].statistic - stats.chi2_contingency(table.to_numpy().T).statistic) < 1e-9
    w = drift(ref, cur, tests="wasserstein", columns=["x"])["x"]
    assert abs(w.statistic - stats.wasserstein_distance(ref.x, cur.x)) < 1e-9
    assert w.effect_size == pytest.approx(w.statistic / ref.x.std(ddof=0))
    js = drift(ref, cur, tests={"c": "jensenshannon"}, columns=["c"])["c"]
    counts = pd.concat([ref.c.value_counts(), cur.c.value_counts()], axis=1).fillna(0).to_numpy()
    assert abs(js.statistic - jensenshannon(counts[:, 0], counts[:, 1])) < 1e-9


def test_a_million_rows_resampled_is_not_flagged_and_a_tenth_std_shift_is() -> None:
    rng = np.random.default_rng(42)
    n = 1_000_000
    ref = pd.DataFrame({"x": rng.normal(10, 3, n)})
    same = pd.DataFrame({"x": rng.normal(10, 3, n)})
    shifted = pd.DataFrame({"x": rng.normal(10, 3, n) + 0.1 * 3})
    for test in (None, "ks", "wasserstein", "psi"):
        kw = {"tests": test} if test else {}
        quiet, loud = drift(ref, same, **kw)["x"], drift(ref, shifted, **kw)["x"]
        assert not quiet.drifted, (test, quiet)
        if test != "psi":  # PSI's 0.1 floor is the industry's; a 0.1-std shift gives PSI ~ 0.01
            assert loud.drifted, (test, loud)
            assert loud.p_value < 1e-6
    assert drift(ref, same)["x"].test == "wasserstein"


def test_default_tests_by_kind_and_size() -> None:
    rng = np.random.default_rng(0)

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"num": rng.normal(size=n), "low": rng.integers(0, 4, n),
                             "cat": rng.choice(["a", "b", "c"], n), "flag": rng.random(n) < 0.5})

    small = drift(frame(500), frame(800))
    large = drift(frame(5000), frame(2000))
    assert [c.test for c in small.columns] == ["ks", "chi2", "chi2", "chi2"]
    assert [c.test for c in large.columns] == ["wasserstein", "jensenshannon", "jensenshannon", "jensenshannon"]
    assert [c.kind for c in large.columns] == ["numeric", "discrete", "categorical", "categorical"]


def test_requested_tests_and_thresholds_apply() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"age": rng.normal(40, 10, 5000)})
    cur = pd.DataFrame({"age": rng.normal(43, 10, 5000)})
    report = drift(ref, cur, tests={"age": "psi"})
    assert report["age"].test == "psi" and report["age"].threshold == 0.1
    assert not drift(ref, cur, threshold=0.5)["age"].drifted
    assert drift(ref, cur, threshold={"age": 0.01})["age"].drifted


def test_bad_input_raises_one_clear_line() -> None:
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    cur = pd.DataFrame({"a": [1.0, 2.0], "c": ["x", "y"]})
    cases = [
        (lambda: drift(ref, cur, columns=["a", "b"]), "missing from the current data: 'b'"),
        (lambda: drift(ref, cur, columns=["c"]), "missing from the reference data: 'c'"),
        (lambda: drift(ref, cur.iloc[:0]), "current data is empty"),
        (lambda: drift(ref.iloc[:0], cur), "reference data is empty"),
        (lambda: drift(ref, cur, tests={"a": "anderson"}), "choose one of ks, wasserstein, chi2"),
        (lambda: drift(ref, ref, tests={"b": "ks"}), "'b' is categorical; use chi2"),
        (lambda: drift(ref, cur, threshold={"zz": 0.1}), "threshold given for 'zz'"),
        (lambda: drift(ref, [1, 2]), "current must be a pandas DataFrame"),
        (lambda: drift(ref[["b"]], pd.DataFrame({"c": [1]})), "share no column"),
        (lambda: drift(ref, cur, alpha=2), "alpha must be in (0, 1)"),
    ]
    for call, text in cases:
        with pytest.raises(InvalidInputError) as info:
            call()
        assert text in str(info.value) and "\n" not in str(info.value)


def test_retyped_and_all_missing_columns_are_reported_not_tested() -> None:
    ref = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0), "c": np.arange(50.0)})
    cur = pd.DataFrame({"a": [str(i) for i in range(40)], "b": np.full(40, np.nan), "c": np.arange(40.0)})
    report = drift(ref, cur)
    assert report["a"].test is None and "retyped" in report["a"].note
    assert report["b"].test is None and "all values missing in the current" in report["b"].note
    assert len(report.tested) == 1
    checks = {(i.column, i.check) for i in report.quality.issues}
    assert {("a", "retyped"), ("b", "all_missing")} <= checks
    with pytest.raises(InvalidInputError, match="numeric in the reference but categorical"):
        drift(ref, cur, columns=["a"])


def test_datetime_and_text_columns_are_tested_only_on_request() -> None:
    n = 200
    ref = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="h"),
                        "id": [f"u{i}" for i in range(n)], "x": np.arange(n) % 13})
    cur = pd.DataFrame({"when": pd.date_range("2024-03-01", periods=n, freq="h"),
                        "id": [f"v{i}" for i in range(n)], "x": np.arange(n) % 13})
    report = drift(ref, cur)
    assert report["when"].kind == "datetime" and report["when"].test is None
    assert report["id"].kind == "text" and report["id"].test is None
    assert [c.column for c in report.tested] == ["x"]
    asked = drift(ref, cur, columns=["when", "id"])
    assert asked["when"].test == "ks" and asked["when"].drifted
    assert asked["id"].test == "chi2"


def test_report_views_and_round_trip() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"<b>x</b>": rng.normal(size=2000), "cat": rng.choice(["<i>", "b&c"], 2000),
                        "k": rng.normal(size=2000)})
    cur = pd.DataFrame({"<b>x</b>": rng.normal(1, 1, 2000), "cat": rng.choice(["<i>", "b&c", "new<"], 2000),
                        "k": rng.normal(size=2000)})
    report = drift(ref, cur, share_threshold=0.6)
    assert report.drift_share == pytest.approx(2 / 3) and report.drifted
    assert report.verdict.startswith("Drift detected in 2 of 3 columns (67%")
    assert list(report.to_frame().columns[:8]) == ["column", "kind", "test", "statistic", "p_value",
                                                    "effect_size", "threshold", "drifted"]
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    again = DriftReport.from_dict(data)
    assert again.columns == report.columns and again.verdict == report.verdict
    assert again.quality == report.quality
    page = report._repr_html_()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "new<" not in page and "<svg" in page and page.index(report.verdict[:10]) < page.index("<table")
    markdown = report._repr_markdown_()
    assert report.verdict in repr(report) and "| column |" in markdown and "<b>" not in markdown
    assert not report["k"].drifted
    assert not drift(ref, cur, share_threshold=0.7).drifted  # 2 of 3 columns is below 70%


def test_importing_monitoring_leaves_pandas_and_scipy_unloaded() -> None:
    code = "import sys, mlops_magic.monitoring; print(sorted({'pandas', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

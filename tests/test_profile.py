"""Reference profiles: compact, JSON round trip, exact where counts are kept, close elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.monitoring import ReferenceProfile, drift, profile, quality


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(11)

    def frame(n: int, shift: float) -> pd.DataFrame:
        df = pd.DataFrame({
            "income": rng.lognormal(10 + shift, 0.6, n),
            "score": rng.normal(shift, 1, n),
            "age": rng.integers(18, 90, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3 - shift / 5, 0.1 + shift / 5]),
            "children": rng.integers(0, 4, n),
        })
        df.loc[df.index[::50], "score"] = np.nan
        return df

    return frame(20_000, 0.0), frame(15_000, 0.3)


def test_profile_is_compact_and_round_trips_through_json(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, _ = frames
    prof = profile(ref)
    text = json.dumps(prof.to_dict(), allow_nan=False)
    assert len(text) < 60_000
    again = ReferenceProfile.from_dict(json.loads(text))
    assert again.to_dict() == prof.to_dict()
    assert again.schema == {c: str(ref[c].dtype) for c in ref.columns}
    assert {n: c.kind for n, c in again.columns.items()} == {
        "income": "numeric", "score": "numeric", "age": "numeric", "plan": "categorical", "children": "discrete"}
    assert again["score"].n_missing == 400 and again["score"].missing_share == pytest.approx(0.02)
    assert again["income"].quantiles is not None and again["age"].counts  # 72 ages: counts, exact
    assert again["plan"].categories[0] == "basic"


def test_counts_make_profile_drift_exact(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames
    prof = ReferenceProfile.from_dict(json.loads(json.dumps(profile(ref).to_dict())))
    for test in ("chi2", "jensenshannon", "psi"):
        on_frame = drift(ref, cur, columns=["plan", "children", "age"], tests=test)
        on_prof = drift(prof, cur, columns=["plan", "children", "age"], tests=test)
        for a, b in zip(on_frame.columns, on_prof.columns):
            assert b.statistic == pytest.approx(a.statistic, abs=1e-9) and b.note == ""
    for test in ("ks", "wasserstein"):
        a, b = drift(ref, cur, tests={"age": test})["age"], drift(prof, cur, tests={"age": test})["age"]
        assert b.statistic == pytest.approx(a.statistic, abs=1e-9)


def test_quantiles_approximate_continuous_columns_closely(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ref, cur = frames
    prof = profile(ref)
    for test, tol in (("ks", 2e-3), ("wasserstein", 5e-3), ("psi", 1e-9)):
        for col in ("income", "score"):
            a, b = drift(ref, cur, tests={col: test})[col], drift(prof, cur, tests={col: test})[col]
            assert abs(a.effect_size - b.effect_size) < tol, (test, col)
            assert a.drifted == b.drifted and "approximate" in b.note


def test_capped_categories_go_to_other() -> None:
    rng = np.random.default_rng(2)
    values = np.array([f"v{i}" for i in range(300)])
    ref = pd.DataFrame({"v": values[rng.zipf(1.5, 5000) % 300]})
    cur = pd.DataFrame({"v": values[rng.zipf(1.5, 5000) % 300]})
    prof = profile(ref, max_categories=20)
    col = prof["v"]
    assert len(col.categories) == 20 and col.other == 5000 - sum(col.counts)
    report = drift(prof, cur, tests="chi2")
    assert report["v"].test == "chi2" and not report["v"].drifted
    assert quality(prof, cur).columns[0].unseen_share is None  # cannot tell unseen from "other"


def test_bad_profiles_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="not a reference profile"):
        ReferenceProfile.from_dict({"columns": []})
    with pytest.raises(InvalidInputError, match="reference data is empty"):
        profile(pd.DataFrame({"a": []}))
    with pytest.raises(InvalidInputError, match="columns missing from the reference"):
        drift(profile(pd.DataFrame({"a": [1.0, 2.0]})), pd.DataFrame({"b": [1.0]}), columns=["b"])

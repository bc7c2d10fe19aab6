"""Fingerprint digests never change: stores hold them, lineage and the stage cache compare them.

``tests/cases/fingerprints.json`` pins the digests the original implementation gave for frames of every
layout (one block, row-major, strided, sliced, mixed blocks), dtype (ints, floats, big-endian, complex,
datetimes with and without a time zone, categoricals, masked, strings, objects), index kind, Series and
arrays; the faster paths must give the same bytes to the hasher, whatever chunk size they copy with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops_magic.tracking import fingerprint as F

PINNED = json.loads((Path(__file__).parent / "cases" / "fingerprints.json").read_text())


def cases() -> dict[str, Any]:
    rng = np.random.default_rng(11)
    block = rng.normal(size=(500, 6))
    out: dict[str, Any] = {}
    out["float block"] = pd.DataFrame(block, columns=[f"c{i}" for i in range(6)])
    out["float block, shared row-major array"] = pd.DataFrame(block.copy(), columns=[f"c{i}" for i in range(6)],
                                                              copy=False)
    out["every other row"] = out["float block"].iloc[::2]
    out["row slice"] = out["float block"].iloc[100:200]
    out["column subset"] = out["float block"][["c4", "c1"]]
    out["transposed"] = out["float block"].iloc[:50].T
    n = 300
    mixed = pd.DataFrame({
        "i8": rng.integers(-100, 100, n).astype("int8"), "i16": rng.integers(-1000, 1000, n).astype("int16"),
        "i32": rng.integers(-10**6, 10**6, n).astype("int32"), "i64": rng.integers(-10**12, 10**12, n),
        "u8": rng.integers(0, 255, n).astype("uint8"), "u64": rng.integers(0, 10**12, n).astype("uint64"),
        "f32": rng.normal(size=n).astype("float32"), "f64": rng.normal(size=n),
        "b": rng.random(n) < 0.5, "c128": rng.normal(size=n) + 1j * rng.normal(size=n),
        "ts": pd.date_range("2024-01-01", periods=n, freq="min"),
        "ts_s": pd.date_range("2024-01-01", periods=n, freq="D").astype("datetime64[s]"),
        "td": pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "tz": pd.date_range("2024-03-30", periods=n, freq="h", tz="Europe/Paris"),
        "cat": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        "ocat": pd.Categorical(rng.choice([3, 1, 2], n), ordered=True),
        "Int64": pd.array(rng.choice([1, 2, None], n), dtype="Int64"),
        "boolean": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
        "Float64": pd.array(rng.choice([0.5, 1.5, None], n), dtype="Float64"),
        "str": rng.choice(["Lyon", "Paris", "Nice"], n),
        "obj": pd.Series(rng.choice(["a", None, "b"], n), dtype=object),
        "mixed_obj": pd.Series([1, "a", 2.5] * 100, dtype=object),
        "nan": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "be": rng.normal(size=n).astype(">f8"),
        "be_i": rng.integers(0, 100, n).astype(">i4"),
    })
    out["mixed"] = mixed
    out["mixed, string index"] = mixed.set_axis([f"r{i}" for i in range(n)])
    out["mixed, datetime index"] = mixed.set_index("ts")
    out["range index with step"] = out["float block"].set_axis(pd.RangeIndex(5, 5 + 2 * 500, 2))
    out["int index"] = out["float block"].set_axis(rng.permutation(500))
    out["multiindex columns"] = pd.DataFrame(block[:, :4], columns=pd.MultiIndex.from_product([["a", "b"], [1, 2]]))
    out["int column labels"] = pd.DataFrame(block)
    out["empty"] = pd.DataFrame()
    out["no rows"] = pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)})
    after_insert = pd.DataFrame(block.copy(), columns=[f"c{i}" for i in range(6)])
    after_insert["new"] = 1.5
    after_insert["c0"] = after_insert["c0"] * 2
    out["blocks after inserts"] = after_insert
    out["float series"] = pd.Series(block[:, 0], name="x")
    out["series from a frame"] = out["float block"]["c2"]
    out["strided series"] = out["float block"]["c2"].iloc[::3]
    out["categorical series"] = mixed["cat"]
    out["masked series"] = mixed["Int64"]
    out["string series"] = mixed["str"]
    out["unnamed series"] = pd.Series(np.arange(10))
    out["tuple-named series"] = pd.Series(np.arange(10.0), name=("a", 1))
    out["array 2d"] = block
    out["array fortran"] = np.asfortranarray(block)
    out["array strided"] = block[::2, 1:4]
    out["array transposed"] = block.T
    out["array 3d"] = rng.normal(size=(4, 5, 6))
    out["array 0d"] = np.array(3.5)
    out["array big-endian"] = block.astype(">f8")
    out["array int32"] = rng.integers(0, 9, (30, 3)).astype("int32")
    out["array bool"] = rng.random(40) < 0.3
    out["array datetime"] = np.arange("2024-01-01", "2024-02-01", dtype="datetime64[D]")
    out["array object"] = np.array(["a", "b", None, 3], dtype=object)
    out["array unicode"] = np.array(["alpha", "beta"])
    out["array empty"] = np.empty((0, 3))
    big = pd.DataFrame(rng.normal(size=(70_000, 3)), columns=list("xyz"))  # columns over xxhash's 64 KiB
    out["big float block"] = big
    out["big float block, row-major"] = pd.DataFrame(big.to_numpy().copy(), columns=list("xyz"), copy=False)
    out["big strided"] = big.iloc[::2]
    out["big array fortran"] = np.asfortranarray(big.to_numpy())
    return out


def _digest(value: Any) -> str:
    try:
        return F.fingerprint(value).digest
    except ValueError as exc:
        return f"error: {type(exc).__name__}"


@pytest.mark.parametrize("chunk", [F._CHUNK, 4096, 24])  # the default, and copies of a few rows at a time
def test_digests_are_the_pinned_ones(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(F, "_CHUNK", chunk)
    got = {name: _digest(value) for name, value in cases().items()}
    assert got == PINNED["digests"]


def test_schemas_are_the_pinned_ones() -> None:
    for name, value in cases().items():
        if name in PINNED["schemas"]:
            assert F.fingerprint(value).schema == PINNED["schemas"][name], name


def test_columns_are_hashed_without_copies_or_series(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-block float frame's columns go to the hasher as views of the block: no copy, no Series."""
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(1000, 4)), columns=list("abcd"))
    fed: list[Any] = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def update(self, data: Any) -> None:
            fed.append(data)
            self.inner.update(data)

        def hexdigest(self) -> str:
            return str(self.inner.hexdigest())

    real = F._hasher
    monkeypatch.setattr(F, "_hasher", lambda: Spy(real()))
    monkeypatch.setattr(pd.DataFrame, "iloc", property(lambda self: pytest.fail("a Series was built per column")))
    digest = F.fingerprint(df).digest
    block = df._mgr.blocks[0].values
    big = [d for d in fed if getattr(d, "nbytes", 0) == 8000]
    assert len(big) == 4 and all(np.shares_memory(d, block) for d in big)
    monkeypatch.undo()
    assert digest == F.fingerprint(df).digest

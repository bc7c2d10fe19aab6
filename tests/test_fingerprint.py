"""Fingerprints: equal data → equal digest (across processes), any change → another digest."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _support import PYTHON, python_env

from mlops_magic.errors import InvalidInputError, NotFoundError
from mlops_magic.tracking.fingerprint import fingerprint, fingerprint_path


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "age": rng.integers(18, 90, 200),
        "income": rng.normal(50_000, 12_000, 200),
        "city": rng.choice(["Lyon", "Paris", None], 200),
        "plan": pd.Categorical(rng.choice(["basic", "pro"], 200)),
        "churned": pd.array(rng.choice([1, 0, None], 200), dtype="Int64"),
        "seen": pd.date_range("2024-01-01", periods=200, freq="h"),
    })


def test_equal_frames_have_equal_fingerprints_with_schema_and_rows() -> None:
    a, b = fingerprint(frame()), fingerprint(frame())
    assert a.digest == b.digest and a.rows == 200 and a.kind == "dataframe"
    assert a.schema["plan"] == "category" and a.schema["churned"] == "Int64"


@pytest.mark.parametrize("change", [
    lambda df: df.assign(income=df.income.where(df.index != 3, df.income + 1e-9)),
    lambda df: df.rename(columns={"age": "Age"}),
    lambda df: df.astype({"age": "int32"}),
    lambda df: df.set_axis(df.index + 1),
    lambda df: df[list(reversed(df.columns))],
    lambda df: df.iloc[:-1],
    lambda df: df.assign(city=df.city.where(df.index != 5, "Nice")),
    lambda df: df.assign(plan=df.plan.cat.add_categories(["enterprise"])),
])
def test_any_change_gives_another_fingerprint(change) -> None:
    assert fingerprint(change(frame())).digest != fingerprint(frame()).digest


def test_fingerprint_is_stable_across_processes() -> None:
    code = ("import numpy as np, pandas as pd; from mlops_magic.tracking.fingerprint import fingerprint;"
            "df = pd.DataFrame({'x': np.arange(1000) * 0.5, 's': ['a', 'b'] * 500});"
            "print(fingerprint(df).digest)")
    digests = {subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(
        PYTHONHASHSEED=str(seed))).stdout.strip() for seed in (1, 2)}
    local = fingerprint(pd.DataFrame({"x": np.arange(1000) * 0.5, "s": ["a", "b"] * 500})).digest
    assert digests == {local}


def test_arrays_series_and_byte_order() -> None:
    arr = np.arange(12, dtype="<f8").reshape(3, 4)
    assert fingerprint(arr).digest == fingerprint(arr.astype(">f8")).digest
    assert fingerprint(arr).digest != fingerprint(arr.T).digest
    assert fingerprint(arr).rows == 3
    s = pd.Series([1, 2, 3], name="y")
    assert fingerprint(s).digest != fingerprint(s.rename("z")).digest


def test_files_and_globs(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    a = tmp_path / "data" / "a.csv"
    a.write_text("x,y\n1,2\n")
    (tmp_path / "data" / "b.csv").write_text("x,y\n3,4\n")
    one = fingerprint_path(a)
    assert one.kind == "file" and one.rows == 2 and one.size == a.stat().st_size
    many = fingerprint_path("data/*.csv", base=tmp_path)
    assert many.kind == "files" and many.schema == {"files": "2", "path": "data/*.csv"}
    a.write_text("x,y\n1,3\n")
    assert fingerprint_path(a).digest != one.digest
    assert fingerprint_path("data/*.csv", base=tmp_path).digest != many.digest
    with pytest.raises(NotFoundError, match="matches no file"):
        fingerprint_path("nothing/*.csv", base=tmp_path)


def test_unsupported_object_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="DataFrame, Series, numpy array"):
        fingerprint({"a": 1})


def test_package_level_fingerprint_stays_a_function_after_the_submodule_is_imported() -> None:
    import importlib

    import mlops_magic

    importlib.import_module("mlops_magic.tracking.fingerprint")
    importlib.import_module("mlops_magic.ipython.hooks")
    assert callable(mlops_magic.fingerprint)
    assert mlops_magic.fingerprint(np.arange(3)).kind == "array"

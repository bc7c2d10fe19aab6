"""The stage cache's parts on their own: what the code reads, what a key is made of, what can be stored."""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import pathlib

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from mlops_magic.cache.analysis import analyse
from mlops_magic.cache.codecs import Unstorable, decode, encode, unframe
from mlops_magic.cache.key import stage_key
from mlops_magic.cache.replay import replay_module
from mlops_magic.errors import InvalidInputError
from mlops_magic.tracking.fingerprint import fingerprint


def round_trip(value, label="v"):
    encoded = encode(value, label)
    objects = [unframe(o) for o in encoded.objects]
    return decode(encoded.tree, lambda i: objects[i], label)


# -- analysis -------------------------------------------------------------------------------------------
def test_reads_are_the_names_used_before_the_code_binds_them() -> None:
    facts = analyse(
        "import pandas as pd\n"
        "def helper(x, k=K):\n    local = x * scale\n    return local + k\n"
        "df = pd.DataFrame({'a': range(rows)})\n"
        "total += 1\n"
        "for i in range(n):\n    acc = base + i\n    last = acc\n"
        "squares = [v * v for v in values]\n"
        "f = lambda q: q + w\n"
        "out = df.assign(b=helper(df.a))\n")
    assert facts.reads == ["K", "scale", "range", "rows", "total", "n", "base", "values", "w"]
    assert facts.imports == ["pandas"]
    assert facts.replayed == {"pd", "helper"}
    assert facts.uncacheable is None


def test_magics_count_their_arguments_and_the_ones_a_restore_cannot_repeat_refuse_caching() -> None:
    line = "get_ipython().run_line_magic('mlops', 'fingerprint {data_glob} --role input --name raw')\n"
    facts = analyse(line + "x = 1")
    assert "data_glob" in facts.reads and facts.declared_inputs == ["{data_glob}"] and facts.uncacheable is None
    assert analyse("get_ipython().run_line_magic('mlops', 'params lr={lr}')").logs_params
    assert analyse("get_ipython().run_line_magic('mlops', 'gate \"auc > 0.8\"')").uncacheable == \
        "it runs %mlops gate, which acts on the store; a restore would not do it again"
    assert analyse("get_ipython().system('ls')").uncacheable.startswith("it runs a shell command")
    assert analyse("eval('x + 1')").uncacheable == "it calls eval(), which reads names the key cannot see"
    assert analyse("ip = get_ipython()").uncacheable == "it uses get_ipython(), which the cache cannot see into"
    assert analyse("x = (").uncacheable.startswith("its code does not parse")
    timed = analyse("get_ipython().run_cell_magic('time', '', 'y = x + offset\\n')")
    assert timed.reads == ["x", "offset"] and timed.uncacheable is None


def test_what_the_key_cannot_see_is_a_warning() -> None:
    assert analyse("import numpy as np\nx = np.random.rand(3)").warnings == [
        "it calls numpy.random.rand without a seed: a restore repeats the first run's draws"]
    assert analyse("import numpy as np\nrng = np.random.default_rng()\nx = rng.normal()").warnings[0].startswith(
        "it calls numpy.random.default_rng without a seed")
    assert analyse("import numpy as np\nrng = np.random.default_rng(0)\nx = rng.normal()").warnings == []
    assert analyse("import random\nrandom.seed(1)\nx = random.random()").warnings == []
    assert analyse("from datetime import datetime\nnow = datetime.now()").warnings == [
        "it reads the clock (datetime.datetime.now): a restore keeps the first run's time"]
    assert analyse("import pandas as pd\ndf = pd.read_csv('a.csv')").reads_outside == ["pandas.read_csv"]
    assert analyse("with open('log.txt', 'w') as f:\n    f.write('x')").reads_outside == []
    assert analyse("with open('in.txt') as f:\n    text = f.read()").reads_outside == ["open"]


def test_a_restore_reruns_only_plain_imports_and_definitions() -> None:
    tree = ast.parse("import os\nfrom math import sqrt\ndef f(x=1):\n    return x\n"
                     "@decorate(3)\ndef g():\n    pass\nclass C:\n    size = 3\n    def m(self):\n        return 1\n"
                     "df = load()\nprint(df)\nimport json\njson = 3\n")
    kept = ast.unparse(replay_module(tree))
    assert kept == "import os\nfrom math import sqrt\n\ndef f(x=1):\n    return x\n\nclass C:\n    size = 3\n\n" \
                   "    def m(self):\n        return 1"
    timed = ast.parse("get_ipython().run_cell_magic('time', '', 'import json\\nrows = json.loads(text)\\n')")
    assert ast.unparse(replay_module(timed)) == "import json"  # a %%time cell's body, unwrapped
    assert analyse(ast.unparse(timed)).replayed == {"json"}


# -- keys -----------------------------------------------------------------------------------------------
def test_the_key_follows_values_not_objects_and_names_what_it_cannot_fingerprint(tmp_path) -> None:
    x = np.random.RandomState(0).rand(100, 3)
    y = (x[:, 0] > 0.5).astype(int)
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)
    namespace = {"df": pd.DataFrame(x, columns=list("abc")), "model": model, "lr": 0.1, "np": np}
    code = "import sklearn\nout = model.predict(df.values) * lr + np.zeros(1)"
    first = stage_key(code, namespace)
    assert first.digest and first.reason is None
    assert set(first.parts["variables"]) == {"df", "model", "lr", "np"}
    assert first.parts["packages"]["sklearn"].startswith("scikit_learn==")
    same = {**namespace, "df": namespace["df"].copy(),
            "model": RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)}
    assert stage_key(code, same).digest == first.digest
    assert stage_key(code, {**namespace, "lr": 0.2}).digest != first.digest
    refit = RandomForestClassifier(n_estimators=3, random_state=1).fit(x, y)
    assert stage_key(code, {**namespace, "model": refit}).digest != first.digest
    assert stage_key(code + "\n", namespace).digest == first.digest  # trailing blank lines are not code
    with open(tmp_path / "f.txt", "w") as handle:
        blocked = stage_key("text = handle.read()", {"handle": handle})
    assert blocked.digest is None and blocked.reason == \
        "it reads handle, a _io.TextIOWrapper, which the key cannot fingerprint"
    missing = stage_key("x = 1", {}, inputs=["nothing-*.csv"], cwd=tmp_path)
    assert missing.digest is None and missing.reason.startswith("its input nothing-*.csv: the glob")


def test_declared_inputs_are_fingerprinted_by_content(tmp_path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    key = stage_key("y = 1", {}, inputs=["*.csv"], cwd=tmp_path)
    (tmp_path / "a.csv").write_text("x\n2\n")
    assert stage_key("y = 1", {}, inputs=["*.csv"], cwd=tmp_path).digest != key.digest
    via_magic = "get_ipython().run_line_magic('mlops', 'fingerprint {path} --role input')\ny = 1"
    first = stage_key(via_magic, {"path": "a.csv"}, cwd=tmp_path)
    (tmp_path / "a.csv").write_text("x\n3\n")
    assert first.parts["inputs"] and stage_key(via_magic, {"path": "a.csv"}, cwd=tmp_path).digest != first.digest


# -- codecs ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    1, 2**70, 1.5, "s", None, True, [1, (2, 3)], {"a": 1, 2: "b", (1, 2): [3]}, {1, 2}, frozenset([3]), b"xy",
    dt.datetime(2020, 1, 1, 12, tzinfo=dt.timezone.utc), dt.date(2020, 1, 2), dt.timedelta(3, 4, 5),
    decimal.Decimal("1.10"), pathlib.PurePosixPath("/a/b"), np.float32(1.5), np.int64(3), np.bool_(True),
])
def test_json_values_come_back_with_their_types(value) -> None:
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_frames_series_arrays_and_estimators_come_back_equal_by_fingerprint() -> None:
    frames = [
        pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": pd.Categorical(["u", "v", "u"]),
                      "d": pd.array([1, None, 3], dtype="Int64"),
                      "t": pd.to_datetime(["2020-01-01", "2021-01-01", None]).tz_localize("UTC")},
                     index=pd.Index(["p", "q", "r"], name="key")),
        pd.DataFrame(np.arange(6).reshape(2, 3)),  # integer column labels
        pd.DataFrame({"o": pd.Categorical(["a", "b"], categories=["b", "a", "z"], ordered=True)}),
        pd.DataFrame({"a": range(10)}).iloc[3:6],
        pd.DataFrame(),
    ]
    for frame in frames:
        back = round_trip(frame)
        assert fingerprint(back).digest == fingerprint(frame).digest
        assert list(back.dtypes) == list(frame.dtypes)
    series = pd.Series([1.5, 2.5], name=("a", 1), index=[10, 20])
    assert fingerprint(round_trip(series)).digest == fingerprint(series).digest
    array = np.arange(12.0).reshape(3, 4)
    assert fingerprint(round_trip(array)).digest == fingerprint(array).digest
    x = np.random.RandomState(0).rand(30, 2)
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, np.arange(30) % 2)
    back = round_trip({"model": model, "x": x})
    assert (back["model"].predict(x) == model.predict(x)).all()


@pytest.mark.parametrize(("value", "message"), [
    (pd.DataFrame({"m": [1, "a"]}), "v cannot be written as an Arrow table"),
    (np.array([object()]), "v is an array of Python objects, which .npy cannot hold without pickle"),
    (lambda x: x, "v is a function, which the cache cannot store without pickle"),
    ({"f": open}, "v holds a builtin_function_or_method, which the cache cannot store without pickle"),
    (pd.DataFrame({"a": [1]}, columns=pd.MultiIndex.from_tuples([("a", "b")])),
     "v has MultiIndex columns, which the cache does not store"),
])
def test_what_no_safe_format_holds_is_one_line_naming_it(value, message) -> None:
    with pytest.raises(Unstorable) as err:
        encode(value, "v")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


# -- the stage header ------------------------------------------------------------------------------------
def test_the_stage_header_takes_cache_inputs_and_outputs() -> None:
    from mlops_magic.tracking.stages import STAGE_USAGE, StageSpec, parse_stage_args

    assert parse_stage_args("data --cache --inputs 'data/*.csv' b.csv --outputs out.parquet --name d") == StageSpec(
        kind="data", name="d", cache=True, inputs=("data/*.csv", "b.csv"), outputs=("out.parquet",))
    assert parse_stage_args("train --inputs=a.csv --inputs b.csv --outputs=m.skops") == StageSpec(
        kind="train", name="train", inputs=("a.csv", "b.csv"), outputs=("m.skops",))
    assert parse_stage_args("data") == StageSpec(kind="data", name="data")
    for header, message in [
        ("data --inputs", f"--inputs needs a path or glob; usage: {STAGE_USAGE}"),
        ("data --outputs --cache", f"--outputs needs a path or glob; usage: {STAGE_USAGE}"),
        ("data --inputs=", "--inputs needs a non-empty path or glob"),
        ("data --cahce", f"unexpected '--cahce' after the stage kind; usage: {STAGE_USAGE}"),
    ]:
        with pytest.raises(InvalidInputError) as err:
            parse_stage_args(header)
        assert str(err.value) == message

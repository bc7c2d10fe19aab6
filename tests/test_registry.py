"""Model registry: versions with lineage, safe files, aliases, champion/challenger, rollback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from mlops_magic.errors import ConflictError, GateFailedError, InvalidInputError, MlopsError, NotFoundError
from mlops_magic.registry import aliases as registry_aliases
from mlops_magic.registry import api as registry_api
from mlops_magic.registry import gates
from mlops_magic.registry import model_files as model_io
from mlops_magic.registry import versions as registry


@pytest.fixture(scope="module")
def data():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(40, 10, 300), "plan": rng.integers(0, 3, 300),
                      "tenure": rng.normal(size=300)})
    y = (X.age / 40 + X.tenure > 1).astype(int)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


def _new_run(session, **metrics):
    if session.implicit_run_id:
        session.end_run()
    session.log_metrics(metrics)


def test_register_records_schema_metrics_gates_lineage(session, data):
    X, _, clf = data
    with session.stage("data"):
        session.log_fingerprint(X, "X_train", "output")
    with session.stage("evaluate"):
        session.log_metrics({"accuracy": 0.91, "auc": 0.97})
        gates.gate("accuracy >= 0.85 and auc >= 0.9")
    with session.stage("deploy"):
        mv = registry_api.register_model(clf, "churn", input=X)
    assert str(mv) == "churn v1" and mv.flavour == "sklearn" and mv.format == "skops"
    assert mv.input_schema == {"kind": "dataframe", "columns": [
        {"name": "age", "dtype": "float64"}, {"name": "plan", "dtype": "int64"},
        {"name": "tenure", "dtype": "float64"}]}
    assert mv.metrics == {"accuracy": 0.91, "auc": 0.97}
    assert mv.gates_passed is True and mv.gates[0]["expression"] == "accuracy >= 0.85 and auc >= 0.9"
    assert mv.run_id == session.recording_run_id() and mv.stage_id is not None
    assert mv.data_fingerprint["rows"] == 300
    assert mv.lineage[0]["digest"] == mv.data_fingerprint["digest"]  # same frame: lineage joins up
    assert mv.model_type == "sklearn.linear_model._logistic.LogisticRegression"
    again = registry_api.register_model(clf, "churn", input=X)
    assert again.version == 2
    assert [v.version for v in registry.versions_of_run(session.store, mv.run_id)] == [1, 2]
    from mlops_magic.monitoring.records import load_profile

    assert load_profile(session.store, "churn@1")[2] == 1  # monitors compare against the training data
    sources = registry.data_sources(session.store, "churn@1")  # lineage: model → the stage that made the data
    assert sources[0]["stage"] == "data" and sources[0]["role"] == "output" and sources[0]["name"] == "X_train"
    loaded = registry_api.load_model("churn@1")
    assert (loaded.predict(X) == clf.predict(X)).all()


def test_refs_resolve_latest_version_and_alias(session, data):
    X, _, clf = data
    for _ in range(3):
        registry_api.register_model(clf, "churn", input=X)
    registry_api.promote("churn", "production", version=2)
    store = session.store
    assert registry.resolve_version_number(store, "churn") == ("churn", 3)
    assert registry.resolve_version_number(store, "churn@latest") == ("churn", 3)
    assert registry.resolve_version_number(store, "churn@1") == ("churn", 1)
    assert registry.resolve_version_number(store, "churn@production") == ("churn", 2)
    assert registry.get_version(store, "churn@2").aliases == ["production"]
    for ref, message in [("nope", "no model 'nope'; registered models: churn"),
                         ("churn@7", "has no version 7"),
                         ("churn@staging", "has no alias 'staging'; its aliases: production")]:
        with pytest.raises(NotFoundError, match=message):
            registry_api.load_model(ref)
    with pytest.raises(InvalidInputError, match="model name"):
        registry_api.load_model("bad name@1")


def test_not_a_model_writes_nothing(session, data):
    X, _, _ = data
    with pytest.raises(InvalidInputError, match="is a DataFrame, not a model: it has no predict"):
        registry_api.register_model(X, "churn")
    assert session.store.db.query("SELECT * FROM models") == []
    assert not list((session.store.artifacts.root / "objects").glob("*/*")) if \
        (session.store.artifacts.root / "objects").exists() else True


def test_skops_allowlist_is_computed_at_save_and_checked_at_load(session, data):
    from sklearn.ensemble import RandomForestClassifier

    X, y, clf = data
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    mv = registry_api.register_model(forest, "forest", input=X)
    assert "sklearn.tree._tree.Tree" in mv.trusted_types
    assert (registry_api.load_model("forest").predict(X) == forest.predict(X)).all()
    # a file asking for more than was recorded at save time is refused
    saved = model_io.dump(forest)
    with pytest.raises(MlopsError, match="asks for types it was not saved with"):
        model_io.load(saved.data, "skops", [], label="forest v9")
    assert model_io.dump(clf).trusted_types == []


def test_corrupt_or_missing_model_file(session, data):
    X, _, clf = data
    mv = registry_api.register_model(clf, "churn", input=X)
    path = session.store.artifacts.path_for(mv.digest)
    path.chmod(0o644)
    path.write_bytes(b"not a zip file")
    with pytest.raises(MlopsError, match="churn v1 is corrupt"):
        registry_api.load_model("churn")
    path.unlink()
    with pytest.raises(MlopsError, match="churn v1 is missing"):
        registry_api.load_model("churn")
    with pytest.raises(MlopsError, match="corrupt or unreadable"):
        model_io.load(b"garbage", "skops", [], label="x")


def test_pickle_warns_and_needs_trust(session, data):
    X, _, clf = data
    with pytest.warns(model_io.UnsafeFormatWarning, match="arbitrary code"):
        registry_api.register_model(clf, "churn", input=X, format="joblib")
    with pytest.raises(MlopsError, match=r"joblib file .* trust=True"):
        registry_api.load_model("churn")
    assert (registry_api.load_model("churn", trust=True).predict(X) == clf.predict(X)).all()
    with pytest.raises(InvalidInputError, match="unknown model format"):
        registry_api.register_model(clf, "churn", format="onnx")


class Doubler:
    """A model class of the user's own: skops will have to trust (and build) it at load."""

    def __init__(self) -> None:
        self.factor = 2.0

    def predict(self, X):
        return np.asarray(X, dtype=float)[:, 0] * self.factor


def test_custom_classes_warn_at_registration_naming_the_trusted_types(session, data):
    import warnings

    X, y, clf = data
    with pytest.warns(model_io.TrustedTypesWarning) as caught:
        registry_api.register_model(Doubler(), "doubler", input=X)
    [warning] = [w for w in caught if w.category is model_io.TrustedTypesWarning]
    text = str(warning.message)
    assert f"{__name__}.Doubler" in text and "__setstate__" in text and "\n" not in text
    assert warning.filename == __file__  # points at the caller, so each call site warns
    assert registry_api.load_model("doubler").predict(X.head(3)).tolist() == (X.age.head(3) * 2).tolist()
    from sklearn.tree import DecisionTreeClassifier  # needs sklearn.tree._tree.Tree: library, no warning

    with warnings.catch_warnings():
        warnings.simplefilter("error", model_io.TrustedTypesWarning)
        registry_api.register_model(DecisionTreeClassifier(max_depth=2).fit(X, y), "tree", input=X)
        registry_api.register_model(clf, "churn", input=X)


def test_promote_refuses_failed_gate_naming_the_clause(session, data):
    X, _, clf = data
    session.log_metrics({"accuracy": 0.8, "auc": 0.95})
    gates.gate("accuracy >= 0.85 and auc >= 0.9", soft=True)
    registry_api.register_model(clf, "churn", input=X)
    with pytest.raises(GateFailedError, match=r"churn v1 failed its quality gate: accuracy >= 0.85 \(got 0.8\)"):
        registry_api.promote("churn", "production")
    assert session.store.db.query("SELECT * FROM aliases") == []
    assert registry_aliases.history(session.store, "churn") == []


def test_champion_challenger_both_directions_and_audit(session, data):
    X, _, clf = data
    for acc in (0.90, 0.93, 0.91):
        _new_run(session, accuracy=acc, rmse=1 - acc, custom=acc)
        registry_api.register_model(clf, "churn", input=X)
    first = registry_api.promote("churn", "production", version=1, reason="first release")
    assert first.promoted and first.change.from_version is None
    better = registry_api.promote("churn", "production", version=2, if_better="accuracy")
    assert better.promoted and better.comparison["better"] and better.comparison["champion"] == 1
    worse = registry_api.promote("churn", "production", version=3, if_better="rmse")
    assert not worse.promoted and "not < champion v2" in worse.change.reason
    assert registry.resolve_version_number(session.store, "churn@production")[1] == 2
    with pytest.raises(InvalidInputError, match="--higher-is-better or --lower-is-better"):
        registry_api.promote("churn", "production", version=3, if_better="custom")
    lower = registry_api.promote("churn", "production", version=3, if_better="custom", higher_is_better=False)
    assert lower.promoted
    with pytest.raises(InvalidInputError, match="has no metric 'auc'"):
        registry_api.promote("churn", "staging", if_better="auc")
    rows = registry_api.alias_history("churn")
    assert list(rows.action) == ["promote", "refused", "promote", "promote"]
    assert list(rows.to_version) == [3, 3, 2, 1]
    assert rows.reason.iloc[-1] == "first release"
    assert rows.run_id.iloc[0] == session.recording_run_id()


def test_rollback_walks_back_through_history(session, data):
    X, _, clf = data
    for _ in range(3):
        registry_api.register_model(clf, "churn", input=X)
    for v in (1, 2, 3):
        registry_api.promote("churn", "production", version=v)
    assert registry_api.rollback("churn", "production", reason="bad latency").change.to_version == 2
    assert registry_api.rollback("churn", "production").change.to_version == 1
    with pytest.raises(ConflictError, match="no earlier version"):
        registry_api.rollback("churn", "production")
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        registry_api.rollback("churn", "staging")
    assert registry_api.load_model("churn@production") is not None
    history = registry_aliases.history(session.store, "churn", "production")
    assert [(h.action, h.from_version, h.to_version) for h in history[:2]] == [("rollback", 2, 1),
                                                                             ("rollback", 3, 2)]


def test_direction_inference():
    assert registry_aliases.metric_direction("val_accuracy") is True
    assert registry_aliases.metric_direction("roc_auc") is True
    assert registry_aliases.metric_direction("test-logloss") is False
    assert registry_aliases.metric_direction("mae") is False
    with pytest.raises(InvalidInputError):
        registry_aliases.metric_direction("throughput")


def test_concurrent_registration_in_two_processes(session, data, tmp_path):
    script = textwrap.dedent(f"""
        import time, sys
        from sklearn.dummy import DummyClassifier
        import mlops_magic.registry.api as r
        clf = DummyClassifier().fit([[0], [1]], [0, 1])
        while time.time() < {time.time() + 1.5}:
            time.sleep(0.001)
        print(" ".join(str(r.register_model(clf, "race").version) for _ in range(6)))
    """)
    env = {**__import__("os").environ, "MLOPS_STORE": str(tmp_path / "store")}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=tmp_path) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    versions = [int(v) for out, _ in outs for v in out.split()]
    assert sorted(versions) == list(range(1, 13))

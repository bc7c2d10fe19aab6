"""Monitoring models served anywhere (issue 24, item 5): predictions made elsewhere recorded as served traffic,
and versions registered from reference predictions without a model object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression
from test_serving import running

import mlops_magic as mlops
from mlops_magic.cli.main import main
from mlops_magic.errors import GateFailedError, InvalidInputError, MlopsError
from mlops_magic.monitoring.performance import performance
from mlops_magic.store import monitoring as tables

COLUMNS = ["a", "b", "c"]


def make(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    X = pd.DataFrame(rng.normal(size=(n, 3)) + shift, columns=COLUMNS)
    logit = 1.5 * X.a - 1.0 * X.b + 0.5 * X.c
    return X, np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def _served(store, model: str) -> list[tuple]:
    rows = store.db.query("SELECT version, record, request_id, prediction, proba FROM served_inputs "
                          "WHERE model = ? ORDER BY id", (model,))
    return [tuple(r) for r in rows]


def test_a_batch_logged_is_recorded_as_the_server_records_it(session, rng) -> None:
    """The same rows answered by `mlops serve` and logged with log_predictions: identical stored rows."""
    X, y = make(rng, 3000)
    clf = LogisticRegression().fit(X, y)
    mlops.register_model(clf, "served", input=X, labels=y)
    mlops.register_model(clf, "batch", input=X, labels=y)
    batch, _ = make(rng, 50)
    ids = [f"r{i}" for i in range(len(batch))]
    from mlops_magic.serving.app import create_app

    app = create_app("served", poll_interval=0.05)
    with running(app) as client:
        answer = client.post("/predict", json={"records": batch.assign(request_id=ids).to_dict("records")})
        assert answer.status_code == 200
    app.state.holder.flush()
    logged = mlops.log_predictions("batch", inputs=batch, predictions=clf.predict(batch),
                                   probabilities=clf.predict_proba(batch), ids=ids)
    assert (logged.rows, logged.version, logged.ids_generated) == (50, 1, False)
    assert _served(session.store, "batch") == _served(session.store, "served")
    mlops.log_labels("batch", ids, clf.predict(batch))
    mlops.log_labels("served", ids, clf.predict(batch))
    a, b = performance(session.store, "batch", min_rows=10), performance(session.store, "served", min_rows=10)
    assert a.windows[0].realized == b.windows[0].realized and a.windows[0].estimated == b.windows[0].estimated


def test_drift_labels_realized_and_estimated_performance_on_a_batch_scored_elsewhere(session, rng) -> None:
    X, y = make(rng, 4000)
    clf = LogisticRegression().fit(X, y)
    Xt, yt = make(rng, 2000)
    mlops.register_model(clf, "churn", input=Xt, labels=yt)
    mlops.promote("churn", "production")
    # a batch job scored three days of customers elsewhere; day 2 has shifted inputs
    frames = []
    for day in range(3):
        Xd, yd = make(rng, 600, shift=0.8 * (day == 2))
        frames.append(Xd.assign(customer_id=[f"c{day}-{i}" for i in range(600)], truth=yd,
                                scored_at=pd.Timestamp("2026-11-01", tz="UTC") + pd.Timedelta(days=day)
                                + pd.to_timedelta(np.arange(600), unit="s")))
    batch = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)  # out of time order
    logged = mlops.log_predictions("churn@production", inputs=batch[[*COLUMNS, "customer_id"]],
                                   predictions=clf.predict(batch[COLUMNS]),
                                   probabilities=pd.DataFrame(clf.predict_proba(batch[COLUMNS]), columns=clf.classes_),
                                   ids=batch.customer_id, times=batch.scored_at)
    assert logged.rows == 1800 and not logged.ids_generated
    received = [r[0] for r in session.store.db.query("SELECT received FROM served_inputs ORDER BY id")]
    assert received == sorted(received)  # kept in time order, as a server appends them

    recent = mlops.drift("model:churn@production", "served:churn@600", model="churn")
    assert recent.drifted and set(recent.drifted_columns) >= {"a"}
    early = mlops.served_inputs("churn", limit=1800).iloc[:600]
    assert not mlops.drift("model:churn@production", early[COLUMNS], record=False).drifted

    estimated = mlops.performance("churn", window="1d", min_rows=100)
    assert [w.rows for w in estimated.windows] == [600, 600, 600]
    assert [w.source for w in estimated.windows] == ["estimated"] * 3
    truth = batch.sort_values("scored_at")
    labels = mlops.log_labels("churn", truth.customer_id, truth.truth)
    assert (labels.stored, labels.unknown) == (1800, 0)
    realized = mlops.performance("churn", window="1d", min_rows=100)
    assert [w.source for w in realized.windows] == ["realized"] * 3
    day0 = truth.iloc[:600]
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score(day0.truth == "yes", clf.predict_proba(day0[COLUMNS])[:, 1])
    assert realized.windows[0].realized["auc"] == pytest.approx(expected, abs=1e-12)
    assert abs(realized.windows[0].estimated["auc"] - expected) < 0.05  # CBPE on the same rows


def test_a_version_registered_from_predictions_only_is_monitored_and_gated(session, rng) -> None:
    """A vendor's model: we never see it, only what it answered on a labelled reference set."""
    X, y = make(rng, 4000)
    vendor = LogisticRegression(C=0.5).fit(X, y)  # stands for the vendor's service
    ref_X, ref_y = make(rng, 1500)
    ref_pred, ref_proba = vendor.predict(ref_X), vendor.predict_proba(ref_X)[:, 1]  # P(yes) alone
    from sklearn.metrics import roc_auc_score

    mlops.log_metric("auc", roc_auc_score(ref_y == "yes", ref_proba))
    with pytest.raises(GateFailedError):
        mlops.gate("auc >= 0.99")
    failed = mlops.register_model(None, "vendor-model", input=ref_X, predictions=ref_pred,
                                  probabilities=ref_proba, labels=ref_y)
    assert (failed.flavour, failed.format, failed.gates_passed, failed.columns) == ("external", "none", False,
                                                                                   COLUMNS)
    with pytest.raises(GateFailedError, match="vendor-model v1 failed its quality gate"):
        mlops.promote("vendor-model", "production")
    mlops.end_run()
    mlops.log_metric("auc", roc_auc_score(ref_y == "yes", ref_proba))
    mlops.gate("auc >= 0.8")
    passed = mlops.register_model(None, "vendor-model", input=ref_X, predictions=ref_pred,
                                  probabilities=ref_proba, labels=ref_y, description="scored by the vendor")
    assert passed.gates_passed and mlops.promote("vendor-model", "production").promoted

    current, current_y = make(rng, 800, shift=0.7)
    mlops.log_predictions("vendor-model@production", inputs=current, predictions=vendor.predict(current),
                          probabilities=vendor.predict_proba(current)[:, 1])
    assert mlops.drift("model:vendor-model@production", "served:vendor-model").drifted
    report = mlops.performance("vendor-model")
    assert report.estimable and report.latest.source == "estimated"
    truth = roc_auc_score(current_y == "yes", vendor.predict_proba(current)[:, 1])
    assert abs(report.latest.value - truth) < 0.05
    mlops.gate(f"performance.auc >= {report.bar}")  # the estimate is a metric like any other for gates

    with pytest.raises(MlopsError, match="registered from its predictions only: it has no model file"):
        mlops.load_model("vendor-model@production")
    from mlops_magic.serving.app import create_app

    with pytest.raises(MlopsError, match="no model file to load or serve"):
        create_app("vendor-model@production")
    with pytest.raises(MlopsError, match="no model file"):
        mlops.performance("vendor-model", current=current)  # scoring a batch needs the model
    shown = CliRunner().invoke(main, ["models", "show", "vendor-model@2"])
    assert shown.exit_code == 0 and "registered from its predictions (monitored, not served)" in shown.output


def test_bad_input_is_one_clear_line_and_nothing_is_written(session, rng) -> None:
    X, y = make(rng, 600)
    clf = LogisticRegression().fit(X, y)
    mlops.register_model(clf, "churn", input=X, labels=y)
    pred, proba = clf.predict(X), clf.predict_proba(X)
    cases = [
        (dict(inputs=X, predictions=pred[:10]), "inputs has 600 rows for 10 predictions"),
        (dict(inputs=X[["a"]], predictions=pred), "inputs lack the model's input columns: b, c"),
        (dict(predictions=np.array(["maybe"] * 600)), "prediction 'maybe' is not one of the model's classes"),
        (dict(predictions=pred, probabilities=proba[:, :1].repeat(3, axis=1)), "probabilities are 600x3"),
        (dict(predictions=pred, probabilities=proba * 2), "between 0 and 1"),
        (dict(predictions=pred, ids=["x"] * 5), "ids has 5 values for 600 predictions"),
        (dict(predictions=pred, times=["yesterday"] * 600), "time 'yesterday' is not ISO 8601"),
        (dict(), "nothing to log"),
        (dict(predictions=[]), "zero rows"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            mlops.log_predictions("churn", **kwargs)
    assert tables.served_count(session.store.db, "churn") == 0
    with pytest.raises(MlopsError, match="no model 'ghost'"):
        mlops.log_predictions("ghost", predictions=pred)
    for kwargs, message in [
        (dict(predictions=pred), "give labels= too"),
        (dict(labels=y), "give the reference predictions= too"),
        (dict(probabilities=proba), "give the reference predictions too"),
        (dict(), "needs its reference data"),
        (dict(input=X, predictions=pred[:5], labels=y[:5]), "input has 600 rows but predictions has 5"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            mlops.register_model(None, "vendor", **kwargs)
    with pytest.raises(InvalidInputError, match="model=None"):
        mlops.register_model(clf, "churn", input=X, predictions=pred)
    assert session.store.db.query_one("SELECT COUNT(*) FROM model_versions WHERE model = 'vendor'")[0] == 0
    inputs_only = mlops.log_predictions("churn", inputs=X)  # drift needs no predictions
    assert inputs_only.rows == 600 and len(mlops.served_inputs("churn", limit=1000)) == 600


def test_magic_and_cli_faces_log_a_table_of_predictions(ip, rng, tmp_path) -> None:
    X, y = make(rng, 1000)
    clf = LogisticRegression().fit(X, y)
    ip.user_ns.update(clf=clf, X_ref=X, y_ref=y)
    assert ip.run_cell("%mlops model register clf --name churn --input X_ref --labels y_ref").success
    batch, _ = make(rng, 200)
    proba = clf.predict_proba(batch)
    table = batch.assign(pred=clf.predict(batch), p_no=proba[:, 0], p_yes=proba[:, 1],
                         rid=[f"r{i}" for i in range(200)], at=pd.Timestamp("2026-11-02T10:00:00Z"))
    ip.user_ns["scored"] = table
    logged = ip.run_line_magic("mlops", "predictions scored --model churn --prediction pred --proba p_no,p_yes "
                               "--id rid --time at")
    assert (logged.rows, logged.first_id) == (200, "r0")
    bad = ip.run_cell("%mlops predictions scored --model churn --prediction nope")
    assert bad.error_in_exec is not None and "the predictions have no column 'nope'" in str(bad.error_in_exec)
    table.to_csv(tmp_path / "scored.csv", index=False)
    cli = CliRunner()
    added = cli.invoke(main, ["predictions", "add", str(tmp_path / "scored.csv"), "--model", "churn", "--prediction",
                              "pred", "--proba", "p_no", "--proba", "p_yes"])
    assert added.exit_code == 0 and "200 predictions of churn v1 recorded" in added.output, added.output
    wrong = cli.invoke(main, ["predictions", "add", str(tmp_path / "scored.csv"), "--model", "churn",
                              "--prediction", "pred", "--proba", "p_yes,p_no,p_no"])
    assert wrong.exit_code == 1 and wrong.output.count("\n") == 1 and "probabilities are 200x3" in wrong.output
    store = ip.user_ns["mlops"].get_store() if "mlops" in ip.user_ns else mlops.get_store()
    assert tables.served_count(store.db, "churn") == 400
    report = mlops.performance("churn", min_rows=50, record=False)
    assert report.latest.rows == 400 and report.latest.source == "estimated"

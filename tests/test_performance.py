"""Performance monitoring: realized metrics against scikit-learn, CBPE estimates under covariate shift,
labels joined by request id, windows over served traffic, gates and the performance-drop event."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlops_magic as mlops
from mlops_magic.errors import InvalidInputError, NotFoundError
from mlops_magic.monitoring.performance import log_labels, parse_window, performance
from mlops_magic.monitoring.served import record_served
from mlops_magic.stats import performance as P

COLUMNS = ["a", "b", "c"]


def make(rng: np.random.Generator, n: int, shift: float = 0.0, classes: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """A known generating process: inputs shift, the relation inputs -> target stays (no concept drift)."""
    X = pd.DataFrame(rng.normal(size=(n, 3)) + shift, columns=COLUMNS)
    if classes == 2:
        logit = 1.5 * X.a - 1.0 * X.b + 0.5 * X.c
        return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    scores = np.column_stack([X.a, X.b - 0.5 * X.a, -X.a - X.c]) * 1.5
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return X, np.array([rng.choice(classes, p=row) for row in p])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_realized_metrics_equal_scikit_learns(rng) -> None:
    for k in (2, 3):
        y = rng.integers(0, k, 2000)
        pred = np.where(rng.random(2000) < 0.7, y, rng.integers(0, k, 2000))
        proba = rng.dirichlet(np.ones(k), 2000)
        proba = np.round(proba, 2)  # ties in the scores
        proba = proba / proba.sum(axis=1, keepdims=True)
        ours = P.realized_classification(y, pred, proba, k)
        average = "binary" if k == 2 else "macro"
        assert ours["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
        assert ours["precision"] == pytest.approx(skm.precision_score(y, pred, average=average))
        assert ours["recall"] == pytest.approx(skm.recall_score(y, pred, average=average))
        assert ours["f1"] == pytest.approx(skm.f1_score(y, pred, average=average))
        expected_auc = (skm.roc_auc_score(y, proba[:, 1]) if k == 2
                        else skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
        assert ours["auc"] == pytest.approx(expected_auc, abs=1e-12)
    truth, guess = rng.normal(size=500), rng.normal(size=500)
    reg = P.realized_regression(truth, guess)
    assert reg["mae"] == pytest.approx(skm.mean_absolute_error(truth, guess))
    assert reg["rmse"] == pytest.approx(skm.mean_squared_error(truth, guess) ** 0.5)
    assert reg["r2"] == pytest.approx(skm.r2_score(truth, guess))


@pytest.mark.parametrize("classes", [2, 3])
def test_cbpe_follows_covariate_shift_within_two_points(rng, classes) -> None:
    X, y = make(rng, 20_000, classes=classes)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    Xr, yr = make(rng, 20_000, classes=classes)
    kind, reference = P.reference_from_model(clf, Xr, yr)
    assert kind == "classification" and reference["estimable"]
    calibration = P.Calibration.from_dict(reference["calibration"])
    realized_accuracies = []
    for shift in (0.0, 0.8, -0.8, 1.6):
        Xc, yc = make(rng, 10_000, shift, classes=classes)
        pred = P.class_indices(list(clf.predict(Xc)), reference["classes"], "prediction")
        proba = clf.predict_proba(Xc)
        estimated, _ = P.estimate_classification(calibration, pred, proba)
        realized = P.realized_classification(P.class_indices(list(yc), reference["classes"], "label"), pred, proba,
                                             classes)
        realized_accuracies.append(realized["accuracy"])
        assert abs(estimated["accuracy"] - realized["accuracy"]) < 0.02, (shift, estimated, realized)
        assert abs(estimated["auc"] - realized["auc"]) < 0.02, (shift, estimated, realized)
    assert max(realized_accuracies) - min(realized_accuracies) > 0.03  # the shift really moved performance


def test_register_with_labels_then_estimated_and_realized_on_a_batch(session, rng) -> None:
    X, y = make(rng, 5000)
    clf = LogisticRegression().fit(X, y)
    Xt, yt = make(rng, 5000)
    mlops.register_model(clf, "churn", input=Xt, labels=yt)
    Xc, yc = make(rng, 4000, 0.5)
    estimated = mlops.performance("churn", current=Xc)
    assert estimated.metric == "auc" and estimated.latest.source == "estimated" and estimated.verdict == "ok"
    low, high = estimated.latest.band["auc"]
    assert low < estimated.latest.value < high
    realized = mlops.performance("churn", current=Xc.assign(truth=yc), labels="truth")
    assert realized.latest.source == "realized"
    assert realized.latest.realized["auc"] == pytest.approx(skm.roc_auc_score(yc, clf.predict_proba(Xc)[:, 1]))
    frame = realized.to_frame()
    assert {"rows", "labelled", "realized.auc", "estimated.auc", "reference.auc", "verdict"} <= set(frame.columns)
    # recorded: the metric for gates, the report with the stage's run
    assert session.store.latest_metrics([session.active_run_id()])[session.active_run_id()]["performance.auc"] \
        == pytest.approx(realized.latest.value)
    assert mlops.gate("performance.auc >= 0.7").passed


def test_a_degraded_batch_is_a_drop_and_an_event(session, rng) -> None:
    X, y = make(rng, 5000)
    clf = LogisticRegression().fit(X, y)
    Xt, yt = make(rng, 5000)
    mlops.register_model(clf, "churn", input=Xt, labels=yt)
    # rows pushed onto the decision boundary: the model is unsure, and the estimate says so without labels
    Xd = pd.DataFrame({"a": rng.normal(0, 0.05, 3000), "b": rng.normal(0, 0.05, 3000), "c": rng.normal(0, 0.05, 3000)})
    report = mlops.performance("churn", current=Xd, metric="accuracy")
    assert report.verdict == "drop" and report.latest.value < report.bar
    assert "performance drop" in repr(report)
    events = session.store.list_events("performance-drop")
    assert [e["subject"] for e in events] == ["churn"] and events[0]["payload"]["metric"] == "accuracy"


def test_served_traffic_in_windows_with_late_partial_and_duplicate_labels(session, rng) -> None:
    X, y = make(rng, 5000)
    clf = LogisticRegression().fit(X, y)
    Xt, yt = make(rng, 5000)
    mv = mlops.register_model(clf, "churn", input=Xt, labels=yt)
    store = session.store
    day = 86_400.0
    start = (time.time() // day - 3) * day
    ids = []
    for d in range(3):  # three days of traffic, 400 rows each
        Xd, yd = make(rng, 400, 0.3 * d)
        proba = clf.predict_proba(Xd)
        rids = [f"d{d}-{i}" for i in range(len(Xd))]
        outputs = [(rid, int(p), [float(q) for q in pr]) for rid, p, pr in zip(rids, clf.predict(Xd), proba)]
        record_served(store, "churn", mv.version, Xd.to_dict("records"), outputs=outputs,
                      received=start + d * day + 60)
        ids.append((rids, yd))
    # labels for day 0 arrive in full, day 1 only half, with a duplicate that changes its mind; plus an unknown id
    first = log_labels(store, "churn", ids[0][0], ids[0][1])
    assert (first.stored, first.replaced, first.unknown) == (400, 0, 0)
    half = log_labels(store, "churn", [*ids[1][0][:200], ids[1][0][0], "nobody"],
                      [*ids[1][1][:200], 1 - ids[1][1][0], 1])
    assert (half.stored, half.replaced, half.unknown, half.unknown_examples) == (201, 1, 1, ["nobody"])
    report = performance(store, "churn", window="1d", min_rows=100)
    assert [w.rows for w in report.windows] == [400, 400, 400]
    assert [w.labelled for w in report.windows] == [400, 200, 0]
    assert [w.source for w in report.windows] == ["realized", "realized", "estimated"]
    assert all(w.estimated and w.verdict == "ok" for w in report.windows)


def test_bad_input_is_one_clear_line(session, rng) -> None:
    X, y = make(rng, 500)
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(NotFoundError, match="no model 'ghost'"):
        log_labels(session.store, "ghost", ["a"], [1])
    mlops.register_model(clf, "plain", input=X)  # no labels: no reference to estimate against
    with pytest.raises(NotFoundError, match="has no performance reference; register it with labels"):
        mlops.performance("plain", current=X)
    mlops.register_model(clf, "churn", input=X, labels=y)
    with pytest.raises(InvalidInputError, match="label 'yes' is not one of the model's classes"):
        log_labels(session.store, "churn", ["a"], ["yes"])
    with pytest.raises(InvalidInputError, match="2 ids but 1 labels"):
        log_labels(session.store, "churn", ["a", "b"], [1])
    with pytest.raises(NotFoundError, match="no served predictions of model 'churn' yet"):
        mlops.performance("churn", window="1d")
    with pytest.raises(InvalidInputError, match="window '1 fortnight'"):
        parse_window("1 fortnight")
    with pytest.raises(InvalidInputError, match="the current data has no rows"):
        mlops.performance("churn", current=X.iloc[:0])
    reg = LinearRegression().fit(X, y.astype(float))
    mlops.register_model(reg, "spend", input=X, labels=y.astype(float))
    with pytest.raises(InvalidInputError, match="metric 'auc' is not measured for a regressor"):
        mlops.performance("spend", current=X, metric="auc")
    unlabelled = mlops.performance("spend", current=X)
    assert unlabelled.note == "estimation without labels is not available for a regressor"
    assert unlabelled.verdict == "not estimable"
    with pytest.raises(InvalidInputError, match="label 'high' is not a number"):
        log_labels(session.store, "spend", ["a"], ["high"])
    assert session.store.db.query_one("SELECT COUNT(*) FROM labels")[0] == 0  # nothing written half


def test_magic_and_cli_faces(ip, rng, tmp_path) -> None:
    from click.testing import CliRunner

    from mlops_magic.cli.main import main

    X, y = make(rng, 2000)
    ip.user_ns.update(clf=LogisticRegression().fit(X, y), X_test=X, y_test=y, batch=X.assign(truth=y))
    assert ip.run_cell("%mlops model register clf --name churn --input X_test --labels y_test").success
    report = ip.run_line_magic("mlops", "performance churn --current batch --labels truth --no-record")
    assert report.latest.source == "realized"
    labels = pd.DataFrame({"request_id": ["r1", "r2"], "churned": [1, 0]})
    ip.user_ns["labels_df"] = labels
    result = ip.run_line_magic("mlops", "labels labels_df --model churn --label churned")
    assert result.stored == 2 and result.unknown == 2
    labels.to_csv(tmp_path / "labels.csv", index=False)
    X.assign(truth=y).to_csv(tmp_path / "batch.csv", index=False)
    cli = CliRunner()
    added = cli.invoke(main, ["labels", "add", str(tmp_path / "labels.csv"), "--model", "churn", "--label", "churned"])
    assert added.exit_code == 0 and "2 labels for churn (2 replaced an earlier label)" in added.output
    shown = cli.invoke(main, ["performance", "churn", "--current", str(tmp_path / "batch.csv"), "--labels", "truth"])
    assert shown.exit_code == 0 and "(realized)" in shown.output, shown.output
    bad = cli.invoke(main, ["performance", "churn", "--metric", "rmse"])
    assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "not measured for a classifier" in bad.output


def test_a_performance_drop_fires_its_retrain_schedule_once(session, rng, tmp_path) -> None:
    import shutil
    from datetime import datetime, timezone

    from mlops_magic.scheduling.schedules import add_schedule
    from mlops_magic.scheduling.tick import tick

    shutil.copy(Path(__file__).parent / "notebooks" / "tiny.ipynb", tmp_path / "retrain.ipynb")
    X, y = make(rng, 3000)
    clf = LogisticRegression().fit(X, y)
    mlops.register_model(clf, "churn", input=X, labels=y)
    store = session.store
    schedule = add_schedule(store, str(tmp_path / "retrain.ipynb"), on_performance_drop="churn", base_dir=str(tmp_path))
    assert schedule.triggers() == "performance drop churn"
    now = datetime.now(timezone.utc)
    assert tick(store, now) == []  # no drop yet
    mlops.performance("churn", current=X)  # fine: no event
    assert tick(store, now) == []
    flat = pd.DataFrame({c: rng.normal(0, 0.05, 2000) for c in COLUMNS})
    assert mlops.performance("churn", current=flat, metric="accuracy").dropped
    ran = tick(store, now)
    assert [(c.schedule.id, c.fire.trigger, c.result.status) for c in ran] == \
        [(schedule.id, "performance", "succeeded")]
    assert store.get_run(ran[0].run_id).trigger == "performance"
    assert tick(store, now) == []  # each drop starts one retrain


def test_labels_join_by_an_entity_key_and_time(session, rng) -> None:
    X, y = make(rng, 2000)
    clf = LogisticRegression().fit(X, y)
    mv = mlops.register_model(clf, "churn", input=X, labels=y)
    store = session.store
    batch = X.head(4).assign(customer_id=["c1", "c2", "c1", "c3"])  # c1 is scored twice, a day apart
    outputs = [(f"r{i}", int(p), [0.5, 0.5]) for i, p in enumerate(clf.predict(X.head(4)))]
    record_served(store, "churn", mv.version, batch.iloc[:2].to_dict("records"), outputs=outputs[:2], received=1000.0)
    record_served(store, "churn", mv.version, batch.iloc[2:].to_dict("records"), outputs=outputs[2:],
                  received=1000.0 + 86_400)
    by_time = mlops.log_labels("churn", ["c1", "c2", "c9"], [1, 0, 1], key="customer_id",
                               times=[pd.Timestamp(1000.0 + 3600, unit="s", tz="UTC"), 1500.0, 2000.0])
    assert (by_time.stored, by_time.unknown, by_time.unknown_examples) == (2, 1, ["c9"])
    labelled = dict(store.db.query("SELECT request_id, label FROM labels ORDER BY request_id"))
    assert labelled == {"r0": "1", "r1": "0"}  # c1's label went to its prediction before the label's time
    latest = mlops.log_labels("churn", ["c1"], [0], key="customer_id")  # no time: the latest prediction
    assert latest.stored == 1 and dict(store.db.query("SELECT request_id, label FROM labels"))["r2"] == "0"
    with pytest.raises(InvalidInputError, match="have no column 'account'"):
        mlops.log_labels("churn", ["c1"], [1], key="account")
    with pytest.raises(InvalidInputError, match="times= goes with key="):
        mlops.log_labels("churn", ["r1"], [1], times=[1.0])

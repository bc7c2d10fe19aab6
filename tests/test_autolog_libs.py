"""Autolog with the other libraries, on a real shell: XGBoost and LightGBM rounds, pyplot figures, and
MLflow's own autolog enabled beside ours (both record, neither breaks)."""

from __future__ import annotations

import pytest

from mlops_magic.tracking.session import get_session

DATA = """
from sklearn.datasets import make_classification
X, y = make_classification(400, 8, random_state=0)
X_train, X_val, y_train, y_val = X[:300], X[300:], y[:300], y[300:]
"""


def history(key: str) -> list[tuple[int, float]]:
    session = get_session()
    return [(m.step, m.value) for m in session.store.metric_history(session.active_run_id(), key)]


def test_xgboost_rounds_are_step_metrics_of_the_train_stage(ip) -> None:
    pytest.importorskip("xgboost")
    ip.run_cell(DATA)
    result = ip.run_cell("%%mlops stage train\nimport xgboost as xgb\n"
                         "booster = xgb.XGBClassifier(n_estimators=7, max_depth=2)"
                         ".fit(X_train, y_train, eval_set=[(X_val, y_val)], verbose=False)\n"
                         "native = xgb.train({'max_depth': 3, 'objective': 'binary:logistic'}, xgb.DMatrix(X_train, "
                         "y_train), num_boost_round=4, evals=[(xgb.DMatrix(X_val, y_val), 'val')], verbose_eval=False)")
    assert result.success
    rounds = history("booster.validation_0_logloss")
    assert [s for s, _ in rounds] == list(range(7))
    assert [v for _, v in rounds] == pytest.approx(ip.user_ns["booster"].evals_result()["validation_0"]["logloss"])
    assert [s for s, _ in history("native.val_logloss")] == list(range(4))
    params = get_session().store.get_run(get_session().active_run_id()).params
    assert params["booster.n_estimators"] == 7 and params["native.max_depth"] == 3
    assert params["native.num_boost_round"] == 4 and params["native.estimator_class"] == "xgboost.Booster"
    artifacts = {a.name for a in get_session().store.list_artifacts(get_session().active_run_id())}
    assert "models/booster.skops" in artifacts and "models/native.skops" not in artifacts


def test_lightgbm_rounds_are_step_metrics(ip) -> None:
    pytest.importorskip("lightgbm")
    ip.run_cell(DATA)
    result = ip.run_cell("%%mlops stage train\nimport lightgbm as lgb\n"
                         "model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X_train, y_train, "
                         "eval_set=[(X_val, y_val)])")
    assert result.success
    assert [s for s, _ in history("valid_0_binary_logloss")] == list(range(5))
    assert get_session().store.get_run(get_session().active_run_id()).params["n_estimators"] == 5


def test_a_figure_shown_in_the_stage_is_a_png_artifact_of_it(ip) -> None:
    ip.run_cell("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                "before = plt.figure()")  # open before the stage: not the stage's
    ip.run_cell("%%mlops stage evaluate\nfig, ax = plt.subplots()\nax.plot([1, 3, 2])\nplt.show()\n"
                "plt.figure(label='residuals')")
    session = get_session()
    [stage] = session.store.list_stages(session.active_run_id())
    artifacts = {a.name: a for a in session.store.list_artifacts(session.active_run_id())}
    assert set(artifacts) == {"figures/evaluate/1.png", "figures/evaluate/residuals.png"}
    assert {a.stage_id for a in artifacts.values()} == {stage.id}
    ip.run_cell("plt.close('all')")


def test_mlflow_autolog_beside_ours_both_record_and_neither_breaks(ip, tmp_path, monkeypatch) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    ip.run_cell(DATA)
    setup = ip.run_cell(
        "import logging, mlflow, mlflow.sklearn\nlogging.getLogger('mlflow').setLevel(logging.ERROR)\n"
        f"mlflow.set_tracking_uri('file:{tmp_path / 'mlruns'}')\n"
        "mlflow.sklearn.autolog(log_models=False, silent=True)\n"
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.metrics import accuracy_score\n"
        "mlflow_fit = LogisticRegression.fit")
    assert setup.success
    result = ip.run_cell("%%mlops stage train\nclf = LogisticRegression(C=0.4).fit(X_train, y_train)\n"
                         "accuracy_score(y_val, clf.predict(X_val))")
    assert result.success
    session = get_session()
    ours = session.store.get_run(session.active_run_id())
    assert ours.params["C"] == 0.4
    assert session.store.latest_metrics([ours.id])[ours.id]["accuracy"] > 0.5
    theirs = ip.run_cell("mlflow.last_active_run()").result
    assert theirs.data.params["C"] == "0.4" and "training_score" in theirs.data.metrics
    from sklearn.linear_model import LogisticRegression

    assert vars(LogisticRegression)["fit"] is ip.user_ns["mlflow_fit"]  # MLflow's patch is back, ours is gone
    ip.run_cell("mlflow.sklearn.autolog(disable=True)")

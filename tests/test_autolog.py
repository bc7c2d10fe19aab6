"""Autolog on a real IPython shell: what a stage cell records without a logging line, and that nothing
outside the stage (other cells, other threads, the libraries' own functions afterwards) is touched."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from mlops_magic.entities import result_metrics
from mlops_magic.tracking.session import get_session

SETUP = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
rng = np.random.default_rng(0)
X = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], 300), "calls": rng.poisson(3, 300),
                  "charge": rng.normal(50, 10, 300)})
y = ((X["calls"] > 3) ^ (X["plan"] == "a")).astype(int)
X_num = X[["calls", "charge"]]
X_val, y_val = X_num[:100], y[:100]
"""


def recorded() -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    """The params, latest metrics and artifacts (name -> digest) of the session's run."""
    session = get_session()
    run_id = session.active_run_id()
    assert run_id is not None
    store = session.store
    return (store.get_run(run_id).params, result_metrics(store.latest_metrics([run_id])[run_id]),
            {a.name: a.digest for a in store.list_artifacts(run_id)})


def wrapped_now() -> list[str]:
    """Every scikit-learn method or metric function that is one of our wrappers right now."""
    import sklearn.metrics
    from sklearn.base import BaseEstimator, ClassifierMixin

    from mlops_magic.autolog.sklearn import estimator_classes

    found = [f"{cls.__name__}.{name}" for cls in [BaseEstimator, ClassifierMixin, *estimator_classes(BaseEstimator)]
             for name, value in vars(cls).items() if hasattr(value, "__mlops_autolog__")]
    found += [name for name, value in vars(sklearn.metrics).items() if hasattr(value, "__mlops_autolog__")]
    return found


def test_a_pipeline_with_a_column_transformer_records_params_score_and_the_model(ip) -> None:
    ip.run_cell(SETUP)
    result = ip.run_cell(
        "%%mlops stage train\n"
        "model = Pipeline([('encode', ColumnTransformer([('onehot', OneHotEncoder(handle_unknown='ignore'),"
        " ['plan'])], remainder='passthrough')), ('clf', LogisticRegression(C=0.3, max_iter=500))]).fit(X, y)")
    assert result.success
    params, metrics, artifacts = recorded()
    assert params["clf__C"] == 0.3 and params["clf__max_iter"] == 500
    assert params["encode__onehot__handle_unknown"] == "ignore"
    assert params["encode"] == "ColumnTransformer" and params["estimator_class"] == "sklearn.pipeline.Pipeline"
    assert "C" not in params  # the steps' own fits are inside the Pipeline's: not recorded on their own
    assert metrics["fit_time"] > 0 and 0.5 < metrics["training_score"] <= 1.0
    assert set(artifacts) == {"models/model.skops"}
    run_id = get_session().active_run_id()
    assert len(get_session().store.metric_history(run_id, "fit_time")) == 1
    [stage] = get_session().store.list_stages(run_id)
    assert {a.stage_id for a in get_session().store.list_artifacts(run_id)} == {stage.id}
    assert wrapped_now() == []


def test_a_grid_search_of_twelve_candidates_records_best_and_every_candidate(ip) -> None:
    ip.run_cell(SETUP + "from sklearn.model_selection import GridSearchCV")
    result = ip.run_cell(
        "%%mlops stage train\n"
        "search = GridSearchCV(LogisticRegression(max_iter=500), {'C': [0.01, 0.1, 1.0, 10.0],"
        " 'solver': ['lbfgs', 'liblinear', 'newton-cg']}, cv=3).fit(X_num, y)")
    assert result.success
    params, metrics, artifacts = recorded()
    search = ip.user_ns["search"]
    assert params["best_C"] == search.best_params_["C"] and params["best_solver"] == search.best_params_["solver"]
    assert params["estimator__max_iter"] == 500
    assert metrics["best_cv_score"] == pytest.approx(search.best_score_)
    store, run_id = get_session().store, get_session().active_run_id()
    history = store.metric_history(run_id, "cv_mean_test_score")
    assert [m.step for m in history] == list(range(12))
    assert [m.value for m in history] == pytest.approx(list(search.cv_results_["mean_test_score"]))
    assert len(store.metric_history(run_id, "cv_std_test_score")) == 12
    assert len(store.metric_history(run_id, "fit_time")) == 1  # the 36 clones and the refit are not fits of the stage
    with store.artifacts.open(artifacts["search/search.csv"]) as fh:
        lines = fh.read().decode().splitlines()
    assert lines[0].startswith("candidate,param_C,param_solver,mean_test_score,std_test_score")
    assert len(lines) == 13


def test_metric_functions_are_named_by_function_and_data(ip) -> None:
    ip.run_cell(SETUP + "clf = LogisticRegression().fit(X_num, y)")  # not a stage: nothing recorded
    assert get_session().active_run_id() is None
    result = ip.run_cell(
        "%%mlops stage evaluate\n"
        "pred = clf.predict(X_num)\n"
        "accuracy_score(y, pred), roc_auc_score(y, clf.predict_proba(X_num)[:, 1])\n"
        "accuracy_score(y_val, clf.predict(X_val))\n"
        "accuracy_score(y, pred)\n"
        "clf.score(X_val, y_val)\n"
        "import sklearn.metrics\n"
        "sklearn.metrics.f1_score(y, pred)")
    assert result.success
    params, metrics, _ = recorded()
    assert params == {}  # no fit in this stage
    assert set(metrics) == {"accuracy", "roc_auc", "accuracy_y_val", "score", "f1"}
    store, run_id = get_session().store, get_session().active_run_id()
    assert [m.step for m in store.metric_history(run_id, "accuracy")] == [0, 1]
    assert metrics["score"] == pytest.approx(metrics["accuracy_y_val"])
    import sklearn.metrics

    assert ip.user_ns["accuracy_score"] is sklearn.metrics.accuracy_score  # the setup cell's name is back
    assert wrapped_now() == []
    ip.run_cell("accuracy_score(y, pred)")  # outside a stage: not recorded
    assert len(store.metric_history(run_id, "accuracy")) == 2


def test_a_cell_failing_mid_fit_fails_its_stage_and_leaves_nothing_patched(ip) -> None:
    import sys

    from mlops_magic.autolog.patching import ImportWatcher

    ip.run_cell(SETUP)
    result = ip.run_cell("%%mlops stage train\naccuracy_score(y, y)\nLogisticRegression().fit(X, y)")
    assert isinstance(result.error_in_exec, ValueError)  # strings in a numeric model: fails inside fit
    [stage] = get_session().store.list_stages(get_session().active_run_id())
    assert stage.status == "failed"
    params, metrics, _ = recorded()
    assert params == {} and metrics == {"accuracy": 1.0}  # what completed before the failure is kept
    assert wrapped_now() == []
    assert not any(isinstance(f, ImportWatcher) for f in sys.meta_path)


def test_a_keyboard_interrupt_mid_stage_unpatches_too(ip) -> None:
    ip.run_cell(SETUP)
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression().fit(X_num, y)\nraise KeyboardInterrupt")
    [stage] = get_session().store.list_stages(get_session().active_run_id())
    assert stage.status == "failed" and wrapped_now() == []


def test_another_thread_fitting_during_the_stage_is_not_recorded(ip) -> None:
    ip.run_cell(SETUP + "import threading\nfrom sklearn.tree import DecisionTreeClassifier")
    result = ip.run_cell(
        "%%mlops stage train\n"
        "worker = threading.Thread(target=lambda: DecisionTreeClassifier(max_depth=2).fit(X_num, y))\n"
        "worker.start(); worker.join()\n"
        "clf = LogisticRegression(C=2.0).fit(X_num, y)")
    assert result.success
    params, _, artifacts = recorded()
    assert params["C"] == 2.0 and "max_depth" not in params
    assert set(artifacts) == {"models/clf.skops"}


def test_a_stage_fitting_several_estimators_prefixes_each_by_its_variable(ip) -> None:
    ip.run_cell(SETUP + "from sklearn.preprocessing import StandardScaler")
    ip.run_cell("%%mlops stage train\n"
                "scaler = StandardScaler().fit(X_num)\n"
                "for C in (0.1, 1.0):\n"
                "    clf = LogisticRegression(C=C).fit(scaler.transform(X_num), y)")
    params, metrics, artifacts = recorded()
    assert params["scaler.with_mean"] is True and params["clf.C"] == 1.0
    assert "C" not in params and "clf.fit_time" in metrics and "scaler.fit_time" in metrics
    assert set(artifacts) == {"models/clf.skops"}  # a transformer is not a model to register


def test_explicit_values_win_and_a_difference_is_one_line(ip) -> None:
    ip.run_cell(SETUP)
    with capture_output() as captured:
        ip.run_cell("%%mlops stage train\n%mlops params C=5\nclf = LogisticRegression(C=0.5).fit(X_num, y)")
    params, _, _ = recorded()
    assert params["C"] == 5
    assert "mlops: autolog: kept the values you logged for C (autolog measured other values)" in captured.stdout
    ip.run_cell("%%mlops stage evaluate\naccuracy_score(y, clf.predict(X_num))")
    ip.run_cell("%mlops metric accuracy=0.25")  # the user's value, logged after autolog's
    ip.run_cell("%%mlops stage evaluate\naccuracy_score(y, clf.predict(X_num))")  # again: the user's stays
    _, metrics, _ = recorded()
    assert metrics["accuracy"] == 0.25
    shown = repr(ip.run_line_magic("mlops", "show"))
    assert "accuracy = 0.25 (step 1, 2 points)\n" in shown
    assert "  C = 5\n" in shown and "  max_iter = 100  (autolog)" in shown
    assert "models/clf.skops" in shown and "(autolog)" in shown.split("models/clf.skops")[1].splitlines()[0]


def test_register_reuses_the_model_file_autolog_kept_unless_the_model_changed(ip, monkeypatch) -> None:
    from mlops_magic.registry import model_files

    ip.run_cell(SETUP)
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression(C=0.5).fit(X_num, y)")
    _, _, artifacts = recorded()
    dumps: list[Any] = []
    real_dump = model_files.dump
    monkeypatch.setattr(model_files, "dump", lambda *a, **k: dumps.append(a[0]) or real_dump(*a, **k))
    version = ip.run_line_magic("mlops", "model register clf --name churn")
    assert version.digest == artifacts["models/clf.skops"] and dumps == []
    assert type(ip.run_line_magic("mlops", "model load churn")).__name__ == "LogisticRegression"
    ip.run_cell("clf.fit(X_val, y_val)")  # fitted again outside any stage: the kept file is stale
    ip.run_line_magic("mlops", "model register clf --name churn")
    assert dumps == [ip.user_ns["clf"]]


def test_a_model_skops_cannot_save_is_one_line_and_the_stage_succeeds(ip) -> None:
    ip.run_cell(SETUP + "from sklearn.base import BaseEstimator, ClassifierMixin\n"
                "class Streaming(ClassifierMixin, BaseEstimator):\n"
                "    def fit(self, X, y):\n"
                "        self.batches_ = (len(X) for _ in range(3))  # a generator: no safe format holds it\n"
                "        return self\n"
                "    def predict(self, X):\n"
                "        return np.zeros(len(X))\n")
    with capture_output() as captured:
        result = ip.run_cell("%%mlops stage train\nstream = Streaming().fit(X_num, y)")
    assert result.success
    assert "mlops: autolog: model stream (Streaming) not kept: skops cannot save it" in captured.stdout
    [stage] = get_session().store.list_stages(get_session().active_run_id())
    params, metrics, artifacts = recorded()
    assert stage.status == "succeeded" and params["estimator_class"].endswith("Streaming")
    assert "training_score" in metrics and artifacts == {}


def test_autolog_off_only_and_project_config(ip, monkeypatch) -> None:
    import json

    ip.run_cell(SETUP)
    with capture_output() as captured:
        ip.run_line_magic("mlops", "autolog off")
    assert captured.stdout.strip() == "autolog is off (%mlops autolog)"
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression().fit(X_num, y)")
    assert recorded()[0] == {}
    ip.run_line_magic("mlops", "autolog on --only xgboost,matplotlib")
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression().fit(X_num, y)")
    assert recorded()[0] == {}
    with pytest.raises(UsageError, match="autolog cannot record torch; choose from sklearn, xgboost"):
        ip.run_line_magic("mlops", "autolog on --only torch")
    ip.run_line_magic("mlops", "autolog default")
    store = get_session().store
    (store.project_dir / ".mlops" / "config.json").write_text(json.dumps({"autolog": False}))
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression().fit(X_num, y)")
    assert recorded()[0] == {}
    (store.project_dir / ".mlops" / "config.json").write_text(json.dumps({"autolog": {"training_score": False}}))
    monkeypatch.setenv("MLOPS_AUTOLOG", "0")  # what `mlops run --no-autolog` gives the kernel
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression().fit(X_num, y)")
    assert recorded()[0] == {}
    monkeypatch.delenv("MLOPS_AUTOLOG")
    ip.run_cell("%%mlops stage train\nclf = LogisticRegression(C=3.0).fit(X_num, y)")
    params, metrics, _ = recorded()
    assert params["C"] == 3.0 and "training_score" not in metrics


@pytest.fixture(autouse=True)
def _forget_kernel_setting():
    from mlops_magic.autolog import control

    yield
    control.set_kernel_setting(None)


def test_a_gate_and_a_registration_in_the_stage_see_what_it_autologged_so_far(ip) -> None:
    ip.run_cell(SETUP)
    result = ip.run_cell("%%mlops stage train\nclf = LogisticRegression().fit(X_num, y)\n"
                         "accuracy_score(y, clf.predict(X_num))\n"
                         '%mlops gate "accuracy >= 0.5 and training_score >= 0.5"\n'
                         "version = %mlops model register clf --name inline")
    assert result.success, result.error_in_exec
    version = ip.user_ns["version"]
    assert {"accuracy", "training_score", "fit_time"} <= set(version.metrics)
    assert version.gates_passed is True
    store, run_id = get_session().store, get_session().active_run_id()
    assert len(store.metric_history(run_id, "accuracy")) == 1  # settled once, not written again at the end
    assert "models/clf.skops" in recorded()[2]

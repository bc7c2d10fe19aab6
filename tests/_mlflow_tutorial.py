"""An MLflow store made the way MLflow's tutorials make one: ``python _mlflow_tutorial.py TRACKING_URI``.

Run in its own process by tests/test_interop_mlflow.py (MLflow's autolog patches scikit-learn for the
whole process). It makes: an autologged scikit-learn run; runs with metric histories (steps, a NaN, a
metric logged three times at step 0), params, tags, an artifact and a nested run; a registered
scikit-learn model in MLflow's default (skops) format with two versions and an alias; one saved as
cloudpickle; a custom pyfunc model; and a run left running. Prints the run ids as JSON.
"""

from __future__ import annotations

import json
import sys
import time

import mlflow
import mlflow.pyfunc
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

REQUIREMENTS = ["scikit-learn", "numpy"]  # skip MLflow's requirement inference (a subprocess per model)


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


def main(uri: str) -> None:
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    out: dict[str, str] = {}

    mlflow.set_experiment("diabetes")
    mlflow.sklearn.autolog(log_models=True, log_input_examples=False)
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    with mlflow.start_run(run_name="rf") as run:
        rf = RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X_train, y_train)
        rf.score(X_test, y_test)
        out["autolog"] = run.info.run_id
    mlflow.sklearn.autolog(disable=True)

    mlflow.set_experiment("iris")
    X, y = load_iris(return_X_y=True, as_frame=True)
    for i, c in enumerate([0.1, 1.0]):
        with mlflow.start_run(run_name=f"lr-{c}") as run:
            mlflow.log_params({"C": c, "solver": "lbfgs", "seed": "007"})
            mlflow.set_tag("team", "growth")
            for step in range(5):
                mlflow.log_metric("loss", 1 / (step + 1 + i), step=step)
            mlflow.log_metric("odd", float("nan"), step=0)
            for _ in range(3):  # no step: three points at step 0, told apart by their time stamps
                mlflow.log_metric("heartbeat", 1.0)
                time.sleep(0.01)
            mlflow.log_text("hello from mlflow\n", "notes/readme.txt")
            clf = LogisticRegression(C=c, max_iter=500).fit(X, y)
            mlflow.sklearn.log_model(clf, name="model", registered_model_name="iris-clf",
                                     pip_requirements=REQUIREMENTS, input_example=X.head(2))
            out[f"lr{i}"] = run.info.run_id
            if i == 1:
                with mlflow.start_run(run_name="child", nested=True) as child:
                    mlflow.log_metric("inner", 0.5, step=1)
                    out["child"] = child.info.run_id
                mlflow.sklearn.log_model(clf, name="pickled", registered_model_name="iris-pickled",
                                         serialization_format="cloudpickle", pip_requirements=REQUIREMENTS)
                mlflow.pyfunc.log_model(name="doubler", python_model=Doubler(), registered_model_name="custom",
                                        pip_requirements=["mlflow"])
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("iris-clf", "champion", "2")
    client.set_registered_model_alias("iris-clf", "previous", "1")
    exp = client.get_experiment_by_name("iris").experiment_id
    out["running"] = client.create_run(exp, run_name="still-going").info.run_id
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])

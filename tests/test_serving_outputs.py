"""What a model's ``predict`` returns, other than a float64 array, answered as plain JSON on every surface.

A real Uvicorn server per model, driven over HTTP: mlops-magic's ``/predict``, the Open Inference
Protocol's ``/v2/models/{name}/infer`` and MLflow's ``/invocations``; then what was logged for monitoring.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from serving_support import running

from mlops_magic.registry import api as registry_api
from mlops_magic.serving.app import create_app

ROWS = pd.DataFrame({"age": [30.0, 50.0], "plan": [1, 2]})


class Answers:
    """A model answering in one of the forms models do return: lists of numpy scalars, float32, pandas."""

    def __init__(self, form: str) -> None:
        self.form = form

    def predict(self, X):
        n = len(X)
        return {
            "scalars": lambda: [np.float32(0.5), np.int64(3)][:n],
            "rows": lambda: [[np.float32(0.5), np.int64(3), np.bool_(True)]] * n,
            "bools": lambda: [np.bool_(True), np.bool_(False)][:n],
            "float32": lambda: np.array([0.25, 0.5], dtype=np.float32)[:n],
            "nonfinite": lambda: [np.float32("nan"), np.float32(1.5)][:n],
            "missing": lambda: [pd.NA, 1.5][:n],
            "nullable": lambda: pd.Series([pd.NA, 3][:n], dtype="Int64"),
            "zero_d": lambda: np.array(2.5),  # one prediction: asked of one row
            "series": lambda: pd.Series(np.arange(n, dtype=np.float32)),
            "frame": lambda: pd.DataFrame({"a": np.arange(n, dtype=np.float32), "b": np.arange(n)}),
        }[self.form]()


#: (form, rows asked, the predictions as JSON, the OIP predict tensor's datatype, shape and data)
CASES = [
    ("scalars", 2, [0.5, 3], ("FP64", [2], [0.5, 3.0])),
    ("rows", 2, [[0.5, 3, True]] * 2, ("FP64", [2, 3], [0.5, 3.0, 1.0] * 2)),
    ("bools", 2, [True, False], ("BOOL", [2], [True, False])),
    ("float32", 2, [0.25, 0.5], ("FP32", [2], [0.25, 0.5])),
    ("nonfinite", 2, [None, 1.5], ("FP32", [2], [None, 1.5])),
    ("missing", 2, [None, 1.5], ("FP64", [2], [None, 1.5])),
    ("nullable", 2, [None, 3], ("FP64", [2], [None, 3.0])),
    ("zero_d", 1, [2.5], ("FP64", [1], [2.5])),
    ("series", 2, [0.0, 1.0], ("FP32", [2], [0.0, 1.0])),
    ("frame", 2, [{"a": 0.0, "b": 0}, {"a": 1.0, "b": 1}], ("FP64", [2, 2], [0.0, 0.0, 1.0, 1.0])),
]


def exactly(value) -> str:
    """JSON text, so that ``3`` is not ``3.0`` and ``True`` is not ``1``."""
    return json.dumps(value)


@pytest.mark.parametrize(("form", "n", "expected", "tensor"), CASES, ids=[c[0] for c in CASES])
def test_numpy_scalars_float32_and_pandas_predictions_answer_plain_json_everywhere(session, caplog, form, n,
                                                                                   expected, tensor) -> None:
    """Each surface answers 200 with plain numbers and booleans (NaN and pd.NA as null, as for a float64
    array, said once per version), and every answered row is logged with its prediction, as for any model."""
    rows = ROWS.head(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class of ours: trusted, and said so
        registry_api.register_model(Answers(form), form, input=ROWS)
    inputs = [{"name": c, "shape": [n], "datatype": "FP64" if c == "age" else "INT64", "data": rows[c].tolist()}
              for c in rows]
    with running(create_app(f"{form}@1", poll_interval=0.1)) as client:
        native = client.post("/predict", json=rows.to_dict("records"))
        assert native.status_code == 200, native.text
        assert exactly(native.json()["predictions"]) == exactly(expected)
        scored = client.post("/invocations", json={"dataframe_split": rows.to_dict("split")})
        assert scored.status_code == 200, scored.text
        assert exactly(scored.json()["predictions"]) == exactly(expected)
        inferred = client.post(f"/v2/models/{form}/infer", json={"inputs": inputs})
        assert inferred.status_code == 200, inferred.text
        [output] = inferred.json()["outputs"]
        assert exactly((output["datatype"], output["shape"], output["data"])) == exactly(tensor)
    logged = session.store.db.query("SELECT prediction FROM served_inputs ORDER BY id")
    predicted = [None if r[0] is None else json.loads(r[0]) for r in logged]
    assert exactly(predicted) == exactly(expected * 3)  # three requests, each row with its prediction
    assert caplog.text.count("predicted NaN, infinity or pd.NA") == (None in expected)


class Miscounts:
    """A classifier answering another number of rows than it was asked: one fewer from ``predict`` past the
    first row (``form`` "predict"), or one more from ``predict_proba`` ("proba")."""

    def __init__(self, form: str) -> None:
        self.form = form

    def predict(self, X):
        n = len(X)
        return np.zeros(n - 1 if self.form == "predict" and n > 1 else n, dtype=np.int64)

    def predict_proba(self, X):
        n = len(X)
        return np.full((n + 1 if self.form == "proba" else n, 2), 0.5)


@pytest.mark.parametrize(("form", "said"), [("predict", "returned 1 prediction for 2 rows"),
                                            ("proba", "returned 3 class-probability rows for 2 rows")])
def test_a_model_answering_another_number_of_rows_is_a_500_on_every_surface_and_logs_nothing(session, caplog, form,
                                                                                              said) -> None:
    """Not one of its predictions may be paired with another row's inputs: the answer is one JSON line naming
    both counts (the model's fault: a 500), and the request keeps no sample; a request it answers right does.
    Class probabilities are checked wherever the server uses them: an OIP request asking for them, and the
    monitoring log's, computed when the sample is written (there a miscount keeps the rows, without them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class of ours: trusted, and said so
        registry_api.register_model(Miscounts(form), form, input=ROWS)
    inputs = [{"name": c, "shape": [2], "datatype": "FP64" if c == "age" else "INT64", "data": ROWS[c].tolist()}
              for c in ROWS]
    with running(create_app(f"{form}@1", poll_interval=0.1)) as client:
        one = client.post("/predict", json=ROWS.head(1).to_dict("records"), headers={"X-Request-Id": "one"})
        assert one.status_code == 200, one.text
        replies = {"native": client.post("/predict", json=ROWS.to_dict("records")),
                   "mlflow": client.post("/invocations", json={"dataframe_split": ROWS.to_dict("split")}),
                   "oip": client.post(f"/v2/models/{form}/infer", json={"inputs": inputs})}
    wrong = {"native", "mlflow", "oip"} if form == "predict" else {"oip"}  # only OIP asks for probabilities
    for surface, reply in replies.items():
        if surface not in wrong:
            assert reply.status_code == 200, reply.text
            continue
        assert reply.status_code == 500, (surface, reply.text)
        assert len(reply.text.splitlines()) == 1 and f"{form} v1 {said}" in reply.text, (surface, reply.text)
        assert reply.json().get("error_code", "INTERNAL_ERROR") == "INTERNAL_ERROR"  # MLflow's word for a 500
    logged = session.store.db.query("SELECT request_id, prediction, proba FROM served_inputs ORDER BY id")
    if form == "predict":
        assert [(r[0], json.loads(r[1])) for r in logged] == [("one", 0)]
    else:  # the answered requests are logged, without the probabilities the model miscounted
        assert logged[0][0] == "one" and len(logged) == 5  # one row, then two requests of two
        assert [r[2] for r in logged] == [None] * 5
        assert "predict_proba returned" in caplog.text

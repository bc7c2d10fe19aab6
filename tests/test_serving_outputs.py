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
    ("zero_d", 1, [2.5], ("FP64", [1], [2.5])),
    ("series", 2, [0.0, 1.0], ("FP32", [2], [0.0, 1.0])),
    ("frame", 2, [{"a": 0.0, "b": 0}, {"a": 1.0, "b": 1}], ("FP64", [2, 2], [0.0, 0.0, 1.0, 1.0])),
]


def exactly(value) -> str:
    """JSON text, so that ``3`` is not ``3.0`` and ``True`` is not ``1``."""
    return json.dumps(value)


@pytest.mark.parametrize(("form", "n", "expected", "tensor"), CASES, ids=[c[0] for c in CASES])
def test_numpy_scalars_float32_and_pandas_predictions_answer_plain_json_everywhere(session, form, n, expected,
                                                                                   tensor) -> None:
    """Each surface answers 200 with plain numbers and booleans (NaN as null, as for a float64 array), and
    every answered row is logged with its prediction, as for any model."""
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

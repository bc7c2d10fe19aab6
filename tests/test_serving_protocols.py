"""``mlops serve`` speaks the Open Inference Protocol v2 and MLflow's scoring protocol (issue 24, items 1-2).

Driven by those protocols' own clients against a real Uvicorn server: ``tritonclient[http]``
(``InferenceServerClient.infer`` with one ``InferInput`` per column, in its default binary tensor form and
as JSON) and MLflow's ``ScoringServerClient``; hand-built requests only for what those clients refuse to
send (a wrong element count, broken binary data). Traffic of every surface is logged, labelled and
monitored the same way as ``/predict``'s.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as tritonclient
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
from serving_support import running
from tritonclient.utils import InferenceServerException

import mlops_magic as mlops
from mlops_magic import __version__
from mlops_magic.registry import api as registry_api
from mlops_magic.serving.app import create_app


@pytest.fixture(scope="module")
def data():
    """A pipeline on a float, an int, a text and a boolean column; classes 0 and 1."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(7)
    X = pd.DataFrame({"age": rng.normal(40, 10, 400), "plan": rng.integers(0, 3, 400),
                      "region": rng.choice(["north", "south"], 400), "active": rng.random(400) > 0.5})
    y = ((X.age > 40) ^ (X.region == "north")).astype(int)
    clf = make_pipeline(make_column_transformer((OneHotEncoder(), ["region"]), remainder="passthrough"),
                        LogisticRegression(max_iter=1000)).fit(X, y)
    return X, y, clf


def triton(client) -> tritonclient.InferenceServerClient:
    return tritonclient.InferenceServerClient(str(client.base_url).removeprefix("http://").rstrip("/"))


def scoring(client) -> ScoringServerClient:
    return ScoringServerClient("127.0.0.1", client.base_url.port)


def tensors(frame: pd.DataFrame, binary: bool = True) -> list:
    """One InferInput per column, its datatype from the column's dtype, as a tritonclient user builds them."""
    out = []
    for name in frame.columns:
        values = frame[name].to_numpy()
        datatype = "BYTES" if values.dtype == object else tritonclient.np_to_triton_dtype(values.dtype)
        tensor = tritonclient.InferInput(name, [len(frame)], datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        out.append(tensor)
    return out


def refused(call) -> tuple[str, str]:
    with pytest.raises(InferenceServerException) as info:
        call()
    message = info.value.message()
    assert "\n" not in message and len(message) < 400, message
    return info.value.status(), message


# -- Open Inference Protocol v2 ---------------------------------------------------------------------------
def test_tritonclient_reads_health_and_the_schema_as_tensors(session, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    registry_api.promote("churn", "production")
    with running(create_app("churn@production", poll_interval=0.2)) as client:
        tc = triton(client)
        assert tc.is_server_live() and tc.is_server_ready() and tc.is_model_ready("churn")
        assert tc.is_model_ready("churn", "1") and not tc.is_model_ready("other")
        assert tc.get_server_metadata() == {"name": "mlops-magic", "version": __version__,
                                            "extensions": ["binary_tensor_data"]}
        meta = tc.get_model_metadata("churn")
        assert meta == tc.get_model_metadata("churn", "1")
        assert meta["name"] == "churn" and meta["versions"] == ["1"] and meta["platform"] == "sklearn_skops"
        assert meta["inputs"] == [{"name": "age", "datatype": "FP64", "shape": [-1]},
                                  {"name": "plan", "datatype": "INT64", "shape": [-1]},
                                  {"name": "region", "datatype": "BYTES", "shape": [-1]},
                                  {"name": "active", "datatype": "BOOL", "shape": [-1]}]
        assert meta["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]},
                                   {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}]
        status, message = refused(lambda: tc.get_model_metadata("other"))
        assert status == "404" and message == "model 'other' is not served here; this server serves churn (v1)"
        status, message = refused(lambda: tc.get_model_metadata("churn", "7"))
        assert status == "404" and "churn version '7' is not served here" in message
        tc.close()
        unknown = client.get("/v2/nothing")
        assert unknown.status_code == 404 and "no such route" in unknown.json()["error"]


def test_tritonclient_infers_one_tensor_per_column_binary_and_json(session, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    batch = X.iloc[:5]
    with running(create_app("churn@1", poll_interval=0.2)) as client:
        tc = triton(client)
        binary = tc.infer("churn", tensors(batch), request_id="order-7")  # tritonclient's default: binary both ways
        assert binary.get_response()["id"] == "order-7" and binary.get_response()["model_version"] == "1"
        assert binary.as_numpy("predict").tolist() == clf.predict(batch).tolist()
        np.testing.assert_allclose(binary.as_numpy("predict_proba"), clf.predict_proba(batch))
        only = tc.infer("churn", tensors(batch, binary=False), model_version="1",
                        outputs=[tritonclient.InferRequestedOutput("predict", binary_data=False)])
        response = only.get_response()
        assert [o["name"] for o in response["outputs"]] == ["predict"] and only.as_numpy("predict_proba") is None
        assert response["outputs"][0] == {"name": "predict", "datatype": "INT64", "shape": [5],
                                          "data": clf.predict(batch).tolist()}
        one = tc.infer("churn", tensors(X.iloc[[9]]), headers={"X-Request-Id": "by-header"})
        assert one.get_response()["id"] == "by-header"
        ids = tritonclient.InferInput("request_id", [2], "BYTES")
        ids.set_data_from_numpy(np.array(["r-a", "r-b"], dtype=object))
        own = tc.infer("churn", [*tensors(X.iloc[10:12]), ids], request_id="pair")
        assert own.get_response()["id"] == "pair"
        extra = tritonclient.InferInput("zip", [2], "BYTES")
        extra.set_data_from_numpy(np.array(["x", "y"], dtype=object))
        ignored = tc.infer("churn", [*tensors(X.iloc[12:14]), extra], request_id="zipped")
        assert ignored.get_response()["parameters"] == {"ignored_inputs": "zip"}
        tc.close()
        deadline = time.time() + 10
        while client.get("/metadata").json()["logged_rows"] < 15:
            assert time.time() < deadline
            time.sleep(0.05)
    rows = session.store.db.query("SELECT request_id, prediction, proba FROM served_inputs ORDER BY id")
    ids = [r[0] for r in rows]
    assert ids[:5] == [f"order-7:{i}" for i in range(5)]
    assert ids[10:] == ["by-header", "r-a", "r-b", "zipped:0", "zipped:1"]
    new = ids[5].rsplit(":", 1)[0]  # no id given: a new one, per row as for /predict
    assert ids[5:10] == [f"{new}:{i}" for i in range(5)]
    assert [json.loads(r[1]) for r in rows[:5]] == clf.predict(batch).tolist()
    np.testing.assert_allclose([json.loads(r[2]) for r in rows[:5]], clf.predict_proba(batch))  # the request's
    np.testing.assert_allclose([json.loads(r[2]) for r in rows[5:10]], clf.predict_proba(batch))  # the flush's


def test_a_wrong_datatype_shape_or_name_is_a_400_naming_the_input(session, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    batch = X.iloc[:3]
    with running(create_app("churn@1", poll_interval=0.2)) as client:
        tc = triton(client)

        def swap(name: str, datatype: str, values: np.ndarray, shape: list[int] | None = None) -> list:
            out = [t for t in tensors(batch) if t.name() != name]
            tensor = tritonclient.InferInput(name, shape or [len(values)], datatype)
            tensor.set_data_from_numpy(values)
            return [*out, tensor]

        cases = [
            (swap("age", "BYTES", np.array(["a", "b", "c"], dtype=object)),
             "input 'age' is BYTES; the model's column is float64: send FP64"),
            (swap("plan", "FP64", np.array([1.0, 2.0, 0.0])), "input 'plan' is FP64; the model's column is int64"),
            (swap("active", "INT64", np.array([1, 0, 1])), "input 'active' is INT64; the model's column is bool"),
            (swap("plan", "INT64", np.array([1, 2])), "input 'plan' has 2 rows; input 'age' has 3"),
            (swap("plan", "INT64", np.array([[1, 2, 0]]).T.repeat(2, axis=1), [3, 2]),
             "input 'plan' has shape [3, 2]; a column is a tensor of shape [rows]"),
            ([t for t in tensors(batch) if t.name() != "plan"], "missing column plan; the model needs"),
            (swap("age", "FP64", np.array([1.0, np.nan, 3.0])), "row 1 has a missing value (NaN) in column 'age'"),
        ]
        for inputs, fragment in cases:
            status, message = refused(lambda inputs=inputs: tc.infer("churn", inputs))
            assert status == "400" and fragment in message, message
        status, message = refused(lambda: tc.infer("churn", tensors(batch),
                                                   outputs=[tritonclient.InferRequestedOutput("score")]))
        assert status == "400" and message == "output 'score' is not produced by this model; it produces " \
                                              "predict, predict_proba"
        status, message = refused(lambda: tc.infer("other", tensors(batch)))
        assert status == "404" and "model 'other' is not served here" in message
        tc.close()
        head = b'{"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}]}'
        count = client.post("/v2/models/churn/infer", content=head)
        assert count.status_code == 400 and count.json()["error"] == \
            "input 'age' has 3 values; its shape [2] holds 2"
        binary = b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", ' \
                 b'"parameters": {"binary_data_size": 8}}]}'
        short = client.post("/v2/models/churn/infer", content=binary + b"\x00" * 4,
                            headers={"Inference-Header-Content-Length": str(len(binary))})
        assert short.status_code == 400 and "binary_data_size 8, but 4 bytes" in short.json()["error"]
        lying = client.post("/v2/models/churn/infer", content=binary,
                            headers={"Inference-Header-Content-Length": "9999"})
        assert lying.status_code == 400 and "Inference-Header-Content-Length" in lying.json()["error"]
        assert client.post("/v2/models/churn/infer", content=b"{nope").status_code == 400
        assert client.post("/v2/models/churn/infer", json={"inputs": []}).status_code == 400
    assert session.store.db.query("SELECT COUNT(*) FROM served_inputs")[0][0] == 0  # no refused request is kept


def test_a_model_registered_from_an_array_takes_one_2d_tensor(session, data) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y, _ = data
    arr = X[["age", "plan"]].to_numpy(dtype=float)
    model = LogisticRegression().fit(arr, y)
    registry_api.register_model(model, "plain", input=arr)
    with running(create_app("plain@1", poll_interval=0.2)) as client:
        tc = triton(client)
        assert tc.get_model_metadata("plain")["inputs"] == [{"name": "input-0", "datatype": "FP64",
                                                             "shape": [-1, 2]}]
        tensor = tritonclient.InferInput("input-0", [4, 2], "FP64")
        tensor.set_data_from_numpy(arr[:4])
        assert tc.infer("plain", [tensor]).as_numpy("predict").tolist() == model.predict(arr[:4]).tolist()
        wide = tritonclient.InferInput("input-0", [2, 3], "FP64")
        wide.set_data_from_numpy(np.ones((2, 3)))
        status, message = refused(lambda: tc.infer("plain", [wide]))
        assert status == "400" and message == "input 'input-0' has shape [2, 3]; this model takes one 2-D " \
                                              "tensor of shape [-1, 2] (datatype FP64)"
        second = tritonclient.InferInput("input-1", [4, 2], "FP64")
        second.set_data_from_numpy(arr[:4])
        status, message = refused(lambda: tc.infer("plain", [tensor, second]))
        assert status == "400" and "the request sent 2 inputs" in message
        scored = scoring(client).invoke(arr[:3])  # MLflow's client sends a numpy array as {"inputs": rows}
        assert scored.get_predictions().iloc[:, 0].tolist() == model.predict(arr[:3]).tolist()
        csv = client.post("/invocations", content=b"a,b\n1.5,2\n30,1\n", headers={"Content-Type": "text/csv"})
        assert csv.json() == {"predictions": model.predict(np.array([[1.5, 2], [30, 1]])).tolist()}
        tc.close()


# -- MLflow's scoring protocol ----------------------------------------------------------------------------
def test_mlflow_scoring_client_and_every_body_format(session, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    batch = X.iloc[:4]
    expected = clf.predict(batch).tolist()
    with running(create_app("churn@1", poll_interval=0.2)) as client:
        sc = scoring(client)
        sc.wait_server_ready(timeout=10)
        assert sc.get_version() == __version__
        assert sc.invoke(batch).get_predictions().iloc[:, 0].tolist() == expected  # dataframe_split
        # a dict of columns with params, as the client sends it (MLflow 3.17's client cannot send a dict itself)
        columns = {name: batch[name].tolist() for name in batch.columns}
        reply = client.post("/invocations", json={"inputs": columns, "params": {"ignored": 1}})
        assert reply.status_code == 200 and reply.json() == {"predictions": expected}, reply.text
        records = batch.to_dict("records")
        for body in ({"dataframe_records": records}, {"instances": records},
                     {"inputs": {k: list(v.values()) for k, v in batch.to_dict().items()}}):
            reply = client.post("/invocations", json=body)
            assert reply.status_code == 200 and reply.json() == {"predictions": expected}, (body, reply.text)
        csv = client.post("/invocations", content=batch.to_csv(index=False),
                          headers={"Content-Type": "text/csv; charset=utf-8"})
        assert csv.json() == {"predictions": expected}
        one = client.post("/invocations", json={"dataframe_records": records[:1]}, headers={"X-Request-Id": "m-1"})
        assert one.headers["x-request-id"] == "m-1"
        with pytest.raises(Exception, match=r"error code 400.*column 'age' expects numbers"):
            sc.invoke(batch.assign(age="old"))
        cases = [
            ({"json": {"records": records}}, 400, "exactly one of the input fields"),
            ({"json": records}, 400, "Received a list"),
            ({"json": {"dataframe_split": {"columns": ["age"], "data": [[1.0, 2]]}}}, 400,
             "dataframe_split row 0 has 2 values for 1 columns"),
            ({"json": {"instances": [[1.0, 1, "north", True]]}}, 400, "holds rows without column names"),
            ({"content": b"age,plan\n1.0", "headers": {"Content-Type": "text/csv"}}, 400,
             "CSV row 1 has 1 fields; the header has 2"),
            ({"content": b"age,plan,region,active\nx,1,north,true", "headers": {"Content-Type": "text/csv"}}, 400,
             "column 'age' expects numbers (float64); row 0 has 'x'"),
            ({"content": b"a", "headers": {"Content-Type": "text/plain"}}, 415, "only supports the following"),
            ({"json": {}, "headers": {"Content-Type": "application/json; charset=latin-1"}}, 415, "UTF-8"),
        ]
        for kwargs, status, fragment in cases:
            reply = client.post("/invocations", **kwargs)
            body = reply.json()
            assert reply.status_code == status and fragment in body["message"], (kwargs, reply.text)
            assert body["error_code"] == "BAD_REQUEST" and "\n" not in body["message"]
        assert client.get("/ping").status_code == 200 and client.get("/health").json()["status"] == "ok"


# -- one path: limits and monitoring ----------------------------------------------------------------------
def test_the_body_limit_holds_on_every_surface(session, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    big = X.iloc[:200]
    with running(create_app("churn@1", poll_interval=0.2, max_body=2000)) as client:
        v2 = client.post("/v2/models/churn/infer", json={"inputs": [
            {"name": c, "shape": [200], "datatype": "BYTES", "data": big[c].astype(str).tolist()} for c in big]})
        assert v2.status_code == 413 and "--max-body" in v2.json()["error"]
        scored = client.post("/invocations", json={"dataframe_records": big.to_dict("records")})
        assert scored.status_code == 413 and "--max-body" in scored.json()["message"]
        native = client.post("/predict", json=big.to_dict("records"))
        assert native.status_code == 413 and "--max-body" in native.json()["error"]


def test_drift_labels_and_cbpe_see_traffic_of_every_surface(session, data) -> None:
    from mlops_magic.monitoring.performance import performance

    X, y, clf = data
    registry_api.register_model(clf, "churn", input=X.iloc[:200], labels=y.iloc[:200])
    registry_api.promote("churn", "production")
    app = create_app("churn@production", poll_interval=0.1)
    v2_rows, mlflow_rows, native_rows = X.iloc[200:280], X.iloc[280:340], X.iloc[340:400]
    with running(app) as client:
        tc = triton(client)
        tc.infer("churn", tensors(v2_rows), request_id="v2")
        tc.close()
        scoring_reply = client.post("/invocations", json={"dataframe_split": mlflow_rows.to_dict("split")},
                                    headers={"X-Request-Id": "mlflow"})
        assert scoring_reply.status_code == 200
        assert client.post("/predict", json=native_rows.to_dict("records"), headers={"X-Request-Id": "native"}
                           ).status_code == 200
        deadline = time.time() + 10
        while app.state.holder.logged < 200:
            assert time.time() < deadline, app.state.holder.logged
            time.sleep(0.05)
        ids = [*(f"v2:{i}" for i in range(80)), *(f"mlflow:{i}" for i in range(40))]
        labels = [*y.iloc[200:280], *y.iloc[280:320]]
        stored = client.post("/labels", json={"ids": ids, "labels": [int(v) for v in labels]}).json()
        assert stored["stored"] == 120 and stored["unknown"] == 0
    served = mlops.served_inputs("churn", limit=1000)
    assert len(served) == 200 and list(served.columns) == list(X.columns)
    pd.testing.assert_frame_equal(served.reset_index(drop=True), X.iloc[200:400].reset_index(drop=True),
                                  check_dtype=False)
    report = mlops.drift(X.iloc[:200], served, record=False)
    assert {c.column for c in report.columns} == set(X.columns)
    performance_report = performance(session.store, "churn@production", min_rows=50)
    [window] = performance_report.windows
    assert (window.rows, window.labelled, window.source) == (200, 120, "realized")
    labelled = pd.concat([v2_rows, mlflow_rows.iloc[:40]])
    assert window.realized["accuracy"] == pytest.approx(float((clf.predict(labelled) == labels).mean()))
    assert window.estimated and 0 < window.estimated["accuracy"] <= 1  # CBPE from the served probabilities
    proba = session.store.db.query("SELECT proba FROM served_inputs WHERE request_id = 'mlflow:0'")[0][0]
    np.testing.assert_allclose(json.loads(proba), clf.predict_proba(mlflow_rows.iloc[:1])[0])

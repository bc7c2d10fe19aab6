"""Serving: a real Uvicorn server on a free port, driven with httpx."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest
from _support import free_port
from serving_support import running

import mlops_magic as mlops
from mlops_magic.errors import InvalidInputError
from mlops_magic.registry import api as registry_api
from mlops_magic.registry import versions as registry
from mlops_magic.serving.app import create_app
from mlops_magic.serving.inputs import prepare


@pytest.fixture(scope="module")
def data():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"age": rng.normal(40, 10, 300), "plan": rng.integers(0, 3, 300),
                      "region": rng.choice(["north", "south"], 300), "active": rng.random(300) > 0.5})
    y = (X.age > 40).astype(int)
    numeric = X[["age", "plan"]]
    return X, numeric, y, LogisticRegression(max_iter=500).fit(numeric, y)


def test_predict_health_metadata_and_validation(session, data):
    _, X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    registry_api.promote("churn", "production")
    with running(create_app("churn@production", poll_interval=0.2)) as client:
        assert client.get("/health").json() == {"status": "ok", "model": "churn", "version": 1}
        meta = client.get("/metadata").json()
        assert meta["version"] == 1 and [c["name"] for c in meta["input_schema"]["columns"]] == ["age", "plan"]
        rows = X.head(3).to_dict("records")
        expected = clf.predict(X.head(3)).tolist()
        assert client.post("/predict", json={"records": rows}).json()["predictions"] == expected
        assert client.post("/predict", json=rows).json()["predictions"] == expected
        cols = {"age": X.age.head(3).tolist(), "plan": X.plan.head(3).tolist()}
        assert client.post("/predict", json={"columns": cols}).json()["predictions"] == expected
        extra = client.post("/predict", json=[{"age": 30.0, "plan": 1, "zip": "x"}]).json()
        assert extra["ignored_columns"] == ["zip"]
        missing = client.post("/predict", json=[{"age": 30.0}])
        assert missing.status_code == 422
        assert missing.json()["error"] == "missing column plan; the model needs age, plan"
        wrong = client.post("/predict", json=[{"age": "old", "plan": 1}])
        assert wrong.status_code == 422 and "column 'age' expects numbers (float64); row 0 has 'old'" in \
            wrong.json()["error"]
        assert client.post("/predict", content=b"{nope").status_code == 400
        assert client.post("/predict", json={"rows": 1}).status_code == 422
    time.sleep(0.05)
    served = mlops.served_inputs("churn", limit=100)
    assert list(served.columns) == ["age", "plan"] and len(served) == 3 + 3 + 3 + 1
    assert served.dtypes["plan"] == np.int64


def test_hostile_bodies_are_one_line_4xx_and_the_server_stays_up(session, data):
    _, X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = [
        (deep, 400, "nested too deeply"),
        (b'[{"age": 1.0, "plan": 1' + b"0" * 400 + b"}]", 422, "column 'plan' expects integers from"),
        (b'[{"age": 1' + b"0" * 400 + b', "plan": 1}]', 422, "column 'age' expects numbers in range"),
        (b'[{"age": null, "plan": 1}]', 422, "row 0 has a missing value (null) in column 'age'"),
        (b'[{"age": 1.0, "plan": 1}, {"age": NaN, "plan": 1}]', 422, "row 1 has a missing value (NaN)"),
        (b'[{"age": Infinity, "plan": 1}]', 422, "column 'age' expects finite numbers"),
        (b'[{"age": 1.0, "plan": [[[[1]]]]}]', 422, "column 'plan' expects integers"),
        (b'{"columns": {"age": [1.0], "plan": {"a": 1}}}', 422, '"columns" must map'),
        (b"\xff\xfe not utf-8", 400, "not JSON"),
        (b'[{"age": 1.0, "plan": 1' + b"1" * 5000 + b"}]", 400, "not JSON"),
    ]
    with running(create_app("churn@1", poll_interval=0.2, max_body=1_000_000)) as client:
        for body, status, fragment in cases:
            reply = client.post("/predict", content=body, headers={"content-type": "application/json"})
            assert reply.status_code == status, (body[:40], reply.text[:300])
            message = reply.json()["error"]
            assert fragment in message and "\n" not in message and len(message) < 400, message
        big = client.post("/predict", content=b"[" + b'{"age": 1.0, "plan": 1},' * 50_000 + b"{}]")
        assert big.status_code == 413 and "--max-body" in big.json()["error"]

        def chunks():  # no Content-Length: refused while streaming in
            for _ in range(100):
                yield b" " * 100_000

        streamed = client.post("/predict", content=chunks())
        assert streamed.status_code == 413
        ok = client.post("/predict", json=X.head(2).to_dict("records"))
        assert ok.status_code == 200 and ok.json()["predictions"] == clf.predict(X.head(2)).tolist()


class Unbounded:
    """A model whose predictions JSON cannot carry (a regressor that overflowed)."""

    def predict(self, X):
        return np.where(np.asarray(X)[:, 0] > 100, np.inf, np.nan)


def test_non_finite_predictions_are_one_json_line(session, data):
    _, X, _, _ = data
    with pytest.warns(UserWarning, match="Unbounded"):  # a class of ours: trusted, and said so
        registry_api.register_model(Unbounded(), "reg", input=X)
    with running(create_app("reg@1", poll_interval=0.2)) as client:
        reply = client.post("/predict", json=[{"age": 1e300, "plan": 2}])
        assert reply.status_code == 500 and "JSON cannot carry" in reply.json()["error"], reply.text
        assert "\n" not in reply.json()["error"]
        assert client.get("/health").status_code == 200


def test_alias_move_is_picked_up_without_dropping_requests(session, data):
    _, X, y, clf = data
    from sklearn.dummy import DummyClassifier

    registry_api.register_model(clf, "churn", input=X)
    constant = DummyClassifier(strategy="constant", constant=7).fit(X, np.full(len(y), 7))
    registry_api.register_model(constant, "churn", input=X)
    registry_api.promote("churn", "production", version=1)
    row = X.head(1).to_dict("records")
    with running(create_app("churn@production", poll_interval=0.1)) as client:
        results, stop = [], threading.Event()

        def hammer():
            while not stop.is_set():
                r = client.post("/predict", json=row)
                results.append((r.status_code, r.json()["version"]))

        worker = threading.Thread(target=hammer)
        worker.start()
        time.sleep(0.3)
        registry_api.promote("churn", "production", version=2)
        deadline = time.time() + 10
        while client.get("/health").json()["version"] != 2:
            assert time.time() < deadline, "the server did not pick up the alias move"
            time.sleep(0.05)
        time.sleep(0.2)
        stop.set()
        worker.join()
        assert client.post("/predict", json=row).json()["predictions"] == [7]
    assert all(status == 200 for status, _ in results)
    versions = [v for _, v in results]
    assert versions[0] == 1 and versions[-1] == 2 and versions == sorted(versions)


def test_unknown_reference_fails_before_listening(session, data):
    _, X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    with pytest.raises(Exception, match="no alias 'production'"):
        create_app("churn@production")


def test_prepare_checks_types_per_column(data):
    X, _, _, _ = data
    schema = registry.input_schema(X)
    ok = prepare({"records": X.head(2).to_dict("records")}, schema)
    assert list(ok.frame.columns) == list(X.columns) and ok.frame.dtypes["active"].kind == "b"
    cases = [
        ([{"age": 1.0, "plan": 1.5, "region": "x", "active": True}], "column 'plan' expects integers"),
        ([{"age": 1.0, "plan": 1, "region": 3, "active": True}], "column 'region' expects strings"),
        ([{"age": True, "plan": 1, "region": "x", "active": True}], "column 'age' expects numbers"),
        ([{"age": 1.0, "plan": 1, "region": "x", "active": "yes"}], "column 'active' expects true or false"),
        ([{"age": 1.0, "plan": 1, "region": "x", "active": True}, {"age": 2.0}], "row 1 has no value"),
        ([], "no rows"),
        ("text", "cannot read the request body"),
    ]
    for payload, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            prepare(payload, schema)


def test_mlops_serve_command_in_its_own_process(session, data, tmp_path):
    import os
    import subprocess
    import sys

    _, X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    registry_api.promote("churn", "production")
    port = free_port()
    env = {**os.environ, "MLOPS_STORE": str(tmp_path / "store")}
    proc = subprocess.Popen([sys.executable, "-m", "mlops_magic.cli", "serve", "churn@production", "--port",
                             str(port), "--max-body", "2000"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
                break
            except httpx.TransportError:
                assert time.time() < deadline and proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        assert health.json()["version"] == 1
        reply = httpx.post(f"http://127.0.0.1:{port}/predict", json=X.head(2).to_dict("records"), timeout=5)
        assert reply.json()["predictions"] == clf.predict(X.head(2)).tolist()
        big = httpx.post(f"http://127.0.0.1:{port}/predict", json=X.head(100).to_dict("records"), timeout=5)
        assert big.status_code == 413 and "larger than 2000 bytes" in big.json()["error"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "serving churn v1 (churn@production) on http://127.0.0.1:" in out


def test_array_models_and_served_metadata(session, data):
    _, X, y, _ = data
    from sklearn.linear_model import LogisticRegression

    arr = X.to_numpy(dtype=float)
    registry_api.register_model(LogisticRegression().fit(arr, y), "plain", input=arr)
    with running(create_app("plain", poll_interval=0.1)) as client:
        ok = client.post("/predict", json={"instances": arr[:2].tolist()})
        assert ok.status_code == 200 and len(ok.json()["predictions"]) == 2
        bad = client.post("/predict", json={"instances": [[1.0]]})
        assert bad.status_code == 422 and "2 numbers" in bad.json()["error"]
        assert client.get("/metadata").json()["follows_alias"] is True
    time.sleep(0.05)
    served = mlops.served_inputs("plain", with_meta=True)
    assert list(served.columns) == ["x0", "x1", "_version", "_received"] and len(served) == 2


def test_missing_extra_names_the_install_command(monkeypatch):
    import sys

    from mlops_magic.errors import MlopsError

    monkeypatch.setitem(sys.modules, "starlette", None)  # what an environment without the extra looks like
    with pytest.raises(MlopsError, match=r'pip install "mlops-magic\[serve\]"'):
        create_app("churn")


def test_predictions_are_logged_with_request_ids_and_labels_join_them(session, data):
    from mlops_magic.monitoring.performance import performance

    _, X, y, clf = data
    registry_api.register_model(clf, "churn", input=X, labels=y)
    registry_api.promote("churn", "production")
    app = create_app("churn@production", poll_interval=0.1)
    with running(app) as client:
        one = client.post("/predict", json=[X.iloc[0].to_dict()], headers={"X-Request-Id": "order-1"})
        assert one.json()["request_ids"] == ["order-1"] and one.headers["x-request-id"] == "order-1"
        many = client.post("/predict", json={"records": X.iloc[1:4].to_dict("records")},
                           headers={"X-Request-Id": "batch"}).json()
        assert many["request_ids"] == ["batch:0", "batch:1", "batch:2"]
        own = client.post("/predict", json={"columns": {"request_id": ["a", "b"], "age": X.age[4:6].tolist(),
                                                         "plan": X.plan[4:6].tolist()}}).json()
        assert own["request_ids"] == ["a", "b"] and "ignored_columns" not in own
        fresh = client.post("/predict", json=X.iloc[6:106].to_dict("records")).json()["request_ids"]
        assert len(set(fresh)) == 100
        deadline = time.time() + 10
        while app.state.holder.logged < 106:
            assert time.time() < deadline, app.state.holder.logged
            time.sleep(0.05)
        labelled = client.post("/labels", json={"labels": [{"request_id": rid, "label": int(v)}
                                                           for rid, v in zip(fresh, y[6:106])]})
        assert labelled.status_code == 200
        assert labelled.json()["stored"] == 100 and labelled.json()["unknown"] == 0
        wrong = client.post("/labels", json={"ids": ["order-1"], "labels": ["maybe"]})
        assert wrong.status_code == 400 and "label 'maybe' is not one of the model's classes" in wrong.json()["error"]
        assert client.post("/labels", json={"nope": 1}).status_code == 422
        assert client.post("/labels", content=b"[" * 100_000).status_code == 400
    rows = session.store.db.query("SELECT request_id, prediction, proba FROM served_inputs ORDER BY id")
    assert [r[0] for r in rows[:4]] == ["order-1", "batch:0", "batch:1", "batch:2"]
    assert all(r[1] is not None and r[2] is not None for r in rows)
    report = performance(session.store, "churn@production", min_rows=50)
    [window] = report.windows
    assert (window.rows, window.labelled, window.source) == (106, 100, "realized")
    expected = float((clf.predict(X.iloc[6:106]) == y[6:106]).mean())
    assert window.realized["accuracy"] == pytest.approx(expected)


def test_eight_threads_lose_no_logged_sample_but_the_counted_drops(session, data):
    from concurrent.futures import ThreadPoolExecutor

    _, X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    registry_api.promote("churn", "production")
    app = create_app("churn@production", poll_interval=0.05)
    app.state.holder._max_rows = 300  # a small buffer, so a slow store makes some drops to count
    rows = X.head(1).to_dict("records")
    with running(app) as client:
        def send(i: int) -> str:
            return client.post("/predict", json=rows, headers={"X-Request-Id": f"r{i}"}).json()["request_ids"][0]

        with ThreadPoolExecutor(8) as pool:
            answered = list(pool.map(send, range(2000)))
        holder = app.state.holder
        deadline = time.time() + 20
        while holder.logged + holder.dropped < 2000:
            assert time.time() < deadline, (holder.logged, holder.dropped)
            time.sleep(0.05)
        meta = client.get("/metadata").json()
    assert sorted(answered) == sorted(f"r{i}" for i in range(2000))
    stored = {r[0] for r in session.store.db.query("SELECT request_id FROM served_inputs")}
    assert len(stored) == meta["logged_rows"] == holder.logged
    assert holder.logged + holder.dropped == 2000 and meta["dropped_rows"] == holder.dropped

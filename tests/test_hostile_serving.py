"""Hostile request ids, labels and samples against a real ``mlops serve`` (issue 19, items 6 and 7).

One request-id rule everywhere (``monitoring.request_ids``): a string of 1 to 128 printable characters
or an integer, refused in one line otherwise by ``/predict``, ``/labels``, ``mlops.log_labels`` and
``mlops labels add``; the ``X-Request-Id`` echo is always a valid header; an answer that ends in an
error keeps no sample, and one sample the store refuses never costs the rest of its flush.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from serving_support import running

import mlops_magic as mlops
from mlops_magic.errors import InvalidInputError
from mlops_magic.monitoring.request_ids import MAX_LENGTH, header_value, request_id
from mlops_magic.registry import api as registry_api
from mlops_magic.serving.app import ModelHolder, Sample, create_app
from mlops_magic.serving.inputs import prepare
from mlops_magic.tracking.session import get_session


@pytest.fixture(scope="module")
def data():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"age": rng.normal(40, 10, 300), "plan": rng.integers(0, 3, 300)})
    y = (X.age > 40).astype(int)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


@pytest.fixture
def backend(store_url: str):
    """The session on an empty store of each backend (conftest's ``store_url``)."""
    return get_session()


def one_line(reply, status: int | tuple[int, ...] = 422) -> str:
    statuses = status if isinstance(status, tuple) else (status,)
    message = reply.json()["error"]
    assert reply.status_code in statuses and "\n" not in message and len(message) < 400, (reply.status_code, message)
    return message


def labels_of(store) -> dict[str, str]:
    return dict(store.db.query("SELECT request_id, label FROM labels"))


def wait_for_samples(store, model: str, count: int) -> None:
    """Until the server's background flush has stored ``count`` served samples (labels join only those)."""
    from mlops_magic.store import monitoring as tables

    deadline = time.monotonic() + 60
    while len(tables.served_rows(store.db, model, count)) < count:
        assert time.monotonic() < deadline, "the served sample was never stored"
        time.sleep(0.05)


# -- the rule itself -----------------------------------------------------------------------------------
def test_the_request_id_rule() -> None:
    assert request_id("order-1") == "order-1" and request_id(42) == "42" and request_id(np.int64(7)) == "7"
    assert request_id("注文-1") == "注文-1" and request_id("🙂 x") == "🙂 x" and request_id("x" * MAX_LENGTH)
    for bad, fragment in [(None, "null"), (True, "true or false"), (1.5, "a float"), ([1, 2], "a list"),
                          ({"x": 1}, "a dict"), ("", "empty"), ("  ", "empty"), ("x" * 129, "129 characters"),
                          ("a\r\nb", "control character"), ("a\tb", "control character"),
                          ("\ud800", "lone surrogate"), (10**200, "more than 128 digits")]:
        with pytest.raises(InvalidInputError, match=fragment):
            request_id(bad)
    assert header_value("order-1") == "order-1" and header_value("50%off") == "50%25off"
    for rid in ("注文-1", "🙂 x", "a%b", "plain"):
        encoded = header_value(rid)
        assert encoded.isascii() and encoded.isprintable() and unquote(encoded) == rid


# -- item 6: /labels ------------------------------------------------------------------------------------
def test_labels_refuse_what_the_rule_refuses_and_store_nothing(backend, data) -> None:
    X, y, clf = data
    registry_api.register_model(clf, "churn", input=X, labels=y)
    with running(create_app("churn@1", poll_interval=0.1)) as client:
        assert client.post("/predict", json=[X.iloc[0].to_dict()], headers={"X-Request-Id": "r1"}).status_code == 200
        wait_for_samples(backend.store, "churn", 1)
        for ids in ([None], [{"x": 1}], [[1, 2]], [True], [1.5], ["a\r\nb"], ["x" * 200], [""]):
            reply = client.post("/labels", json={"ids": ids, "labels": [1]})
            assert "request id" in one_line(reply), ids
            rows = [{"request_id": ids[0], "label": 1}]
            assert "request id" in one_line(client.post("/labels", json={"labels": rows})), ids
        surrogate = client.post("/labels", content=json.dumps({"ids": ["\ud800"], "labels": [1]}))
        assert "lone surrogate" in one_line(surrogate, 400)
        for label in ({"x": 1}, [1, 2], None):
            reply = client.post("/labels", json={"ids": ["r1"], "labels": [label]})
            assert "label" in one_line(reply, (400, 422)), label
        assert labels_of(backend.store) == {}
        stored = client.post("/labels", json={"ids": ["r1", 42], "labels": [1, 0]})
        assert stored.status_code == 200 and stored.json()["stored"] == 2 and stored.json()["unknown"] == 1
    assert labels_of(backend.store) == {"r1": "1", "42": "0"}


def test_log_labels_and_the_cli_follow_the_same_rule(backend, data, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mlops_magic.cli.main import main

    X, y, clf = data
    registry_api.register_model(clf, "churn", input=X, labels=y)
    for ids, fragment in (([None], "request id 0 is null"), (["ok", {"a": 1}], "request id 1 is a dict"),
                          ([True], "true or false"), ([2.0], "a float")):
        with pytest.raises(InvalidInputError, match=fragment):
            mlops.log_labels("churn", ids, [1] * len(ids))
    assert labels_of(backend.store) == {}
    pd.DataFrame({"request_id": ["r1", None], "churned": [1, 0]}).to_csv(tmp_path / "labels.csv", index=False)
    bad = CliRunner().invoke(main, ["labels", "add", str(tmp_path / "labels.csv"), "--model", "churn",
                                    "--label", "churned"])
    assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "request id 1 is a float" in bad.output
    pd.DataFrame({"request_id": [7, 8], "churned": [1, 0]}).to_csv(tmp_path / "labels.csv", index=False)
    good = CliRunner().invoke(main, ["labels", "add", str(tmp_path / "labels.csv"), "--model", "churn",
                                     "--label", "churned"])
    assert good.exit_code == 0, good.output
    assert labels_of(backend.store) == {"7": "1", "8": "0"}


# -- item 7: /predict ------------------------------------------------------------------------------------
def test_predict_takes_ids_in_any_script_and_echoes_a_valid_header(session, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    row = X.iloc[0].to_dict()
    with running(create_app("churn@1", poll_interval=0.1)) as client:
        for rid in ("注文-1", "🙂 order", "50%off", 7):
            reply = client.post("/predict", json={"columns": {"request_id": [rid], **{k: [v] for k, v in row.items()}}})
            assert reply.status_code == 200, reply.text
            assert reply.json()["request_ids"] == [str(rid)] and unquote(reply.headers["x-request-id"]) == str(rid)
        utf8 = client.post("/predict", json=[row], headers={"X-Request-Id": "注文-2".encode()})
        assert utf8.json()["request_ids"] == ["注文-2"] and unquote(utf8.headers["x-request-id"]) == "注文-2"
        batch = client.post("/predict", json=[row, row], headers={"X-Request-Id": "b"})
        assert batch.json()["request_ids"] == ["b:0", "b:1"] and "x-request-id" not in batch.headers
        for rid, fragment in (("a\r\nb", "control character"), (1.5, "a float"), (None, "null"),
                              ("x" * 129, "129 characters")):
            reply = client.post("/predict", json={"columns": {"request_id": [rid], **{k: [v] for k, v in row.items()}}})
            assert fragment in one_line(reply), rid
        long_header = client.post("/predict", json=[row], headers={"X-Request-Id": "h" * 200})
        assert "X-Request-Id header has 200 characters" in one_line(long_header)
        rows_too_long = client.post("/predict", json=[row] * 2, headers={"X-Request-Id": "h" * MAX_LENGTH})
        assert "row 0" in one_line(rows_too_long)
        assert client.get("/health").status_code == 200
    served = session.store.db.query("SELECT request_id FROM served_inputs ORDER BY id")
    assert [r[0] for r in served] == ["注文-1", "🙂 order", "50%off", "7", "注文-2", "b:0", "b:1"]


def test_a_request_that_ends_in_an_error_keeps_no_sample(session) -> None:
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"x": np.arange(10.0)})
    registry_api.register_model(LinearRegression().fit(X, X.x * 1e10), "scale", input=X)
    with running(create_app("scale@1", poll_interval=0.1)) as client:
        fine = client.post("/predict", json=[{"x": 1.0}], headers={"X-Request-Id": "fine"})
        assert fine.status_code == 200
        huge = client.post("/predict", json=[{"x": 1e300}], headers={"X-Request-Id": "overflow"})
        assert "JSON cannot carry" in one_line(huge, 500)  # the model's answer, not the client's request
    served = session.store.db.query("SELECT request_id FROM served_inputs ORDER BY id")
    assert [r[0] for r in served] == ["fine"]


def test_one_sample_the_store_refuses_never_costs_the_rest_of_the_flush(backend, data) -> None:
    X, _, clf = data
    registry_api.register_model(clf, "churn", input=X)
    holder = ModelHolder(backend.store, "churn@1")
    schema = holder.current.version.input_schema
    for rid in ("g1", "\ud800", "g2"):  # a sample built in memory, past every check (no request makes one)
        prepared = prepare([X.iloc[0].to_dict()], schema)
        holder.remember(Sample(holder.current, prepared, [int(clf.predict(prepared.frame)[0])], [rid]))
    assert holder.flush() == 2 and (holder.logged, holder.dropped) == (2, 1)
    served = backend.store.db.query("SELECT request_id FROM served_inputs ORDER BY id")
    assert [r[0] for r in served] == ["g1", "g2"]

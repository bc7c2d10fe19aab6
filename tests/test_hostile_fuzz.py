"""Every route of both servers under hostile values (issue 19): never a 5xx, and the server still answers.

Hypothesis throws long names and paths, deep nesting, lone surrogates, bytes that are not UTF-8, and
values of the wrong type into every path parameter, query argument, JSON field and header of every route
of the Jupyter server extension (a real ``jupyter server`` process, a real store with a run, a model and
a schedule) and of ``mlops serve`` (a real Uvicorn app). Each answer must be below 500; afterwards Jupyter's
own ``/api/status`` and ``mlops serve``'s ``/health`` must still answer. Derandomized: the same examples
every run, no flakiness, about a minute in all.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
import pytest
from _support import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_support import jupyter_server_process
from serving_support import running

from mlops_magic.registry import api as registry_api
from mlops_magic.scheduling.schedules import add_schedule
from mlops_magic.server import routes
from mlops_magic.serving.app import create_app
from mlops_magic.store import clear_cache, open_store
from mlops_magic.tracking.session import reset_session

# -- hostile values ---------------------------------------------------------------------------------------
#: Each family is as likely as any other, so every example is hostile in some way.
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["n" * 300 + ".ipynb", "/".join(["d" * 200] * 25), "x" * 10_000]),  # too long
    st.sampled_from(["\ud800", "a\udfff.ipynb", "sub/\udc80/nb.ipynb"]),  # lone surrogates
    st.sampled_from([".", "", "/", "./", "..", "../etc/passwd", "sub//./nb.ipynb", "~/x", "%2e%2e/x", "/etc"]),
    st.sampled_from(["a\x00b", "a\\b", "\r\n", "🙂注文", "-1", "1e999", "*", "0 2 * * *", "NaN"]),
    st.sampled_from(["nb.ipynb", "lifecycle.ipynb", "churn", "production", "latest", "train"]),  # real names
)
#: Only in bodies: a URL this long is refused by the HTTP layer before any route sees it.
LONG_TEXT = st.sampled_from(["%%mlops stage train --name " + "x" * 300_000, "y" * 1_000_000])
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                   st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT, LONG_TEXT)
JSON_VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.sampled_from(["source", "cell_type", "tags", "id", "x"]), inner,
                                            max_size=3), max_leaves=6)
FIELDS = ["path", "cells", "from", "to", "notebook", "after", "on_change", "params", "stages", "version",
          "if_better", "reason", "paused", "cron", "timezone", "on_drift", "timeout", "retries", "catchup",
          "executor", "resources", "labels", "ids", "records", "columns", "instances", "request_id"]
JSON_OBJECT = st.fixed_dictionaries({}, optional={name: JSON_VALUE for name in FIELDS})
RAW_BODY = st.one_of(
    st.integers(20, 5_000).map(lambda n: b"[" * n + b"]" * n),  # past the depth limit, or past Python's stack
    st.integers(20, 200).map(lambda n: b'{"path": ' + b"[" * n + b"1" + b"]" * n + b"}"),
    st.sampled_from([b"\xff\xfe{}", b"\xed\xa0\x80", b'{"path": "\xff"}', b"", b"null", b"[]", b"1" * 5000,
                     b'{"path": 1e999999}', b"{" * 3]),
    # twice as likely as each raw family: objects get past the reader to each route's own checks
    JSON_OBJECT.map(lambda o: json.dumps(o).encode()),  # ensure_ascii: a lone surrogate travels as "\ud800"
    JSON_OBJECT.map(lambda o: json.dumps(o).encode()),
)


def encoded(text: str) -> str:
    """``text`` percent-encoded as UTF-8, lone surrogates as the (invalid) bytes they would be."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def assert_answered(reply: httpx.Response, what: str) -> None:
    assert reply.status_code < 500, f"{what} -> {reply.status_code}: {reply.text[:600]}"


SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=20,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# -- the Jupyter server extension -------------------------------------------------------------------------
ROUTES = routes()
METHODS = ("get", "post", "put", "patch", "delete")
QUERY = ["at", "path", "notebook", "limit", "offset", "status", "trigger", "since", "a", "b"]


def route_methods() -> list[tuple[str, str]]:
    """(route pattern, method) for every method every handler implements itself."""
    out = []
    for pattern, handler in ROUTES:
        for method in METHODS:
            if any(method in vars(cls) for cls in handler.__mro__ if cls.__module__.startswith("mlops_magic")):
                out.append((pattern, method))
    return out


def fill(pattern: str, values: list[str]) -> str:
    """The route with each ``(?P<name>…)`` group replaced by a hostile value."""
    import re

    it = iter(values)
    return re.sub(r"\(\?P<\w+>[^)]*\)", lambda _: encoded(next(it) or "x"), pattern)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real Jupyter server on a root holding a store with a run, a registered model and a schedule."""
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("fuzz") / "root"
    root.mkdir()
    shutil.copy(REPO / "demo_notebooks" / "lifecycle.ipynb", root / "lifecycle.ipynb")
    shutil.copy(REPO / "demo_notebooks" / "lifecycle.ipynb", root / "nb.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPS_STORE", str(root))
        clear_cache()
        reset_session()
        store = open_store(str(root))
        run = store.create_run(notebook="nb.ipynb", trigger="interactive")
        store.finish_run(run.id, "succeeded")
        X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
        registry_api.register_model(LogisticRegression().fit(X, X.a > 9), "churn", input=X)
        registry_api.promote("churn", "production")
        add_schedule(store, str(root / "nb.ipynb"), cron="0 2 * * *")
        reset_session()
        clear_cache()
    env = {k: v for k, v in os.environ.items() if k != "MLOPS_STORE"}  # the server finds the root's store
    with jupyter_server_process(root, env) as (url, token), \
            httpx.Client(headers={"Authorization": f"token {token}"}, timeout=60) as client:
        yield url, client


def test_the_fuzz_covers_every_route_of_the_extension() -> None:
    covered = {pattern for pattern, _ in route_methods()}
    assert covered == {pattern for pattern, _ in ROUTES} and len(route_methods()) >= len(ROUTES)


@pytest.mark.slow
@pytest.mark.parametrize("target", route_methods(), ids=lambda t: f"{t[1].upper()} {t[0]}")
@SETTINGS
@given(data=st.data())
def test_no_hostile_request_gets_a_5xx_from_the_extension(lab: Any, target: tuple[str, str], data: Any) -> None:
    url, client = lab
    pattern, method = target
    segments = data.draw(st.lists(HOSTILE_TEXT, min_size=3, max_size=3), label="path parameters")
    query = data.draw(st.fixed_dictionaries({}, optional={name: HOSTILE_TEXT for name in QUERY}), label="query")
    body = None if method in ("get", "delete") else data.draw(RAW_BODY, label="body")
    if pattern == "run-now" and body is not None and b"ipynb" in body:
        body = body.replace(b"ipynb", b"ipynx")  # a hostile request, not a real headless run per example
    qs = "&".join(f"{k}={encoded(v)}" for k, v in query.items())
    target_url = f"{url}/{fill(pattern, segments)}" + (f"?{qs}" if qs else "")
    reply = client.request(method.upper(), target_url, content=body)
    assert_answered(reply, f"{method.upper()} {target_url[:300]} body={(body or b'')[:120]!r}")
    assert client.get(url.rsplit("/mlops/", 1)[0] + "/api/status", timeout=30).status_code == 200


@pytest.mark.slow
def test_the_lab_server_still_answers_after_the_fuzz(lab: Any) -> None:
    url, client = lab
    status = client.get(url.rsplit("/mlops/", 1)[0] + "/api/status", timeout=10)
    assert status.status_code == 200 and "started" in status.json()
    assert client.get(f"{url}/info", timeout=10).json()["api"] == "v1"


# -- mlops serve ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("serve")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPS_STORE", str(folder))
        clear_cache()
        reset_session()
        X = pd.DataFrame({"age": np.linspace(20, 60, 40), "plan": np.arange(40) % 3})
        registry_api.register_model(LogisticRegression().fit(X, X.age > 40), "churn", input=X, labels=X.age > 40)
        app = create_app("churn@1", poll_interval=0.2)
        with running(app) as client:
            yield app, client
        reset_session()
        clear_cache()


HEADER = st.one_of(st.none(), st.sampled_from([b"order-1", "注文".encode(), b"\xff\xfe", b"x" * 300, b"", b"a b",
                                               b"%ED%A0%80", b"a\tb"]))


def test_the_fuzz_covers_every_route_of_mlops_serve(served: Any) -> None:
    app, _ = served
    assert {r.path for r in app.routes} == {path for path, _ in SERVE_ROUTES}


SERVE_ROUTES = [("/predict", "POST"), ("/labels", "POST"), ("/health", "GET"), ("/metadata", "GET")]


#: Rows that often pass the schema (so the request ids, labels and headers are what is hostile).
ROW = st.fixed_dictionaries({"age": st.one_of(st.floats(20, 60), SCALAR),
                             "plan": st.one_of(st.integers(0, 2), SCALAR)},
                            optional={"request_id": JSON_VALUE, "label": JSON_VALUE, "zip": JSON_VALUE})


@pytest.mark.slow
@pytest.mark.parametrize("target", SERVE_ROUTES, ids=lambda t: f"{t[1]} {t[0]}")
@settings(SETTINGS, max_examples=30)
@given(body=RAW_BODY, header=HEADER, rows=st.lists(ROW, min_size=1, max_size=3))
def test_no_hostile_request_gets_a_5xx_from_mlops_serve(served: Any, target: tuple[str, str], body: bytes,
                                                        header: bytes | None, rows: list[dict[str, Any]]) -> None:
    _, client = served
    path, method = target
    headers = {"X-Request-Id": header} if header is not None else {}
    pairs = {"ids": [r.get("request_id") for r in rows], "labels": [r.get("label") for r in rows]}
    for content in (body, json.dumps(rows).encode(), json.dumps({"labels": rows}).encode(),
                    json.dumps(pairs).encode()):
        reply = client.request(method, path, content=content if method == "POST" else None, headers=headers)
        assert_answered(reply, f"{method} {path} header={header!r} body={content[:160]!r}")


@pytest.mark.slow
def test_mlops_serve_still_answers_after_the_fuzz(served: Any) -> None:
    _, client = served
    assert client.get("/health", timeout=10).json()["status"] == "ok"
    reply = client.post("/predict", json=[{"age": 30.0, "plan": 1}], headers={"X-Request-Id": "after-fuzz"},
                        timeout=10)
    assert reply.status_code == 200 and reply.json()["request_ids"] == ["after-fuzz"]

"""Model serving and registry benchmarks: `python benchmarks/bench_models.py [--requests N]`.

1. Single-row predict latency (p50, p99) through `mlops serve` (its own process, Uvicorn) against
   calling ``model.predict`` in process on the same one-row DataFrame, with prediction logging on
   (every request's inputs, prediction, probabilities and request id kept, the default) and off
   (``--sample 0``). Goal: at most 1 ms added at p50 with logging on.
2. 1,000-row batch throughput, HTTP against in process.
3. Registration and load time against ``joblib.dump`` / ``joblib.load`` of the same model.
4. ``mlops import mlflow`` of an MLflow store of ``--import-runs`` runs x 20 metrics x 100 steps (default
   10,000 runs: 20 million points), against ``mlflow.search_runs`` reading the same runs, in the same run.
   The store is made with MLflow's schema (MLflow creates it; rows are inserted directly, see
   ``_mlflow_store.py``); needs ``pip install "mlops-magic[mlflow]"``. ``--only-import`` runs just this.
5. The Open Inference Protocol v2: the same model behind `mlops serve` (``/v2/models/bench/infer``, logging
   on) and behind MLServer's scikit-learn runtime (its own virtualenv and process, `mlserver start`), the
   same JSON request body to both (one tensor per column, ``content_type: pd`` so MLServer builds the same
   DataFrame, ``outputs: predict``): p50/p99 latency and rows/s for 1-row and 1,000-row requests, the two
   servers measured in turns in the same run. Goal: at least 1x MLServer's rows/s on both sizes.

The HTTP client is ``http.client`` on one keep-alive connection, so the figures measure the server,
not a client library's overhead. Everything runs in a temporary store.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _peer_env import wait_until_ready

# One OpenMP thread in both processes: with two processes sharing the CPUs, OpenMP workers spinning in one
# (HistGradientBoosting predicts with OpenMP) starve the other and the figures measure contention, not
# serving. One row does not gain from threads anyway. Set OMP_NUM_THREADS yourself to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _data(rows: int = 5000):
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(8)})
    X["plan"] = rng.integers(0, 4, rows)
    X["tenure"] = rng.integers(0, 120, rows)
    y = ((X.f0 + X.f1 * X.f2 + X.plan / 3) > 0.5).astype(int)
    return X, HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)


def _post(conn: http.client.HTTPConnection, body: bytes, path: str = "/predict") -> dict:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {payload[:200]!r}")
    return json.loads(payload)


def _get(conn: http.client.HTTPConnection, path: str) -> dict:
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def _v2_body(frame) -> bytes:
    """An infer request of ``frame``, one tensor per column, as a tritonclient or MLServer client sends it."""
    inputs = [{"name": c, "shape": [len(frame)], "datatype": "INT64" if frame[c].dtype.kind == "i" else "FP64",
               "data": frame[c].tolist()} for c in frame.columns]
    return json.dumps({"inputs": inputs, "parameters": {"content_type": "pd"},
                       "outputs": [{"name": "predict"}]}).encode()


def _measure(port: int, path: str, one: bytes, batch: bytes, requests: int, batches: int,
             warm: bool) -> dict[str, list[float]]:
    """Latencies of ``requests`` 1-row and ``batches`` 1,000-row requests to ``path`` (after a warm-up)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(100 if warm else 1):
        _post(conn, one, path)
    if warm:
        _post(conn, batch, path)
    return {"one": _timed(lambda: _post(conn, one, path), requests),
            "batch": _timed(lambda: _post(conn, batch, path), batches)}


def _settle(port: int, rows: int) -> dict:
    """Wait until `mlops serve` has logged (or counted as dropped) ``rows`` rows, so its flush does not run
    while the peer is measured; its /metadata."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.time() + 120
    while True:
        meta = _get(conn, "/metadata")
        if meta["logged_rows"] + meta["dropped_rows"] >= rows or time.time() > deadline:
            return meta
        time.sleep(0.1)


def _protocols(tmp: Path, X, model, requests: int, batches: int, rounds: int) -> None:
    """Section 4: v2 infer through `mlops serve` against MLServer's scikit-learn runtime, as it ships (one
    inference worker process) and predicting in its HTTP process (``parallel_workers: 0``)."""
    from _mlserver import VERSION, mlserver

    one, batch = _v2_body(X.head(1)), _v2_body(X.head(1000))
    names = ("mlops serve (logging on)", f"MLServer {VERSION}", "MLServer, 0 workers")
    samples: dict[str, dict[str, list[float]]] = {n: {"one": [], "batch": []} for n in names}
    sent, path = 0, "/v2/models/bench/infer"

    def peer(folder: str, workers: int | None):
        return mlserver(model, tmp / folder, "bench", (_free_port(), _free_port(), _free_port()), workers)

    with _server(tmp, "1") as conn, peer("mlserver", None) as default, peer("mlserver0", 0) as inline:
        ports = dict(zip(names, (conn.port, default, inline)))
        for turn in range(rounds):  # short turns, so a busy moment of the shared machine falls on each alike
            for name in names:
                n_one, n_batch = requests // rounds, max(1, batches // rounds)
                for size, times in _measure(ports[name], path, one, batch, n_one, n_batch, turn == 0).items():
                    samples[name][size] += times
                if name == names[0]:
                    sent += (100 + 1000 if turn == 0 else 1) + n_one + 1000 * n_batch
                    meta = _settle(conn.port, sent)
    print()
    print(f"Open Inference Protocol v2 infer, the same JSON body to each server (one tensor per column), "
          f"in {rounds} turns")
    print("                       " + "".join(f"{n:>26}" for n in names) + "   ours/best peer")
    for size, rows, label in (("one", 1, "1 row"), ("batch", 1000, "1,000 rows")):
        for q, what in ((0.5, "p50 ms"), (0.99, "p99 ms")):
            ms = [_percentile(samples[n][size], q) * 1000 for n in names]
            print(f"  {label:<11}{what:<9}" + "".join(f"{m:26.3f}" for m in ms)
                  + f"   {min(ms[1:]) / ms[0]:5.2f}x faster")
        rate = [rows / statistics.median(samples[n][size]) for n in names]
        print(f"  {label:<11}{'rows/s':<9}" + "".join(f"{r:26,.0f}" for r in rate)
              + f"   {rate[0] / max(rate[1:]):5.2f}x (goal >= 1x)")
    print(f"  mlops serve logged {meta['logged_rows']:,} rows for monitoring and dropped {meta['dropped_rows']:,} "
          "(its buffer was full: the store fell behind)")


@contextlib.contextmanager
def _server(tmp: Path, sample: str):
    """`mlops serve bench@production --sample SAMPLE` in its own process, and a keep-alive connection."""
    port = _free_port()
    paths = [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    server = subprocess.Popen([sys.executable, "-m", "mlops_magic.cli", "--store", str(tmp / "store"), "serve",
                               "bench@production", "--port", str(port), "--sample", sample], env=env,
                              stdout=subprocess.DEVNULL)
    try:
        conn = wait_until_ready(port, "/health", server, 60, lambda: "the server did not start")
        yield conn
    finally:
        server.terminate()
        server.wait(timeout=30)


def _bench_import(tmp: Path, runs: int, metrics: int, steps: int) -> None:
    """``mlops import mlflow`` against ``mlflow.search_runs`` over the same MLflow store."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        print('\nimport from MLflow: skipped (pip install "mlops-magic[mlflow]")')
        return
    (tmp / "mlflow").mkdir()
    try:
        _time_import(tmp, runs, metrics, steps)
    finally:  # 10,000 runs make a 4.7 GB MLflow store: never leave it behind
        import shutil

        shutil.rmtree(tmp / "mlflow", ignore_errors=True)
        shutil.rmtree(tmp / "imported", ignore_errors=True)


def _time_import(tmp: Path, runs: int, metrics: int, steps: int) -> None:
    import mlflow
    from mlflow import MlflowClient

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _mlflow_store import make_store

    from mlops_magic.interop.mlflow_import import import_mlflow
    from mlops_magic.store import open_store

    start = time.perf_counter()
    uri = make_store(tmp / "mlflow" / "mlflow.db", runs, metrics, steps)
    made = time.perf_counter() - start
    mlflow.set_tracking_uri(uri)
    start = time.perf_counter()
    frame = mlflow.search_runs(experiment_names=["bench"], max_results=50_000)
    searched = time.perf_counter() - start
    assert len(frame) == runs, len(frame)
    client = MlflowClient(uri)
    sample = [(frame.run_id[i], f"m{m}") for i in range(min(runs, 10)) for m in range(metrics)]
    start = time.perf_counter()
    for run_id, key in sample:
        client.get_metric_history(run_id, key)
    per_history = (time.perf_counter() - start) / len(sample)
    store = open_store(str(tmp / "imported"))
    start = time.perf_counter()
    summary = import_mlflow(store, uri)
    took = time.perf_counter() - start
    assert summary.runs == runs and summary.points == runs * metrics * steps, summary
    first = next(r for r in store.list_runs() if r.name == "run-0")
    ours = [(m.step, round(m.timestamp.timestamp() * 1000), m.value) for m in store.metric_history(first.id, "m0")]
    run0 = frame.run_id[frame["tags.mlflow.runName"] == "run-0"].iloc[0]
    theirs = [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run0, "m0")]
    assert ours == sorted(theirs), "imported points differ from MLflow's"
    start = time.perf_counter()
    again = import_mlflow(store, uri)
    reimport = time.perf_counter() - start
    assert again.runs == 0 and again.already == runs
    points = runs * metrics * steps
    print()
    print(f"import from MLflow: {runs:,} runs x {metrics} metrics x {steps} steps = {points:,} points "
          f"(store made in {made:.0f} s)")
    print(f"  mlflow.search_runs          {searched:8.2f} s   (the runs with latest metrics, params, tags)")
    print(f"  mlops import mlflow         {took:8.2f} s   {points / took:,.0f} points/s; reading MLflow "
          f"{summary.read_seconds:.1f} s, writing {summary.write_seconds:.1f} s "
          f"({points / max(summary.write_seconds, 1e-9):,.0f} points/s)")
    print(f"  MLflow get_metric_history   {per_history * 1000:8.2f} ms per call ({steps} points); "
          f"{runs * metrics:,} calls = {per_history * runs * metrics:,.0f} s of the import")
    print(f"  import again (idempotent)   {reimport:8.2f} s   nothing written")
    print(f"  import / search_runs        {took / searched:8.1f}x   (search_runs reads one value per metric, "
          f"the import every point)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000, help="single-row requests to time")
    p.add_argument("--batches", type=int, default=50, help="1,000-row requests to time")
    p.add_argument("--import-runs", type=int, default=10_000, help="runs of the MLflow store to import (0: skip)")
    p.add_argument("--only-import", action="store_true", help="run only the MLflow import benchmark")
    p.add_argument("--rounds", type=int, default=10, help="turns of mlops serve and MLServer (section 5)")
    p.add_argument("--only-protocols", action="store_true", help="run section 5 only (OIP v2 vs MLServer)")
    args = p.parse_args()
    if args.only_import:
        with tempfile.TemporaryDirectory(prefix="mlops-bench-") as folder:
            _bench_import(Path(folder), args.import_runs, 20, 100)
        return

    import joblib

    from mlops_magic.registry import api as registry_api
    from mlops_magic.tracking.session import reset_session

    tmp = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    os.environ["MLOPS_STORE"] = str(tmp / "store")
    reset_session()
    X, model = _data()
    if args.only_protocols:
        registry_api.register_model(model, "bench", input=X)
        registry_api.promote("bench", "production", version=1)
        _protocols(tmp, X, model, args.requests, args.batches, args.rounds)
        return

    # -- registration and load vs joblib ------------------------------------------------------------
    reg = _timed(lambda: registry_api.register_model(model, "bench", input=X), 10)
    load = _timed(lambda: registry_api.load_model("bench@1"), 10)
    path = tmp / "model.joblib"
    jdump = _timed(lambda: joblib.dump(model, path), 10)
    jload = _timed(lambda: joblib.load(path), 10)
    registry_api.promote("bench", "production", version=1)

    one = X.head(1)
    one_body = json.dumps({"records": one.to_dict("records")}).encode()
    for _ in range(200):
        model.predict(one)
    # -- serving without logging (--sample 0), then with it ---------------------------------------------
    with _server(tmp, "0") as conn:
        for _ in range(200):
            _post(conn, one_body)
        quiet_one = _timed(lambda: _post(conn, one_body), args.requests)
    with _server(tmp, "1") as conn:
        batch = X.head(1000)
        batch_body = json.dumps({"records": batch.to_dict("records")}).encode()
        for _ in range(200):  # warm up both paths
            _post(conn, one_body)
            model.predict(one)
        http_one = _timed(lambda: _post(conn, one_body), args.requests)
        local_one = _timed(lambda: model.predict(one), args.requests)
        conn = http.client.HTTPConnection(conn.host, conn.port, timeout=30)  # keep-alive expired meanwhile
        _post(conn, batch_body)
        http_batch = _timed(lambda: _post(conn, batch_body), args.batches)
        local_batch = _timed(lambda: model.predict(batch), args.batches)
        # in process, a client would also build the frame from its JSON records: time that honestly too
        import pandas as pd

        local_json = _timed(lambda: model.predict(pd.DataFrame(json.loads(batch_body)["records"])), args.batches)

    ms = 1000
    p50h, p99h = _percentile(http_one, 0.5) * ms, _percentile(http_one, 0.99) * ms
    p50l, p99l = _percentile(local_one, 0.5) * ms, _percentile(local_one, 0.99) * ms
    p50q, p99q = _percentile(quiet_one, 0.5) * ms, _percentile(quiet_one, 0.99) * ms
    rows_http = 1000 / statistics.median(http_batch)
    rows_local = 1000 / statistics.median(local_batch)
    rows_json = 1000 / statistics.median(local_json)
    med = statistics.median
    import importlib.util

    fast = [m for m in ("httptools", "uvloop") if importlib.util.find_spec(m)]
    print(f"uvicorn with {', '.join(fast) or 'h11 and asyncio (no httptools/uvloop)'}")
    print(f"model: HistGradientBoostingClassifier, {X.shape[1]} columns; {args.requests} single-row requests, "
          f"{args.batches} x 1,000-row batches; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print("single row            p50 ms    p99 ms")
    print(f"  HTTP, no logging   {p50q:8.3f}  {p99q:8.3f}   (--sample 0)")
    print(f"  HTTP /predict      {p50h:8.3f}  {p99h:8.3f}   (logging every request: inputs, prediction, "
          "probabilities, request id)")
    print(f"  in-process predict {p50l:8.3f}  {p99l:8.3f}")
    print(f"  added by HTTP      {p50h - p50l:8.3f}  {p99h - p99l:8.3f}   (goal: <= 1 ms at p50 with logging) "
          f"ratio {p50h / p50l:.2f}x")
    print()
    print("1,000-row batch       rows/s")
    print(f"  HTTP /predict      {rows_http:10,.0f}")
    print(f"  in-process predict {rows_local:10,.0f}   HTTP/in-process {rows_http / rows_local:.2f}x")
    print(f"  in-process + JSON  {rows_json:10,.0f}   HTTP/(in-process + JSON) {rows_http / rows_json:.2f}x")
    print()
    print("save/load (median)    ms")
    print(f"  register_model     {med(reg) * ms:8.2f}   joblib.dump {med(jdump) * ms:8.2f}   "
          f"ratio {med(reg) / med(jdump):.2f}x")
    print(f"  load_model         {med(load) * ms:8.2f}   joblib.load {med(jload) * ms:8.2f}   "
          f"ratio {med(load) / med(jload):.2f}x")
    if args.import_runs:
        _bench_import(tmp, args.import_runs, 20, 100)
    _protocols(tmp, X, model, args.requests, args.batches, args.rounds)


if __name__ == "__main__":
    main()

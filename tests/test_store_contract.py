"""One store contract, two backends: every test here runs on SQLite and on a real PostgreSQL server, each
with artifacts in a folder and in S3 (a real S3-compatible server on 127.0.0.1, tests/s3_support.py).

The PostgreSQL server is a throwaway cluster (tests/postgres_support.py). Without the server
binaries the postgres cases fail with a hint to run `bash .ci/setup-postgres`; set
MLOPS_SKIP_POSTGRES=1 to skip them instead.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from _support import PYTHON, python_env
from postgres_support import postgres_cluster, postgres_url  # noqa: F401 - fixtures
from s3_support import moto_server, s3_artifacts  # noqa: F401 - fixtures
from store_backends import BACKENDS, backend_url

from mlops_magic.entities import Fingerprint, RunStatus
from mlops_magic.errors import (
    InvalidInputError,
    NotFoundError,
    StoreConflict,
    StoreDuplicate,
    StoreError,
    StoreUnavailable,
    StoreVersionError,
)
from mlops_magic.store import clear_cache, open_store
from mlops_magic.store import schema as schema_mod
from mlops_magic.store.location import parse_store_url

FIXTURES = Path(__file__).parent / "notebooks"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of an empty store of each backend, artifacts in S3 too (conftest's has SQLite and PostgreSQL
    with artifacts in folders, which tests/test_hostile_serving.py uses)."""
    yield from backend_url(request, tmp_path, monkeypatch)


@pytest.fixture
def store(store_url: str):
    return open_store(store_url)


def _spawn(script: str, *args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([PYTHON, "-c", textwrap.dedent(script), *args], env=python_env(), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_all(children: list[subprocess.Popen[str]]) -> list[str]:
    results = [c.communicate(timeout=120) for c in children]
    assert all(c.returncode == 0 for c in children), [r[1][-1500:] for r in results]
    return [r[0] for r in results]


# -- tracking -------------------------------------------------------------------------------------
def test_runs_params_tags_round_trip(store) -> None:
    run = store.create_run(notebook="nb.ipynb", params={"lr": 0.1, "name": "50% ?off", "n": 3, "flag": True})
    store.set_tags(run.id, {"team": "risk", "note": "it's 100%"})
    store.log_params(run.id, {"depth": 4, "n": 5})
    got = store.get_run(run.id[:6])
    assert got.id == run.id and got.notebook == "nb.ipynb"
    assert got.params == {"lr": 0.1, "name": "50% ?off", "n": 5, "flag": True, "depth": 4}
    assert got.tags == {"team": "risk", "note": "it's 100%"} and got.status == "running" and got.host
    assert store.run_requested_params(run.id) == {"lr": 0.1, "name": "50% ?off", "n": 3, "flag": True}
    done = store.finish_run(run.id, "succeeded")
    assert done.status == "succeeded" and done.duration is not None and done.duration >= 0
    assert store.get_run("latest").id == run.id
    assert [r.id for r in store.list_runs(notebook="nb.ipynb", status="succeeded")] == [run.id]
    assert store.count_runs(status="running") == 0
    with pytest.raises(NotFoundError, match="no run"):
        store.get_run("doesnotexist")


def test_metrics_keep_nan_infinities_and_steps(store) -> None:
    run = store.create_run()
    store.log_metric(run.id, "loss", math.nan, step=0)
    store.log_metric(run.id, "loss", math.inf, step=1)
    store.log_metric(run.id, "loss", -math.inf, step=2)
    store.log_metrics(run.id, [("acc", 0.5, 0), ("acc", 0.75, 1)])
    history = store.metric_history(run.id, "loss")
    assert math.isnan(history[0].value) and history[1].value == math.inf and history[2].value == -math.inf
    assert [m.step for m in store.metric_history(run.id, "acc")] == [0, 1]
    assert store.latest_metrics([run.id])[run.id]["acc"] == 0.75
    assert store.last_step(run.id, "loss") == 2
    with pytest.raises(InvalidInputError):
        store.log_metrics(run.id, [("a", 1.0, 0), ("b", "x", 0)])
    assert {m.key for m in store.metric_history(run.id)} == {"loss", "acc"}  # the bad batch wrote nothing


def test_stage_attempts_and_finish(store) -> None:
    run = store.create_run()
    first = store.start_stage(run.id, "train", "gbm")
    second = store.start_stage(run.id, "train", "gbm")
    assert (first.attempt, second.attempt) == (1, 2) and isinstance(first.id, int)
    assert store.get_stage(second.id) == second  # what start_stage answers (built, not read back) is what is stored
    noted = store.start_stage(run.id, "problem", code_digest="abc", notes="why: 50% ?off")
    assert store.get_stage(noted.id) == noted and noted.name == "problem" and noted.status == "running"
    store.finish_stage(first.id, "failed", error_type="ValueError", error_message="bad")
    store.finish_stage(second.id, "succeeded")
    stages = store.list_stages(run.id)
    assert [(s.attempt, s.status) for s in stages] == [(1, "failed"), (2, "succeeded"), (1, "running")]
    assert store.get_stage(first.id).error_type == "ValueError"


def test_artifacts_are_content_addressed(store, tmp_path: Path) -> None:
    run = store.create_run()
    f = tmp_path / "model.txt"
    f.write_text("weights")
    a = store.log_artifact(run.id, f)
    b = store.log_artifact(run.id, f, name="copy.txt")
    c = store.log_artifact_bytes(run.id, "copy.txt", b"other")  # same name again: replaced
    assert a.digest == b.digest and store.artifacts.read_bytes(a.digest) == b"weights"
    assert {x.name: x.digest for x in store.list_artifacts(run.id)} == {"model.txt": a.digest, "copy.txt": c.digest}
    assert store.get_artifact(run.id, "copy.txt").size == 5
    assert {o.digest: o.size for o in store.artifacts.objects()} == {a.digest: 7, c.digest: 5}


def test_artifact_bytes_stream_through_the_seam(store, tmp_path: Path) -> None:
    """Puts from a file, bytes or a stream and reads as a stream or a local file, whatever holds the bytes."""
    import hashlib
    import io

    data = os.urandom(3 << 20) + b"tail"
    digest, size = store.artifacts.put_stream(io.BytesIO(data))
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.artifacts.put_bytes(data) == (digest, size)  # the same bytes are one object
    assert store.artifacts.exists(digest) and not store.artifacts.exists("0" * 64)
    with store.artifacts.open(digest) as fh:
        assert fh.read(4) == data[:4] and fh.read() == data[4:]
    with store.artifacts.local_copy(digest) as path:
        assert path.read_bytes() == data
    with pytest.raises(NotFoundError, match="missing"):
        store.artifacts.open("0" * 64)
    with pytest.raises(NotFoundError, match="missing"), store.artifacts.local_copy("1" * 64):
        pass
    with pytest.raises(InvalidInputError, match="not an artifact digest"):
        store.artifacts.open("../../etc/passwd")
    assert [o.digest for o in store.artifacts.objects()] == [digest]
    assert store.artifacts.remove(digest) and not store.artifacts.exists(digest)
    assert not store.artifacts.remove(digest) and store.artifacts.delete([digest]) == 0


def test_fingerprints_and_events(store) -> None:
    run = store.create_run()
    stage = store.start_stage(run.id, "data")
    fp = Fingerprint(digest="ab" * 16, kind="dataframe", rows=10, schema={"x": "int64"}, size=80, name="df",
                     role="output")
    store.log_fingerprint(run.id, fp, stage_id=stage.id)
    [got] = store.list_fingerprints(run.id)
    assert got.digest == fp.digest and got.rows == 10 and got.schema == {"x": "int64"} and got.stage_id == stage.id
    first = store.emit_event("drift", subject="churn", run_id=run.id, payload={"share": 0.5})
    second = store.emit_event("finished", subject="nb")
    assert isinstance(first, int) and second > first
    events = store.list_events("drift")
    assert [(e["id"], e["subject"], e["payload"]) for e in events] == [(first, "churn", {"share": 0.5})]
    assert [e["id"] for e in store.list_events(after_id=first)] == [second]


def test_lifecycle_view_and_runs_frame(store) -> None:
    from mlops_magic.tracking.queries import list_run_records, run_detail, run_lifecycle, runs_frame

    run = store.create_run(notebook="pipe.ipynb", params={"lr": 0.1})
    for kind in ("data", "train"):
        stage = store.start_stage(run.id, kind)
        store.finish_stage(stage.id, "succeeded")
    again = store.start_stage(run.id, "data")
    store.finish_stage(again.id, "succeeded")
    store.log_metric(run.id, "auc", 0.9)
    store.finish_run(run.id, "succeeded")
    view = {s.kind: s for s in run_lifecycle(store, run.id).stages}
    assert view["data"].attempts == 2 and view["evaluate"].status == "not run"
    assert any("stale" in w for w in view["train"].warnings)
    store.log_metric(run.id, "system.cpu", 12.5)  # a sampled system series is not a result column
    other = store.create_run(notebook="pipe.ipynb", params={"lr": 0.2, "layers": [64, 32]})
    frame = runs_frame(store)
    assert list(frame["id"]) == [other.id, run.id] and frame["metrics.auc"].iloc[1] == 0.9
    assert list(frame["params.lr"]) == [0.2, 0.1] and "metrics.system.cpu" not in frame.columns
    assert frame["params.layers"].iloc[0] == [64, 32] and frame["params.layers"].iloc[1] is None
    frame["params.layers"].iloc[0].append(16)  # each run's list is its own
    assert runs_frame(store)["params.layers"].iloc[0] == [64, 32]
    store.finish_run(other.id, "succeeded")
    assert list_run_records(store)[1]["metrics"] == {"auc": 0.9}
    detail = run_detail(store, run.id[:5])
    assert detail["id"] == run.id and len(detail["stages"]) == 3 and detail["metrics_latest"]["auc"]["points"] == 1


def test_drift_report_is_recorded_with_an_event(store) -> None:
    import numpy as np
    import pandas as pd

    from mlops_magic.monitoring.drift import drift
    from mlops_magic.monitoring.records import drift_history, drift_reports, record_drift

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["a", "b"], size=500)})
    cur = pd.DataFrame({"x": rng.normal(3, size=500), "c": rng.choice(["a", "b"], size=500)})
    report = drift(ref, cur)
    assert report.drifted
    run = store.create_run()
    report_id = record_drift(store, report, run_id=run.id, stage_id=None, model="churn", version=1)
    assert isinstance(report_id, int)
    [stored] = drift_reports(store, run.id)
    assert stored.drifted_columns == report.drifted_columns
    [event] = store.list_events("drift")
    assert event["subject"] == "churn" and event["payload"]["report_id"] == report_id
    assert len(drift_history(store, "churn")) == 1


def test_the_change_marker_moves_with_every_commit_here_or_in_another_process(store, store_url: str) -> None:
    run = store.create_run(notebook="nb.ipynb", params={"lr": 0.1})
    marker = store.change_marker()
    assert marker
    if store.db.dialect == "sqlite":  # a PostgreSQL snapshot also moves with the cluster's own work (autovacuum)
        store.list_runs(), store.run_table(), store.latest_metrics([run.id])
        assert store.change_marker() == marker, "reads moved the marker"
    changes = [
        lambda: store.log_metric(run.id, "acc", 0.5),
        lambda: store.log_metric(run.id, "acc", 0.6, step=1),  # a known series: the one-insert path
        lambda: store.log_metrics(run.id, [(f"m{i}", float(i), 0) for i in range(150)]),  # one packed row
        lambda: store.log_params(run.id, {"lr": 0.2}),  # an upsert keeps its row id
        lambda: store.set_tags(run.id, {"team": "risk"}),
        lambda: store.finish_run(run.id, "succeeded"),  # an update keeps its row id
        lambda: store.create_run(notebook="nb.ipynb"),
    ]
    for change in changes:
        change()
        assert store.change_marker() != marker
        marker = store.change_marker()
    child = _spawn("""
        import sys
        from mlops_magic.store import open_store
        open_store(sys.argv[1]).log_params(sys.argv[2], {"lr": 0.3})
    """, store_url, run.id)
    _wait_all([child])
    assert store.change_marker() != marker, "another process's commit left the marker where it was"


# -- schema ---------------------------------------------------------------------------------------
def _bump_version(store_url: str, store, version: int) -> None:
    if store.db.dialect == "sqlite":
        import sqlite3

        conn = sqlite3.connect(store.db.path)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(store.db._conninfo, autocommit=True) as conn:
            conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(version),))


def _snapshot(store) -> object:
    if store.db.dialect == "sqlite":
        return store.db.path.read_bytes()
    import psycopg

    with psycopg.connect(store.db._conninfo, autocommit=True) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                              "current_schema() ORDER BY table_name").fetchall()
        meta = conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
        runs = conn.execute("SELECT id, status FROM runs ORDER BY id").fetchall()
        return tables, meta, runs


def test_newer_schema_is_refused_untouched(store_url: str) -> None:
    store = open_store(store_url)
    store.create_run()
    clear_cache()
    _bump_version(store_url, store, schema_mod.SCHEMA_VERSION + 5)
    before = _snapshot(store)
    with pytest.raises(StoreVersionError, match="newer") as info:
        open_store(store_url)
    assert "pip install -U mlops-magic" in str(info.value)
    assert _snapshot(store) == before


def test_a_store_made_by_0_1_0_opens_with_its_metrics(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    old = schema_mod.MIGRATIONS[:4]  # the schema 0.1.0 wrote: metrics as one row of text keys per value
    with monkeypatch.context() as m:
        m.setattr(schema_mod, "MIGRATIONS", old)
        m.setattr(schema_mod, "SCHEMA_VERSION", len(old))
        store = open_store(store_url)
        run_id = "a0b1c2d3e4f50617"  # a run row as 0.1.0 wrote it (today's create_run writes later columns)
        store.db.write("INSERT INTO runs (id, notebook, trigger, status, started, host, pid, run_params) "
                       "VALUES (?,?,?,?,?,?,?,?)", (run_id, "old.ipynb", "manual", "succeeded", 1.0, "h", 1, "{}"))
        rows = [(run_id, key, value, int(value != value), step, 1.0 + step, None)
                for key, values in {"loss": [0.9, 0.5, 0.2], "auc": [math.nan, 0.7]}.items()
                for step, value in enumerate(values)]
        store.db.run_in_transaction(lambda tx: tx.executemany(
            "INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp, stage_id) VALUES (?,?,?,?,?,?,?)",
            [(r, k, None if n else v, n, s, t, st) for r, k, v, n, s, t, st in rows]))
        clear_cache()
    upgraded = open_store(store_url)
    run = upgraded.get_run(run_id)
    history = [(m.key, m.step, m.value) for m in upgraded.metric_history(run.id)]
    assert history[:3] == [("auc", 0, history[0][2]), ("auc", 1, 0.7), ("loss", 0, 0.9)]
    assert math.isnan(history[0][2]) and [h[2] for h in history[3:]] == [0.5, 0.2]
    assert upgraded.latest_metrics([run.id])[run.id] == {"loss": 0.2, "auc": 0.7}
    upgraded.log_metrics(run.id, [("loss", 0.1, 3)])  # new points continue the migrated series
    assert upgraded.last_step(run.id, "loss") == 3
    assert upgraded.db.query_one("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (run.id,))[0] == 6


def test_a_later_migration_is_applied_once(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(store_url)
    run = store.create_run(params={"a": 1})
    clear_cache()
    later = [*schema_mod.MIGRATIONS, "CREATE TABLE future_things (id {serial}, note TEXT)"]
    monkeypatch.setattr(schema_mod, "MIGRATIONS", later)
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", len(later))
    upgraded = open_store(store_url)
    assert upgraded.get_run(run.id).params == {"a": 1}
    assert upgraded.db.write("INSERT INTO future_things (note) VALUES ('ok')") == 1
    assert upgraded.db.write("INSERT INTO future_things (note) VALUES (?)", ("50%",)) == 2
    # write() answers the new id for an INSERT into a {serial} table, and None for anything else,
    # on both backends (sqlite3's lastrowid would otherwise leak the previous INSERT's id here)
    assert upgraded.db.write("UPDATE future_things SET note = 'x' WHERE id = 1") is None


# -- concurrency ----------------------------------------------------------------------------------
WRITER = """
import sys
from mlops_magic.store import open_store
store = open_store(sys.argv[1])
run = store.create_run(trigger="manual")
for i in range(int(sys.argv[2])):
    store.log_metric(run.id, "m", float(i), step=i)
store.log_metrics(run.id, [("batch", float(i), i) for i in range(50)])
store.log_params(run.id, {"shared": 1})
print(run.id)
"""


def test_concurrent_writers_in_several_processes_keep_every_row(store_url: str) -> None:
    procs, count = 3, 200
    open_store(store_url)  # created (migrated) up front; creation races have their own test in test_store.py
    _wait_all([_spawn(WRITER, store_url, str(count)) for _ in range(procs)])
    clear_cache()
    store = open_store(store_url)
    assert store.db.query_one("SELECT COUNT(*) FROM metrics")[0] == procs * (count + 50)
    assert len(store.list_runs()) == procs


OPENER = """
import sys, time
from mlops_magic.store import open_store
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
print(open_store(sys.argv[1]).create_run().id)
"""


def test_processes_opening_a_new_store_at_once_migrate_it_once(store_url: str) -> None:
    start = str(time.time() + 1.0)
    _wait_all([_spawn(OPENER, store_url, start) for _ in range(4)])
    clear_cache()
    store = open_store(store_url)
    assert len(store.list_runs()) == 4
    assert store.db.query_one("SELECT value FROM meta WHERE key = 'schema_version'")[0] == \
        str(schema_mod.SCHEMA_VERSION)


REGISTER = """
import sys, time
from sklearn.dummy import DummyClassifier
from mlops_magic.registry.versions import register
from mlops_magic.store import open_store
store = open_store(sys.argv[1])
clf = DummyClassifier().fit([[0], [1]], [0, 1])
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
print(" ".join(str(register(store, clf, "race").version) for _ in range(4)))
"""


def test_concurrent_model_registration_allocates_every_version_once(store_url: str, tmp_path: Path) -> None:
    from mlops_magic.registry.versions import load, versions_of

    open_store(store_url)
    start = str(time.time() + 2.0)
    outs = _wait_all([_spawn(REGISTER, store_url, start, cwd=tmp_path) for _ in range(2)])
    versions = sorted(int(v) for out in outs for v in out.split())
    assert versions == list(range(1, 9))
    clear_cache()
    store = open_store(store_url)
    assert [v.version for v in versions_of(store, "race")] == list(range(1, 9))
    assert load(store, "race@8").predict([[0]]).shape == (1,)


TICKER = """
import sys, time
from concurrent.futures import Future
from datetime import datetime
from mlops_magic.runner.execute import create_run
from mlops_magic.runner.executors import Executor
from mlops_magic.runner.request import RunResult
from mlops_magic.scheduling import tick
from mlops_magic.store import open_store


class Recorder(Executor):
    def __init__(self, store):
        self.store = store

    def submit(self, prep):
        create_run(self.store, prep, status="succeeded")
        future = Future()
        future.set_result(RunResult(prep.run_id, prep.recorded_notebook, "succeeded"))
        return future


store = open_store(sys.argv[1])
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.0005)
print(len(tick(store, datetime.fromisoformat(sys.argv[3]), executor=Recorder(store))))
"""


def test_two_concurrent_ticks_claim_exactly_one_run(store_url: str, tmp_path: Path) -> None:
    from mlops_magic.scheduling import add_schedule

    shutil.copy(FIXTURES / "tiny.ipynb", tmp_path / "tiny.ipynb")
    store = open_store(store_url)
    t0 = datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)
    s = add_schedule(store, "tiny.ipynb", cron="0 2 * * *", now=t0.timestamp())
    start = str(time.time() + 1.5)
    outs = _wait_all([_spawn(TICKER, store_url, start, "2024-05-01T02:00:30+00:00", cwd=tmp_path)
                      for _ in range(3)])
    assert sorted(int(o) for o in outs) == [0, 0, 1]
    runs = store.list_runs(schedule_id=s.id)
    assert len(runs) == 1 and runs[0].status == "succeeded" and runs[0].trigger == "schedule"
    assert store.db.query_one("SELECT COUNT(*) FROM schedule_fires")[0] == 1


def test_backend_errors_cross_the_seam_as_store_errors(store) -> None:
    run = store.create_run()
    with pytest.raises(StoreDuplicate) as info:  # a UNIQUE / PRIMARY KEY violation, whichever backend
        store.db.write("INSERT INTO runs (id, trigger, status, started) VALUES (?, 'manual', 'running', 0)",
                       (run.id,))
    assert info.value.status == 409 and "\n" not in str(info.value)
    assert type(info.value.__cause__).__module__.split(".")[0] in ("sqlite3", "psycopg")  # the driver's, kept
    with pytest.raises(StoreError) as info:
        store.db.query("SELECT no_such_column FROM runs")
    assert not isinstance(info.value, (StoreConflict, StoreUnavailable))
    with pytest.raises(StoreError):
        store.db.run_in_transaction(lambda tx: tx.execute("UPDATE no_such_table SET x = 1"))
    assert store.get_run(run.id).status == RunStatus.RUNNING  # the store is left as it was


def test_a_lost_claim_race_is_taken_not_an_error(store) -> None:
    from mlops_magic.store import scheduling as tables

    def claim(run_id: str):
        return tables.claim_fire(store.db, "s1", "cron:1", trigger="schedule", due=1.0, run_id=run_id,
                                 claimed_by="h:1", created=1.0, max_concurrency=5)

    with pytest.raises(StoreConflict) as info:  # a fire of no schedule is refused, and is not "taken"
        claim("r0")
    assert not isinstance(info.value, StoreDuplicate)
    values = {"id": "s1", "notebook": "nb.ipynb", "base_dir": "/", "params": "{}", "retries": 0, "catchup": "skip",
              "max_concurrency": 5, "paused": 0, "created": 1.0, "event_cursor": 0}
    store.db.run_in_transaction(lambda tx: tables.insert_schedule(tx, values))
    assert claim("r1") == tables.FireClaim(tables.Claim.WON, "r1")
    assert claim("r2").outcome is tables.Claim.TAKEN
    # the race itself: both ticks saw no fire, the second insert loses on UNIQUE (schedule_id, fire_key)
    with pytest.raises(StoreDuplicate):
        store.db.write("INSERT INTO schedule_fires (schedule_id, fire_key, trigger, due, run_id, state, claimed_by, "
                       "created) VALUES ('s1', 'cron:1', 'schedule', 1, 'r3', 'claimed', 'h:2', 1)")


#: Folder and notebook names that LIKE would misread: its wildcards, its escape, and letter case.
TRICKY = ["a_b", "axb", "a%b", "aZZb", "a\\b", "a\\\\b", "A_B"]


def test_prefix_and_folder_matches_take_wildcards_literally(store, tmp_path: Path) -> None:
    from mlops_magic.scheduling.renames import rename_notebook
    from mlops_magic.tracking.queries import notebook_key

    runs = {folder: store.create_run(notebook=notebook_key(store, tmp_path / folder / "nb.ipynb"))
            for folder in TRICKY}
    for i, folder in enumerate(TRICKY):  # each folder moves alone, whatever the others are called
        assert rename_notebook(store, tmp_path / folder, tmp_path / f"moved-{i}")["runs"] == 1, folder
    for i, folder in enumerate(TRICKY):
        assert store.get_run(runs[folder].id).notebook == notebook_key(store, tmp_path / f"moved-{i}" / "nb.ipynb")
    # notebook filters: the notebook itself, or a longer path ending in /NAME; never a wildcard match
    named = {name: store.create_run(notebook=f"sub/{name}.ipynb") for name in ["_", "x", "%", "\\", "X"]}
    for name, run in named.items():
        found = store.list_runs(notebook=f"{name}.ipynb")
        assert [r.id for r in found] == [run.id], name
        assert store.count_runs(notebook=f"{name}.ipynb") == 1
        assert [r[0] for r in store.run_table(notebook=f"{name}.ipynb")[0]] == [run.id]


def test_run_id_prefixes_take_wildcards_literally(store) -> None:
    for run_id in ("pre_fix1", "prexfix2", "per%cent", "back\\slash", "Upper"):
        store.create_run(run_id=run_id)
    assert store.resolve_run_id("pre_") == "pre_fix1"
    assert store.resolve_run_id("per%") == "per%cent"
    assert store.resolve_run_id("back\\") == "back\\slash"
    assert store.resolve_run_id("Up") == "Upper"
    for missing in ("%", "_", "pre%", "up", "\\"):
        with pytest.raises(NotFoundError):
            store.resolve_run_id(missing)


def test_orphan_reaping_matches_its_own_host_only(store) -> None:
    from mlops_magic.store import runs as run_table

    ids = {}
    for host in ("h_st", "hxst", "h%st", "H_ST"):
        run = store.create_run(status="queued")
        store.db.write("UPDATE runs SET host = ?, submitted_by = ? WHERE id = ?", ("elsewhere", f"{host}:1", run.id))
        ids[host] = run.id
    for host, run_id in ids.items():
        assert [r[0] for r in run_table.active_of_host(store.db, host)] == [run_id], host


# -- PostgreSQL only: URLs, secrets, SQL translation ----------------------------------------------
def test_postgres_url_forms_and_artifacts_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_ARTIFACTS", raising=False)
    (tmp_path / ".mlops").mkdir()
    loc = parse_store_url("postgres://ann:s3cret@db.example:5433/mlops?sslmode=require", base=tmp_path)
    assert loc.url.startswith("postgresql://ann:s3cret@db.example:5433/mlops?sslmode=require&artifacts=")
    assert loc.artifacts_root == (tmp_path / ".mlops" / "artifacts").resolve()
    assert loc.conninfo == "postgresql://ann:s3cret@db.example:5433/mlops?sslmode=require"
    assert "s3cret" not in loc.display_url and "ann:***@db.example" in loc.display_url
    assert parse_store_url("postgresql+psycopg://h/db?artifacts=/shared/a").artifacts_root == Path("/shared/a")
    monkeypatch.setenv("MLOPS_ARTIFACTS", str(tmp_path / "env-artifacts"))
    assert parse_store_url("postgresql://h/db", base=tmp_path).artifacts_root == tmp_path / "env-artifacts"
    again = parse_store_url(loc.url, base=Path("/"))  # the URL a headless run gets reopens the same place
    assert again.url == loc.url and again.artifacts_root == loc.artifacts_root
    with pytest.raises(InvalidInputError, match="names no database"):
        parse_store_url("postgresql://ann:s3cret@host/")
    with pytest.raises(InvalidInputError) as info:
        parse_store_url("postgresql://ann:s3cret@host:notaport/db")
    assert "s3cret" not in str(info.value)


def test_unreachable_postgres_is_one_line_without_the_password(postgres_cluster) -> None:  # noqa: F811
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clear_cache()
    with pytest.raises(StoreUnavailable, match="PostgreSQL") as info:
        open_store(f"postgresql://ann:s3cret@127.0.0.1:{port}/mlops")
    assert "s3cret" not in str(info.value) and "\n" not in str(info.value) and info.value.status == 503


def test_sql_translation() -> None:
    from mlops_magic.store.pg_sql import to_pyformat, translate
    from mlops_magic.store.schema import serial_tables

    assert to_pyformat("SELECT '?%', \"a?\" FROM t WHERE x LIKE ? AND y = ? -- what?\n") == \
        "SELECT '?%%', \"a?\" FROM t WHERE x LIKE %s AND y = %s -- what?\n"
    assert to_pyformat("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , %s"
    tables = serial_tables(schema_mod.MIGRATIONS)
    assert {"metrics", "stage_runs", "events", "model_versions", "schedule_fires", "drift_reports"} <= tables
    assert not {"runs", "params", "tags", "artifacts", "meta", "models", "aliases"} & tables
    assert translate("INSERT INTO events (kind) VALUES (?)", tables) == \
        ("INSERT INTO events (kind) VALUES (%s) RETURNING id", True)
    assert translate("INSERT INTO tags (run_id) VALUES (?)", tables)[1] is False


def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mlops_magic.store import postgres

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreError, match=r'pip install "mlops-magic\[postgres\]"'):
        postgres.import_psycopg()


def test_forked_child_gets_its_own_connection_and_leaves_the_parents_alone(postgres_url) -> None:  # noqa: F811
    store = open_store(postgres_url)
    run = store.create_run()
    pid = os.fork()
    if pid == 0:  # child: use the same Database object, then close it
        code = 0
        try:
            store.log_metric(run.id, "child", 1.0)
            store.db.close()
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.log_metric(run.id, "parent", 2.0)  # the parent's connection still works
    assert {m.key for m in store.metric_history(run.id)} == {"child", "parent"}


def test_a_large_batch_is_one_packed_row_read_back_like_single_points(store) -> None:
    from mlops_magic.store.metrics import PACK_MIN

    run = store.create_run(trigger="manual")
    store.log_metric(run.id, "loss", 0.9, step=0)
    batch = [(f"k{i}", float(i), 1) for i in range(PACK_MIN)] + [("loss", 0.5, 1), ("nan", math.nan, 1),
                                                                  ("inf", math.inf, 1)]
    assert store.log_metrics(run.id, batch) == PACK_MIN + 3
    rows = store.db.query_one("SELECT COUNT(*) FROM metric_points p JOIN metric_series s ON s.id = p.series_id "
                              "WHERE s.run_id = ?", (run.id,))[0]
    assert rows == 2  # the first loss point, and the batch as one row
    store.log_metric(run.id, "loss", 0.2, step=2)  # a single point after the batch: it is the latest
    latest = store.latest_metrics([run.id])[run.id]
    assert latest["loss"] == 0.2 and latest["k7"] == 7.0 and math.isnan(latest["nan"]) and latest["inf"] == math.inf
    assert "\x1fbatch" not in latest
    assert [(m.step, m.value) for m in store.metric_history(run.id, "loss")] == [(0, 0.9), (1, 0.5), (2, 0.2)]
    everything = store.metric_history(run.id)
    assert len(everything) == PACK_MIN + 5 and [m.key for m in everything] == sorted(m.key for m in everything)
    assert store.last_step(run.id, "k3") == 1 and store.last_step(run.id, "loss") == 2
    store.log_metrics(run.id, [(f"k{i}", -1.0, 5) for i in range(PACK_MIN)])  # a later batch wins over the first
    assert store.latest_metrics([run.id])[run.id]["k7"] == -1.0 and store.last_step(run.id, "k7") == 5
    assert store.latest_metrics_with_stages(run.id)["k7"] == (-1.0, None)
    # the view keeps the 0.1 columns for single points; a packed batch is one metric_points row
    assert store.db.query_one("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (run.id,))[0] == 2


def test_the_whole_store_table_reads_as_the_per_run_reads(store) -> None:
    """``run_table()`` with no filter scans params and metrics once; it must say what the per-run reads say."""
    from mlops_magic.store.metrics import PACK_MIN

    runs = []
    for i in range(4):
        run = store.create_run(trigger="manual", params={"i": i, "name": f"r{i}"})
        store.log_metric(run.id, "loss", 1.0 / (i + 1), step=0)
        if i % 2:
            store.log_metrics(run.id, [(f"k{j}", float(j + i), 1) for j in range(PACK_MIN)] + [("loss", math.nan, 1)])
        if i == 3:
            store.log_metric(run.id, "loss", 0.01, step=2)
        runs.append(run.id)
    bare = store.create_run(trigger="manual").id  # no params, no metrics
    rows, params, metrics = store.run_table()
    ids = [r[0] for r in rows]
    assert set(ids) >= {*runs, bare}
    by_run = store.latest_metrics(ids)
    assert metrics.keys() == by_run.keys() and params.keys() == set(ids)
    for run_id in ids:
        assert params[run_id] == params_of_run(store, run_id)
        assert metrics[run_id].keys() == by_run[run_id].keys()
        assert all(math.isnan(v) if math.isnan(by_run[run_id][k]) else v == by_run[run_id][k]
                   for k, v in metrics[run_id].items())
    assert math.isnan(metrics[runs[1]]["loss"]) and metrics[runs[3]]["loss"] == 0.01 and metrics[runs[3]]["k5"] == 8.0
    assert params[bare] == {} and metrics[bare] == {} and params[runs[2]] == {"i": 2, "name": "r2"}
    limited = store.run_table(limit=len(ids))  # the IN-list path, for the same runs
    assert limited[1] == params and limited[2].keys() == metrics.keys()


def params_of_run(store, run_id: str) -> dict:
    return store.get_run(run_id).params


def test_a_rename_moves_runs_and_is_followed_by_older_kernels(store, tmp_path: Path) -> None:
    from mlops_magic.scheduling.renames import rename_notebook
    from mlops_magic.tracking.queries import notebook_key

    old, new = tmp_path / "sub" / "a.ipynb", tmp_path / "moved" / "a.ipynb"
    run = store.create_run(notebook=notebook_key(store, old), trigger="interactive")
    sibling = store.create_run(notebook=notebook_key(store, tmp_path / "sub_x" / "a.ipynb"), trigger="manual")
    before = time.time() - 1
    assert rename_notebook(store, tmp_path / "sub", tmp_path / "moved") == {"runs": 1, "schedules": 0}
    assert store.get_run(run.id).notebook == notebook_key(store, new)
    assert store.get_run(sibling.id).notebook == notebook_key(store, tmp_path / "sub_x" / "a.ipynb")
    assert store.current_notebook_name(notebook_key(store, old), since=before) == notebook_key(store, new)
    assert store.current_notebook_name(notebook_key(store, old), since=time.time() + 1) == notebook_key(store, old)


def test_imported_runs_are_written_whole_with_their_times_and_links(store) -> None:
    """MLflow import's bulk write (store/interop.py): a run's own times and status, every point with its own
    time stamp (three at one step too, a NaN), params, tags, artifact rows and the link, in one transaction."""
    from mlops_magic.store import interop

    digest, size = store.artifacts.put_bytes(b"hello\n")
    parent = interop.ImportedRun(
        id="p" * 16, external_id="a" * 32, notebook="iris", name="lr", status="succeeded", started=1_700_000_000.25,
        ended=1_700_000_100.5, params={"C": 0.1, "seed": "007"}, tags={"team": "growth"},
        metrics=[("loss", 1.0, 0, 1_700_000_001.0), ("loss", 0.5, 1, 1_700_000_002.0), ("odd", math.nan, 0, 1e9),
                 *[("beat", 1.0, 0, 1_700_000_003.0 + i) for i in range(3)]],
        artifacts=[("notes/readme.txt", digest, size)])
    child = interop.ImportedRun(id="c" * 16, external_id="b" * 32, notebook="iris", name="child", status="failed",
                                started=1_700_000_050.0, ended=1_700_000_060.0, parent_run_id=parent.id)
    points = store.db.run_in_transaction(lambda tx: interop.insert_runs(tx, [parent, child], system="mlflow",
                                                                        source="sqlite:///mlflow.db"))
    assert points == 6
    run = store.get_run(parent.id)
    assert (run.started.timestamp(), run.ended.timestamp(), run.status, run.notebook) == (
        1_700_000_000.25, 1_700_000_100.5, "succeeded", "iris")
    assert run.params == {"C": 0.1, "seed": "007"} and run.tags == {"team": "growth"}
    loss = store.metric_history(parent.id, "loss")
    assert [(m.step, m.value, m.timestamp.timestamp()) for m in loss] == [(0, 1.0, 1_700_000_001.0),
                                                                         (1, 0.5, 1_700_000_002.0)]
    assert math.isnan(store.metric_history(parent.id, "odd")[0].value)
    assert [m.timestamp.timestamp() for m in store.metric_history(parent.id, "beat")] == [
        1_700_000_003.0, 1_700_000_004.0, 1_700_000_005.0]
    assert store.latest_metrics([parent.id])[parent.id]["loss"] == 0.5
    [artifact] = store.list_artifacts(parent.id)
    assert store.artifacts.read_bytes(artifact.digest) == b"hello\n" and artifact.created.timestamp() == 1_700_000_100.5
    assert store.get_run(child.id).parent_run_id == parent.id and store.get_run(child.id).status == "failed"
    assert interop.linked(store.db, "mlflow", "run", ["a" * 32, "b" * 32, "z" * 32]) == {"a" * 32: parent.id,
                                                                                        "b" * 32: child.id}
    assert interop.local_ids(store.db, "mlflow", "run") == {parent.id: "a" * 32, child.id: "b" * 32}

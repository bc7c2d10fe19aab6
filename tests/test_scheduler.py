"""The scheduler on an injected clock: cron, catch-up, change/after/drift triggers, exactly-once ticks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.errors import InvalidInputError, MlopsError, NotFoundError
from mlops_magic.runner.execute import create_run
from mlops_magic.runner.executors import Executor
from mlops_magic.runner.notify import WebhookNotifier, notify_all
from mlops_magic.runner.request import RunResult
from mlops_magic.scheduling import add_schedule, get_schedule, list_schedules, set_paused, tick
from mlops_magic.scheduling.export import export
from mlops_magic.scheduling.tick import fires_of, reap_fires
from mlops_magic.store import clear_cache, open_store

FIXTURES = Path(__file__).parent / "notebooks"
T0 = datetime(2024, 5, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path, monkeypatch):
    for nb in FIXTURES.glob("*.ipynb"):
        shutil.copy(nb, tmp_path / nb.name)
    (tmp_path / ".mlops").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    yield open_store()
    clear_cache()


class Recorder(Executor):
    """An executor that records runs as succeeded without kernels: the scheduling logic, fast."""

    def __init__(self, store, status="succeeded"):
        self.store, self.status, self.preps = store, status, []

    def submit(self, prep):
        self.preps.append(prep)
        create_run(self.store, prep, status=self.status)
        future = Future()
        future.set_result(RunResult(prep.run_id, prep.recorded_notebook, self.status))
        return future


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_cron_fires_once_per_due_time_and_catch_up_policies(store):
    skip = add_schedule(store, "tiny.ipynb", cron="*/15 * * * *", now=T0.timestamp())
    every = add_schedule(store, "tiny.ipynb", cron="*/15 * * * *", catchup="all", now=T0.timestamp())
    rec = Recorder(store)
    assert tick(store, at(10), executor=rec) == []
    claimed = tick(store, at(61), executor=rec)  # due 00:15, 00:30, 00:45, 01:00
    by_schedule = {}
    for c in claimed:
        by_schedule.setdefault(c.schedule.id, []).append(c.fire.key)
    assert by_schedule[skip.id] == ["cron:2024-05-01T01:00:00+00:00"]
    assert len(by_schedule[every.id]) == 4
    assert tick(store, at(61), executor=rec) == []  # idempotent: the same time again runs nothing
    assert {r.trigger for r in store.list_runs(schedule_id=skip.id)} == {"schedule"}


def test_a_scheduler_away_for_months_runs_the_latest_due_time_once(store):
    """Catch-up 'skip' after 150 days of a minutely schedule: one run, for the latest minute (it once ran
    one run per 1,000 missed minutes, 216 in one tick); 'all' runs at most the latest 1,000."""
    skip = add_schedule(store, "tiny.ipynb", cron="* * * * *", now=T0.timestamp())
    every = add_schedule(store, "tiny.ipynb", cron="* * * * *", catchup="all", now=T0.timestamp())
    rec = Recorder(store)
    claimed = tick(store, at(150 * 24 * 60 + 0.5), executor=rec)
    by_schedule: dict[str, list[str]] = {}
    for c in claimed:
        by_schedule.setdefault(c.schedule.id, []).append(c.fire.key)
    assert by_schedule[skip.id] == ["cron:" + at(150 * 24 * 60).isoformat()]
    assert len(by_schedule[every.id]) == 1000 and by_schedule[every.id][-1] == by_schedule[skip.id][0]
    assert tick(store, at(150 * 24 * 60 + 0.5), executor=rec) == []


def test_cron_is_timezone_aware(store):
    s = add_schedule(store, "tiny.ipynb", cron="0 2 * * *", tz="Europe/Paris", now=T0.timestamp())
    rec = Recorder(store)
    # created at 02:00 Paris (00:00 UTC): the next 02:00 Paris is 00:00 UTC the next day, not 02:00 UTC
    assert tick(store, at(23 * 60 + 59), executor=rec) == []
    [c] = tick(store, at(24 * 60), executor=rec)
    assert c.fire.key == "cron:2024-05-02T00:00:00+00:00"
    assert s.next_due(at(60)).isoformat() == "2024-05-02T02:00:00+02:00"


def test_on_change_fires_once_per_new_fingerprint(store, tmp_path):
    add_schedule(store, "tiny.ipynb", on_change=("data/*.csv",), now=T0.timestamp())
    rec = Recorder(store)
    [first] = tick(store, at(1), executor=rec)
    assert first.fire.trigger == "data-change"
    assert tick(store, at(2), executor=rec) == []  # same bytes: nothing
    (tmp_path / "data" / "a.csv").write_text("x\n2\n")  # one byte
    [second] = tick(store, at(3), executor=rec)
    assert second.fire.key != first.fire.key
    assert tick(store, at(4), executor=rec) == []
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")  # back to the first content: a change again
    assert len(tick(store, at(5), executor=rec)) == 1


def test_on_change_glob_given_from_the_project_root_watches_the_same_files_for_a_notebook_in_a_subfolder(
        store, tmp_path):
    (tmp_path / "notebooks").mkdir()
    shutil.copy(tmp_path / "tiny.ipynb", tmp_path / "notebooks" / "tiny.ipynb")
    schedule = add_schedule(store, "notebooks/tiny.ipynb", on_change=("data/*.csv",), now=T0.timestamp())
    rec = Recorder(store)
    assert len(tick(store, at(1), executor=rec)) == 1
    assert tick(store, at(2), executor=rec) == []
    (tmp_path / "data" / "a.csv").write_text("x\n3\n")
    assert len(tick(store, at(3), executor=rec)) == 1, schedule.on_change


def test_after_and_drift_triggers(store):
    after = add_schedule(store, "tiny.ipynb", after="pipeline.ipynb", now=T0.timestamp())
    drift = add_schedule(store, "tiny.ipynb", on_drift="churn", now=T0.timestamp())
    rec = Recorder(store)
    failed = store.create_run(notebook="pipeline.ipynb", status="failed")
    assert tick(store, at(1), executor=rec) == []
    ok = store.create_run(notebook="pipeline.ipynb")
    store.finish_run(ok.id, "succeeded")
    store.emit_event("drift", subject="other-model", payload={"model": "other-model"})
    store.emit_event("drift", subject="churn", run_id=failed.id, payload={"model": "churn", "columns": ["x"]})
    claimed = {c.schedule.id: c for c in tick(store, at(2), executor=rec)}
    assert claimed[after.id].fire.trigger == "after"
    assert store.get_run(claimed[after.id].run_id).parent_run_id == ok.id
    assert claimed[drift.id].fire.trigger == "drift"
    assert store.get_run(claimed[drift.id].run_id).trigger == "drift"
    assert tick(store, at(3), executor=rec) == []


def test_pause_resume_and_max_concurrency(store):
    s = add_schedule(store, "tiny.ipynb", cron="*/10 * * * *", now=T0.timestamp())
    rec = Recorder(store)
    set_paused(store, s.id, True)
    assert tick(store, at(35), executor=rec) == []
    set_paused(store, s.id, False)
    [c] = tick(store, at(41), executor=rec)
    assert c.fire.key.endswith("00:40:00+00:00")  # skip: only the latest missed time
    # a fire still running blocks the next one while max_concurrency is 1
    store.db.write("UPDATE schedule_fires SET state = 'running'")
    store.db.write("UPDATE runs SET status = 'running', pid = ?", (os.getpid(),))
    assert tick(store, at(51), executor=rec) == []
    store.db.write("UPDATE runs SET status = 'succeeded'")
    assert len(tick(store, at(52), executor=rec)) == 1


def test_a_claim_whose_ticker_died_becomes_a_killed_run(store):
    s = add_schedule(store, "tiny.ipynb", cron="*/10 * * * *", now=T0.timestamp())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    import socket

    store.db.write("INSERT INTO schedule_fires (schedule_id, fire_key, trigger, due, run_id, state, claimed_by, "
                   "created) VALUES (?,?,?,?,?,?,?,?)",
                   (s.id, "cron:x", "schedule", 0, "deadbeefdeadbeef", "claimed", f"{socket.gethostname()}:{dead}", 0))
    reap_fires(store)
    run = store.get_run("deadbeefdeadbeef")
    assert run.status == "killed" and "stopped after claiming" in run.error
    assert fires_of(store, s.id)[0]["state"] == "done"


def test_bad_schedules_are_refused_with_one_line(store):
    for kwargs, words in [
        ({"cron": "61 * * * *"}, "bad cron expression"),
        ({"cron": "0 2 * * *", "tz": "Mars/Olympus"}, "unknown timezone"),
        ({"on_change": ("nothing/*.csv",)}, "matches no file"),
        ({}, "a schedule needs a trigger"),
        ({"cron": "0 2 * * *", "stages": ("nope",)}, "has no stage 'nope'"),
        ({"after": "missing.ipynb"}, "no such notebook"),
        ({"cron": "0 2 * * *", "params": {"x=1;y": 1}}, "parameter name 'x=1;y' is not a valid Python name"),
        ({"cron": "0 2 * * *", "params": {"for": 1}}, "parameter name 'for' is not a valid Python name"),
    ]:
        with pytest.raises(MlopsError, match=words):
            add_schedule(store, "pipeline.ipynb", **kwargs)
    with pytest.raises(NotFoundError, match="no schedule"):
        get_schedule(store, "ffffffff")
    result = CliRunner().invoke(main, ["schedule", "pause", "ffffffff"])
    assert result.exit_code == 1 and result.output.strip().startswith("Error: no schedule 'ffffffff'")
    result = CliRunner().invoke(main, ["schedule", "add", "pipeline.ipynb", "--cron", "0 2 * * *", "-p", "x=1;y", "1"])
    assert result.exit_code == 2 and "parameter name 'x=1;y' is not a valid Python name" in result.output
    assert list_schedules(store) == []


def test_cli_add_list_pause_export(store):
    runner = CliRunner()
    added = runner.invoke(main, ["schedule", "add", "pipeline.ipynb", "--cron", "0 2 * * *", "--on-change",
                                 "data/*.csv", "--stages", "data,train"])
    assert added.exit_code == 0, added.output
    sid = added.output.split()[0]
    listed = json.loads(runner.invoke(main, ["schedule", "list", "--format", "json"]).output)
    assert listed[0]["id"] == sid and "cron 0 2 * * *" in listed[0]["triggers"]
    assert runner.invoke(main, ["schedule", "pause", sid]).exit_code == 0
    assert get_schedule(store, sid).paused
    for fmt, words in [("crontab", "scheduler tick"), ("systemd", "OnCalendar="), ("github-actions", "cron: '")]:
        out = runner.invoke(main, ["schedule", "export", "--format", fmt]).output
        assert words in out and sid in out
    assert runner.invoke(main, ["schedule", "remove", sid]).exit_code == 0
    assert "no schedules" in runner.invoke(main, ["schedule", "list"]).output


def test_export_polls_every_minute_for_change_triggers(store):
    s = add_schedule(store, "tiny.ipynb", on_change=("data/*.csv",))
    assert "* * * * * cd" in export([s], "crontab", Path.cwd())


def test_two_concurrent_ticks_start_exactly_one_run(store, tmp_path):
    s = add_schedule(store, "tiny.ipynb", cron="0 2 * * *", now=T0.timestamp())
    env = dict(os.environ, MLOPS_STORE=str(tmp_path))
    cmd = [sys.executable, "-m", "mlops_magic.cli", "scheduler", "tick", "--now", "2024-05-01T02:00:30+00:00"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    runs = store.list_runs(schedule_id=s.id)
    assert len(runs) == 1 and runs[0].status == "succeeded", outputs
    assert sum("nothing due" in out for out, _ in outputs) == 1


def test_real_story_failing_notebook_never_stops_the_tick_and_change_triggers_retrain(store, tmp_path):
    bad = add_schedule(store, "failing.ipynb", cron="0 * * * *", now=T0.timestamp())
    good = add_schedule(store, "tiny.ipynb", cron="0 * * * *", on_change=("data/*.csv",), now=T0.timestamp())
    claimed = {c.schedule.id: c for c in tick(store, at(60))}
    assert claimed[bad.id].result.status == "failed"
    assert claimed[good.id].result.status == "succeeded"
    # next hour, same data: recorded as skipped with the reason
    claimed = {c.schedule.id: c for c in tick(store, at(120))}
    assert claimed[good.id].result.status == "skipped"
    assert "nothing changed" in store.get_run(claimed[good.id].run_id).error
    (tmp_path / "data" / "a.csv").write_text("x\n9\n")
    claimed = {c.schedule.id: c for c in tick(store, at(180))}
    assert claimed[good.id].result.status == "succeeded"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_notifier_posts_json_and_a_broken_one_is_only_logged(caplog):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        result = RunResult("abcdef0123456789", "churn.ipynb", "failed", error="stage train (cell 3) failed: X")
        notify_all([f"webhook:{url}"], result)
        assert _Hook.received[-1]["status"] == "failed"
        assert _Hook.received[-1]["notebook"] == "churn.ipynb"
        assert "stage train" in _Hook.received[-1]["text"]
        notify_all(["webhook:http://127.0.0.1:9/nothing-listens"], result)  # never raises
        assert any("notifier WebhookNotifier failed" in r.getMessage() for r in caplog.records)
    finally:
        server.shutdown()
    with pytest.raises(InvalidInputError):
        WebhookNotifier("ftp://x")

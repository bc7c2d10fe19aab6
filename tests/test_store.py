"""The store contract: runs, stages, metrics, artifacts, migrations, concurrency, bad input."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from _support import PYTHON, python_env

from mlops_magic.entities import RunStatus, StageStatus
from mlops_magic.errors import InvalidInputError, NotFoundError, StoreError
from mlops_magic.store import clear_cache, open_store
from mlops_magic.store import schema as schema_mod


def test_store_is_created_in_wal_mode_with_current_schema(store, store_dir: Path) -> None:
    db = store_dir / ".mlops" / "mlops.db"
    assert db.exists()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert int(version) == schema_mod.SCHEMA_VERSION


def test_run_round_trip_with_params_tags_and_prefix_lookup(store) -> None:
    run = store.create_run(notebook="nb.ipynb", trigger="manual", params={"lr": 0.1, "name": "gbm", "n": 3})
    store.set_tags(run.id, {"team": "risk"})
    got = store.get_run(run.id[:6])
    assert got.id == run.id and got.params == {"lr": 0.1, "name": "gbm", "n": 3}
    assert got.tags == {"team": "risk"} and got.status == "running" and got.host
    done = store.finish_run(run.id, "succeeded")
    assert done.status == "succeeded" and done.duration is not None and done.duration >= 0
    assert store.get_run("latest").id == run.id


@pytest.mark.parametrize("value", ["0.9", None, True, [1]])
def test_non_numeric_metric_is_refused_and_nothing_written(store, value) -> None:
    run = store.create_run()
    with pytest.raises(InvalidInputError, match="must be a number"):
        store.log_metric(run.id, "acc", value)
    with pytest.raises(InvalidInputError):
        store.log_metrics(run.id, [("a", 1.0, 0), ("b", value, 0)])
    assert store.metric_history(run.id) == []  # the batch is all or nothing


def test_unicode_names_kept_and_overlong_names_refused(store) -> None:
    run = store.create_run()
    name = "précision·𝛼/验证"
    store.log_metric(run.id, name, 1.0)
    assert store.metric_history(run.id)[0].key == name
    store.log_metric(run.id, "x" * 250, 1.0)
    with pytest.raises(InvalidInputError, match="limit is 250"):
        store.log_metric(run.id, "x" * 251, 1.0)
    with pytest.raises(InvalidInputError, match="control characters"):
        store.log_params(run.id, {"bad\nname": 1})


def test_stage_attempts_count_up_and_unknown_kind_is_refused(store) -> None:
    run = store.create_run()
    first = store.start_stage(run.id, "train", "gbm")
    second = store.start_stage(run.id, "train", "gbm")
    assert (first.attempt, second.attempt) == (1, 2)
    with pytest.raises(InvalidInputError, match="problem, data, train, evaluate, deploy, monitor"):
        store.start_stage(run.id, "trian")


def test_artifacts_are_content_addressed_and_atomic(store, tmp_path: Path) -> None:
    run = store.create_run()
    f = tmp_path / "model.txt"
    f.write_text("weights")
    a = store.log_artifact(run.id, f)
    b = store.log_artifact(run.id, f, name="copy.txt")
    assert a.digest == b.digest and Path(a.path).read_text() == "weights"
    objects = list((store.artifacts.root / "objects").rglob("*"))
    assert sum(p.is_file() for p in objects) == 1
    assert not any((store.artifacts.root / "tmp").iterdir())
    with pytest.raises(NotFoundError):
        store.log_artifact(run.id, tmp_path / "missing.bin")
    with pytest.raises(InvalidInputError):
        store.artifacts.path_for("../../etc/passwd")


def test_uploads_left_by_a_killed_process_are_cleaned_when_the_store_opens(store, store_dir: Path) -> None:
    import signal
    import time

    big = store_dir / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    script = (
        "import sys, time\n"
        "from mlops_magic.store import open_store\n"
        "store = open_store()\n"
        "class Slow:\n"
        "    def __init__(self): self.sent = False\n"
        "    def read(self, n):\n"
        "        if not self.sent:\n"
        "            self.sent = True\n"
        "            return open('big.bin', 'rb').read()\n"
        "        print('copying', flush=True); time.sleep(600)\n"
        "store.artifacts.put_stream(Slow())\n"
    )
    child = subprocess.Popen([PYTHON, "-c", script], env=python_env(), cwd=store_dir, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "copying"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    tmp = store.artifacts.root / "tmp"
    [left] = list(tmp.iterdir())
    assert left.name.startswith("upload-") and f"-{child.pid}-" in left.name and left.stat().st_size == 1 << 20
    recent_elsewhere = tmp / "upload-otherhost-1-abc"
    ancient = tmp / "upload-otherhost-2-abc"
    ours = tmp / f"upload-x-{os.getpid()}-abc"
    for path in (recent_elsewhere, ancient, ours):
        path.write_bytes(b"x")
    os.utime(ancient, (time.time() - 2 * 86400,) * 2)
    os.utime(ours, (time.time() - 3600,) * 2)
    clear_cache()
    open_store()
    assert sorted(p.name for p in tmp.iterdir()) == sorted([recent_elsewhere.name, ours.name])


def test_unknown_run_and_ambiguous_prefix(store) -> None:
    with pytest.raises(NotFoundError, match="no run"):
        store.get_run("doesnotexist")
    runs = {store.create_run().id for _ in range(40)}
    first_chars = {r[0] for r in runs}
    with pytest.raises(InvalidInputError, match="ambiguous"):
        store.resolve_run_id(next(c for c in first_chars if sum(r[0] == c for r in runs) > 1))


def test_store_made_now_opens_after_a_later_migration(store_dir: Path, monkeypatch) -> None:
    store = open_store()
    run = store.create_run(params={"a": 1})
    clear_cache()
    later = [*schema_mod.MIGRATIONS, "CREATE TABLE future_things (id {serial}, note TEXT)"]
    monkeypatch.setattr(schema_mod, "MIGRATIONS", later)
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", len(later))
    upgraded = open_store()
    assert upgraded.get_run(run.id).params == {"a": 1}
    upgraded.db.write("INSERT INTO future_things (note) VALUES ('ok')")


def test_unwritable_store_location_gives_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    clear_cache()
    with pytest.raises(StoreError) as info:
        open_store(str(blocker / "project"))
    assert "\n" not in str(info.value) and "MLOPS_STORE" in str(info.value)


def test_orphaned_running_run_is_marked_killed(store) -> None:
    proc = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(proc.stdout)
    run = store.create_run(pid=dead_pid)
    stage = store.start_stage(run.id, "train")
    assert store.list_runs()[0].status == RunStatus.RUNNING  # reading never writes
    assert store.run_table()[0][0]["status"] == RunStatus.RUNNING
    assert store.reap_orphans() == 1
    assert store.list_runs()[0].status == RunStatus.KILLED
    assert "exited without closing the run" in (store.get_run(run.id).error or "")
    assert store.get_stage(stage.id).status == StageStatus.FAILED
    assert store.reap_orphans() == 0  # once ended, never again


WRITER = """
import sys
from mlops_magic.store import open_store
store = open_store(sys.argv[1])
run = store.create_run(trigger="manual")
for i in range(int(sys.argv[2])):
    store.log_metric(run.id, "m", float(i), step=i)
print(run.id)
"""


def test_concurrent_processes_write_every_row(store_dir: Path) -> None:
    procs, count = 4, 1500
    children = [subprocess.Popen([PYTHON, "-c", WRITER, str(store_dir), str(count)], env=python_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(procs)]
    results = [c.communicate(timeout=120) for c in children]
    assert all(c.returncode == 0 for c in children), [r[1] for r in results]
    assert all("locked" not in r[1] for r in results)
    store = open_store()
    total = store.db.query_one("SELECT COUNT(*) FROM metrics")[0]
    assert total == procs * count
    assert len(store.list_runs()) == procs
    assert os.path.exists(store_dir / ".mlops" / "mlops.db")


OPENER = """
import sys, time
from mlops_magic.store import open_store
start = float(sys.argv[2])
while time.time() < start:
    pass  # spin: every opener reaches the new file within microseconds of the others
print(open_store(sys.argv[1]).create_run().id)
"""


@pytest.mark.parametrize("round_", range(3))
def test_many_processes_creating_the_same_new_store_at_once(tmp_path: Path, round_: int) -> None:
    import time

    start = str(time.time() + 0.8)
    children = [subprocess.Popen([PYTHON, "-c", OPENER, str(tmp_path / "fresh"), start], env=python_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(12)]
    results = [c.communicate(timeout=120) for c in children]
    assert all(c.returncode == 0 for c in children), [r[1][-300:] for r in results]
    clear_cache()
    assert len(open_store(str(tmp_path / "fresh")).list_runs()) == 12

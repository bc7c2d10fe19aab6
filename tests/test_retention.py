"""Retention (`mlops gc`) on SQLite and PostgreSQL, with artifacts in a folder and in S3: what goes, what
stays and why, dry runs that count exactly, and a sweep that is safe while other processes write."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from _support import PYTHON, python_env
from dask_support import notebook
from postgres_support import postgres_cluster, postgres_url  # noqa: F401 - fixtures
from s3_support import moto_server, s3_artifacts  # noqa: F401 - fixtures
from store_backends import BACKENDS, backend_url

from mlops_magic.entities import Fingerprint
from mlops_magic.errors import NotFoundError
from mlops_magic.store import open_store
from mlops_magic.store.retention import RetentionRule, collect

DAY = 86400.0
#: Tables naming a run, and the column that does: a removed run must leave no row in any of them.
RUN_TABLES = {"params": "run_id", "tags": "run_id", "stage_runs": "run_id", "metric_series": "run_id",
              "artifacts": "run_id", "fingerprints": "run_id", "events": "run_id", "autologged": "run_id",
              "gate_results": "run_id", "cached_stages": "run_id", "runs": "id"}


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    yield from backend_url(request, tmp_path, monkeypatch)


def _rows_naming(store, run_id: str) -> dict[str, int]:
    return {t: int(store.db.query_one(f"SELECT COUNT(*) FROM {t} WHERE {c} = ?", (run_id,))[0])
            for t, c in RUN_TABLES.items()}


def _full_run(store, notebook: str, payload: bytes, shared: bytes) -> str:
    """A run with something in every table retention clears."""
    run = store.create_run(notebook=notebook, params={"lr": 0.1})
    store.set_tags(run.id, {"team": "risk"})
    stage = store.start_stage(run.id, "train")
    store.log_metric(run.id, "auc", 0.9, stage_id=stage.id)
    store.log_metrics(run.id, [("loss", float(i), i) for i in range(150)])  # a packed batch too
    store.log_fingerprint(run.id, Fingerprint(digest="f" * 32, kind="file", rows=3), stage_id=stage.id)
    store.log_artifact_bytes(run.id, "own.bin", payload, stage.id)
    store.log_artifact_bytes(run.id, "shared.bin", shared, stage.id)
    store.emit_event("note", run_id=run.id)
    store.finish_stage(stage.id, "succeeded")
    store.finish_run(run.id, "succeeded")
    return run.id


def test_gc_removes_old_runs_keeps_what_is_named_and_sweeps_orphans(store_url: str, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from mlops_magic.registry.versions import register
    from mlops_magic.scheduling import add_schedule
    from mlops_magic.store.params import KEEP_TAG

    store = open_store(store_url)
    shared = b"shared bytes " * 100
    old = [_full_run(store, "a.ipynb", f"old {i}".encode() * 50, shared) for i in range(4)]
    newest_a = _full_run(store, "a.ipynb", b"newest of a", shared)
    kept = _full_run(store, "b.ipynb", b"kept", shared)
    store.set_tags(kept, {KEEP_TAG: "true"})
    later_b = _full_run(store, "b.ipynb", b"later b", shared)
    registered = _full_run(store, "c.ipynb", b"registered", shared)
    version = register(store, LogisticRegression().fit([[0.0], [1.0]], [0, 1]), "churn", run_id=registered)
    later_c = _full_run(store, "c.ipynb", b"later c", shared)
    notebook(tmp_path / "d.ipynb", ["x = 1"])
    schedule = add_schedule(store, str(tmp_path / "d.ipynb"), cron="0 2 * * *", base_dir=str(tmp_path))
    sched_runs = [store.create_run(notebook="s.ipynb", schedule_id=schedule.id, trigger="schedule")
                  for _ in range(2)]
    for r in sched_runs:
        store.finish_run(r.id, "succeeded")
    store.create_run(notebook="s.ipynb")  # the newest of s.ipynb, so keep-last does not cover the schedule's
    active = store.create_run(notebook="e.ipynb", status="running")
    store.create_run(notebook="e.ipynb")
    orphan, _ = store.artifacts.put_bytes(b"nothing names me")
    work = store.work_dir / "runs" / old[0]
    work.mkdir(parents=True)
    (work / "output.ipynb").write_bytes(b"x" * 1000)

    rule = RetentionRule(older_than=DAY, keep_last=1, grace=6 * 3600)
    later = time.time() + 3 * DAY  # every run and object is three days old then
    dry = collect(store, rule, dry_run=True, now=later)
    assert sorted(dry.runs) == sorted([*old, sched_runs[0].id])
    assert dry.kept == {"marked keep": 1, "a model version names it": 1, "a schedule's newest run": 1}
    assert all(_rows_naming(store, r)["runs"] == 1 for r in old) and work.exists()  # nothing went
    assert store.artifacts.exists(orphan)

    real = collect(store, rule, now=later)
    assert (sorted(real.runs), real.rows, real.objects, real.object_bytes, real.work_bytes) == \
        (sorted(dry.runs), dry.rows, dry.objects, dry.object_bytes, dry.work_bytes)  # the dry run counted exactly
    assert real.rows["runs"] == 5 and real.rows["metrics"] > 0 and real.rows["params and tags"] == 8
    assert real.objects == 5 and real.work_bytes == 1000  # the four old runs' own bytes and the orphan
    for run_id in real.runs:
        assert set(_rows_naming(store, run_id).values()) == {0}, run_id
        with pytest.raises(NotFoundError):
            store.get_run(run_id)
    assert not work.exists() and not store.artifacts.exists(orphan)
    remaining = {newest_a, kept, later_b, registered, later_c, sched_runs[1].id, active.id}
    assert remaining <= {r.id for r in store.list_runs()}
    for run_id in remaining - {active.id}:  # what stays keeps its bytes
        for artifact in store.list_artifacts(run_id):
            assert store.artifacts.read_bytes(artifact.digest)
    assert store.artifacts.exists(version.digest)
    assert collect(store, rule, now=later).runs == []  # a second pass finds nothing more


def test_gc_never_removes_recent_objects_nor_runs(store_url: str) -> None:
    store = open_store(store_url)
    run_id = _full_run(store, "a.ipynb", b"fresh", b"shared")
    _full_run(store, "a.ipynb", b"newer", b"shared")
    young, _ = store.artifacts.put_bytes(b"an upload whose row is not written yet")
    report = collect(store, RetentionRule(older_than=DAY, keep_last=0))
    assert report.runs == [] and report.objects == 0 and store.artifacts.exists(young)
    aged = collect(store, RetentionRule(older_than=1.0, keep_last=0, grace=6 * 3600), now=time.time() + 60)
    assert run_id in aged.runs and store.artifacts.exists(young)  # the run's old enough, the object is not


WRITER = """
import json, os, random, sys, time
from mlops_magic.store import open_store
store = open_store(sys.argv[1])
shared = bytes.fromhex(sys.argv[2])
wrote, missing, count = [], 0, int(sys.argv[3])
for i in range(count):
    run = store.create_run(notebook=f"writer-{os.getpid()}.ipynb")
    own = store.log_artifact_bytes(run.id, "own.bin", os.urandom(4096))
    again = store.log_artifact_bytes(run.id, "shared.bin", shared)  # bytes gc may be about to sweep
    missing += not store.artifacts.exists(again.digest)  # a row naming bytes that are gone
    if i == count - 1:
        store.set_tags(run.id, {"mlops.keep": "true"})  # the last run stays: its rows are checked at the end
    store.finish_run(run.id, "succeeded")
    wrote += [own.digest, again.digest]
    time.sleep(random.uniform(0, 1.5))  # gaps in which no recent run names the shared bytes
print(json.dumps({"wrote": wrote, "missing": missing}))
"""


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_gc_with_concurrent_writers_never_loses_a_referenced_object(store_url: str) -> None:
    store = open_store(store_url)
    shared = os.urandom(2048)
    for i in range(30):
        _full_run(store, "old.ipynb", f"old {i}".encode(), shared)
    objects = store.artifacts.root / "objects"  # a folder store: its objects can be aged by hand
    three_days_ago = time.time() - 3 * DAY
    for path in objects.rglob("*"):
        if path.is_file():
            os.utime(path, (three_days_ago, three_days_ago))
    time.sleep(1.2)  # the old runs are now older than the rule's second
    writers = [subprocess.Popen([PYTHON, "-c", textwrap.dedent(WRITER), store_url, shared.hex(), "15"],
                                env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    removed = []
    while any(w.poll() is None for w in writers):  # sweeps while the writers re-use the old shared bytes
        removed += collect(store, RetentionRule(older_than=1.0, keep_last=0, grace=2 * 3600)).runs
    outputs = [w.communicate(timeout=300) for w in writers]
    assert all(w.returncode == 0 for w in writers), [e[-2000:] for _, e in outputs]
    results = [json.loads(out) for out, _ in outputs]
    assert [r["missing"] for r in results] == [0, 0, 0]  # no writer ever saw its row name missing bytes
    written = {d for r in results for d in r["wrote"]}
    assert len(set(removed)) >= 30  # the old runs went, and with them every row naming the shared bytes
    rows = store.db.query("SELECT DISTINCT digest FROM artifacts")
    assert rows and all(store.artifacts.exists(r[0]) for r in rows)  # no row names a missing object
    assert all(store.artifacts.exists(d) for d in written)  # nothing written during gc was removed
    assert store.artifacts.exists(hashlib.sha256(shared).hexdigest())


def test_mlops_gc_dry_run_then_gc_from_the_command_line(tmp_path: Path) -> None:
    env = python_env(MLOPS_STORE=str(tmp_path))
    script = "from mlops_magic.store import open_store\ns = open_store()\n" \
             "for i in range(3):\n    r = s.create_run(notebook='n.ipynb'); s.finish_run(r.id, 'succeeded')\n"
    assert subprocess.run([PYTHON, "-c", script], env=env, cwd=tmp_path).returncode == 0
    time.sleep(1.1)

    def gc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYTHON, "-m", "mlops_magic.cli", "gc", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    dry = gc("--older-than", "1s", "--keep-last", "1", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("would remove 2 runs started before "), dry.stdout
    assert "would free" in dry.stdout
    done = gc("--older-than", "1s", "--keep-last", "1", "--format", "json")
    assert done.returncode == 0 and len(json.loads(done.stdout)["runs"]) == 2, done.stdout + done.stderr
    bad = gc("--older-than", "ninety days")
    assert bad.returncode == 2 or bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == ("Error: --older-than 'ninety days': write a length such as "
                                                   "30m, 6h, 1d or 1w")
    short = gc("--older-than", "90d", "--grace", "5m")
    assert short.returncode == 2 and "--grace '5m' is too short: at least 2h" in short.stderr


def test_bytes_re_used_after_the_sweep_listed_them_are_not_removed(tmp_path: Path) -> None:
    """The race the grace period alone cannot close: the sweep lists an old orphan, then a writer re-uses
    those bytes. The re-use writes the object again (a folder store touches the file) and the delete looks
    at each object's last write once more, so the bytes stay."""
    store = open_store(str(tmp_path / "project"))
    digest, _ = store.artifacts.put_bytes(b"old bytes")
    old = time.time() - 3 * DAY
    os.utime(store.artifacts.path_for(digest), (old, old))
    grace_line = time.time() - 2 * 3600
    [listed] = [o for o in store.artifacts.objects() if o.modified < grace_line]  # the sweep's listing
    assert listed.digest == digest
    assert store.artifacts.put_bytes(b"old bytes")[0] == digest  # a writer re-uses them now
    assert store.artifacts.delete([digest], written_before=grace_line) == 0 and store.artifacts.exists(digest)
    os.utime(store.artifacts.path_for(digest), (old, old))
    assert store.artifacts.delete([digest], written_before=grace_line) == 1  # untouched, it would have gone


def test_gc_keeps_the_stage_caches_bytes_and_removes_a_removed_runs_restores(store_url: str) -> None:
    """The cache's manifests and objects are named by its own tables, not by ``artifacts`` rows: the sweep
    keeps them (the cache evicts its own); a removed run's restore records go with it."""
    from mlops_magic.cache.entries import load_entry, save_entry
    from mlops_magic.store import cache as cache_tables

    store = open_store(store_url)
    source = store.create_run(notebook="a.ipynb")
    stage = store.start_stage(source.id, "data")
    key = "c" * 64
    saved = save_entry(store, key, values={"rows": list(range(500))}, deleted=[], files=[], cwd=Path.cwd(),
                       outputs=[], fingerprints={}, run_id=source.id, stage_id=stage.id, stage="data",
                       notebook="a.ipynb", seconds=2.0)
    assert saved.saved
    store.finish_stage(stage.id, "succeeded")
    store.finish_run(source.id, "succeeded")
    restoring = store.create_run(notebook="a.ipynb")
    restored_stage = store.start_stage(restoring.id, "data")
    store.db.run_in_transaction(lambda tx: cache_tables.record_restore(tx, {
        "stage_id": restored_stage.id, "run_id": restoring.id, "key": key, "source_run_id": source.id,
        "source_stage_id": stage.id, "source_seconds": 2.0, "restore_seconds": 0.1, "restored": ["rows"],
        "created": time.time()}))
    store.finish_stage(restored_stage.id, "succeeded")
    store.finish_run(restoring.id, "succeeded")
    newest = store.create_run(notebook="a.ipynb")
    store.finish_run(newest.id, "succeeded")
    cached = cache_tables.digests(store.db)
    assert cached and not cached & {a.digest for r in (source, restoring) for a in store.list_artifacts(r.id)}

    report = collect(store, RetentionRule(older_than=DAY, keep_last=1), now=time.time() + 3 * DAY)
    assert sorted(report.runs) == sorted([source.id, restoring.id])
    assert report.rows["cache restores"] == 1 and cache_tables.restores(store.db, run_ids=[restoring.id]) == []
    assert report.objects == 0 and all(store.artifacts.exists(d) for d in cached)
    entry = load_entry(store, key)  # the entry outlives the run that made it, bytes and all
    assert entry is not None and entry.values["rows"] == list(range(500))

"""Scale of the scheduler and the store: 10,000 schedules, one tick; sustained run records with 8 writers.

    python benchmarks/bench_scale.py [--schedules 10000] [--writers 8] [--seconds 5] [--postgres URL | --no-postgres]

For SQLite (a file in a temporary folder) and PostgreSQL (``--postgres URL``, else a throwaway server
started with ``initdb`` + ``pg_ctl`` as the tests do: fsync off, so its write figures are an upper bound):

  add              seconds to add the schedules with ``add_schedule`` (validated, one transaction each)
  tick (7 due)     one scheduler pass over every schedule at a minute when 7 are due: find, claim, record
                   (the runs themselves go to an executor that records them succeeded at once, so this is
                   the scheduler's own cost, what a tick adds to every minute)
  tick (none due)  the same pass one second later, nothing due
  cli tick         ``mlops scheduler tick`` as a process at a minute when 7 are due (Python start-up included;
                   the 7 notebooks are tiny and run in the local executor, two at a time)
  cli idle         ``mlops scheduler tick`` as a process when nothing is due (start-up + one pass)
  run records/s    runs created, given 5 params, 20 metrics and finished, per second, by N writer processes

Goals: a tick over 10,000 schedules <= 1 s on both stores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mlops_magic.runner.executors import Executor
from mlops_magic.runner.request import RunResult

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)


class Record(Executor):
    """Records each run succeeded at once: the scheduler's cost without any notebook."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def submit(self, prep: Any) -> Future[RunResult]:
        self.store.create_run(run_id=prep.run_id, notebook=prep.recorded_notebook, trigger=prep.request.trigger,
                              schedule_id=prep.request.schedule_id, status="succeeded")
        future: Future[RunResult] = Future()
        future.set_result(RunResult(run_id=prep.run_id, notebook=prep.recorded_notebook, status="succeeded"))
        return future


def tiny_notebook(path: Path) -> Path:
    nb = {"cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "source": "x = 1", "outputs": [],
                     "execution_count": None}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def bench_schedules(url: str, folder: Path, count: int) -> dict[str, float]:
    from mlops_magic.scheduling.schedules import add_schedule
    from mlops_magic.scheduling.tick import tick
    from mlops_magic.store import clear_cache, open_store

    clear_cache()
    store = open_store(url)
    nb = tiny_notebook(folder / "nightly.ipynb")
    start = time.perf_counter()
    for i in range(count):  # spread over the day: about count/1440 due each minute
        minute = i % 1440
        add_schedule(store, str(nb), cron=f"{minute % 60} {minute // 60} * * *", now=T0.timestamp(),
                     base_dir=str(folder))
    added = time.perf_counter() - start
    due_at = T0 + timedelta(minutes=1, seconds=0.5)
    start = time.perf_counter()
    claimed = tick(store, due_at, executor=Record(store))
    with_due = time.perf_counter() - start
    assert len(claimed) == len(range(1, count, 1440)), len(claimed)
    start = time.perf_counter()
    assert tick(store, due_at + timedelta(seconds=1), executor=Record(store)) == []
    none_due = time.perf_counter() - start
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_RUN_ID", "MLOPS_EXECUTOR")}
    env["MLOPS_STORE"] = url
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "scheduler", "tick", "--parallel", "2",
                           "--now", (T0 + timedelta(minutes=2, seconds=0.5)).isoformat()],
                          cwd=folder, env=env, capture_output=True, text=True)
    cli = time.perf_counter() - start
    if proc.returncode != 0 or proc.stdout.count("succeeded") != len(range(2, count, 1440)):
        raise SystemExit(f"mlops scheduler tick failed:\n{proc.stdout}\n{proc.stderr}")
    start = time.perf_counter()
    idle = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "scheduler", "tick",
                           "--now", (T0 + timedelta(minutes=2, seconds=1)).isoformat()],
                          cwd=folder, env=env, capture_output=True, text=True)
    cli_idle = time.perf_counter() - start
    if "nothing due" not in idle.stdout:
        raise SystemExit(f"mlops scheduler tick (nothing due) failed:\n{idle.stdout}\n{idle.stderr}")
    clear_cache()
    return {"add": added, "tick (7 due)": with_due, "tick (none due)": none_due, "cli tick": cli,
            "cli idle": cli_idle}


def _writer(url: str, seconds: float, counter: Any, start_at: float) -> None:
    from mlops_magic.store import open_store

    store = open_store(url)
    while time.time() < start_at:
        time.sleep(0.001)
    done = 0
    while time.time() < start_at + seconds:
        run = store.create_run(notebook="bench.ipynb", trigger="schedule", params={f"p{i}": i for i in range(5)})
        store.log_metrics(run.id, [(f"m{i}", i * 0.5, 0) for i in range(20)])
        store.finish_run(run.id, "succeeded")
        done += 1
    with counter.get_lock():
        counter.value += done


def bench_writers(url: str, writers: int, seconds: float) -> float:
    from mlops_magic.store import clear_cache, open_store

    clear_cache()
    open_store(url)  # migrate once before the writers start
    clear_cache()
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("i", 0)
    start_at = time.time() + 3.0  # every writer imported and connected before the clock starts
    procs = [ctx.Process(target=_writer, args=(url, seconds, counter, start_at)) for _ in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit("a writer process failed")
    return counter.value / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--postgres", default=None, metavar="URL", help="an empty PostgreSQL database to use")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    stores: dict[str, tuple[str, str]] = {}
    (root / "sqlite" / ".mlops").mkdir(parents=True)
    (root / "sqlite-w").mkdir()
    stores["SQLite"] = (str(root / "sqlite"), f"sqlite:///{root / 'sqlite-w' / 'mlops.db'}")
    pg_cluster = None
    if not args.no_postgres:
        if args.postgres:
            stores["PostgreSQL"] = (args.postgres, args.postgres)
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            import postgres_support

            pg_cluster = postgres_support.start_cluster()
            stores["PostgreSQL (fsync off)"] = (
                pg_cluster.url(pg_cluster.new_database()) + f"?artifacts={root / 'pg-artifacts'}",
                pg_cluster.url(pg_cluster.new_database()) + f"?artifacts={root / 'pg-artifacts'}")
    try:
        rows = []
        for name, (url, writers_url) in stores.items():
            folder = root / name.split()[0].lower() / "project"
            folder.mkdir(parents=True, exist_ok=True)
            times = bench_schedules(url, folder, args.schedules)
            rate = bench_writers(writers_url, args.writers, args.seconds)
            rows.append((name, times, rate))
    finally:
        if pg_cluster is not None:
            postgres_support.stop_cluster(pg_cluster)
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.schedules} schedules; {args.writers} writer processes for {args.seconds:g}s")
    print(f"{'store':<24}{'add':>9}{'tick 7 due':>12}{'tick none':>11}{'cli tick':>10}{'cli idle':>10}"
          f"{'runs/s':>9}")
    for name, t, rate in rows:
        print(f"{name:<24}{t['add']:>8.1f}s{t['tick (7 due)']:>11.3f}s{t['tick (none due)']:>10.3f}s"
              f"{t['cli tick']:>9.2f}s{t['cli idle']:>9.2f}s{rate:>9.0f}")
    print(f"(cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; goal: a tick <= 1 s)")


if __name__ == "__main__":
    main()

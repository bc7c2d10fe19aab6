"""Headless runs and schedules on a real Dask cluster: a scheduler and two workers on 127.0.0.1.

One cluster serves the module (``cluster``); worker ``gpu`` offers ``GPU=1``, worker ``cpu`` nothing.
Tests that kill a worker wait until its nanny has brought it back, so later tests see two workers.

The module runs twice (``artifacts_kind``): with the artifacts in the project's folder, and with them in
S3 (moto's server on 127.0.0.1), the workers then each in a working folder of their own (cwd and TMPDIR)
with nothing but the store URL and the bucket's endpoint and credentials: no shared artifacts folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from _support import python_env
from dask_support import LocalCluster, kernels_of, notebook, start_cluster, wait_for
from postgres_support import postgres_cluster, postgres_url  # noqa: F401 - fixtures
from s3_support import moto_server, s3_artifacts  # noqa: F401 - fixtures

from mlops_magic.runner import RunRequest, RunResult, run_notebooks
from mlops_magic.store import clear_cache, open_store
from mlops_magic.tracking.queries import run_detail

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["folder", "s3"])
def artifacts_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, artifacts_kind: str,
            request: pytest.FixtureRequest) -> Iterator[LocalCluster]:
    if artifacts_kind == "folder":
        yield from start_cluster(tmp_path_factory.mktemp("dask-logs"))
        return
    server = request.getfixturevalue("moto_server")
    yield from start_cluster(tmp_path_factory.mktemp("dask-logs"), worker_env=server.env(),
                             worker_dirs=tmp_path_factory.mktemp("workers"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts_kind: str,
            request: pytest.FixtureRequest) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_STORE", "MLOPS_EXECUTOR", "MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE",
                "MLOPS_ARTIFACTS"):
        monkeypatch.delenv(var, raising=False)
    if artifacts_kind == "s3":  # the project's store names the bucket (written into its URL for the workers)
        monkeypatch.setenv("MLOPS_ARTIFACTS", request.getfixturevalue("s3_artifacts"))
    clear_cache()
    (tmp_path / ".mlops").mkdir()
    yield tmp_path
    clear_cache()


def quick(folder: Path, name: str, *, sleep: float = 0.0) -> Path:
    return notebook(folder / name, ["import os, time\nx = 1",
                                    f"%%mlops stage train\ntime.sleep({sleep})\nkernel_pid = os.getpid()"])


def run_bg(requests: list[RunRequest], store: Any, executor: Any) -> tuple[threading.Thread, list[Any]]:
    """Run in a thread (so the test can look at the store meanwhile); the results or the error land in ``out``."""
    out: list[Any] = []

    def work() -> None:
        try:
            out.extend(run_notebooks(requests, store=store, executor=executor))
        except BaseException as exc:  # pragma: no cover - shown by the assertion on ``out``
            out.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, out


def run_of(store: Any, run_id: str) -> Any:
    try:
        return store.get_run(run_id)
    except Exception:
        return None


def wait_restarted(cluster: LocalCluster, name: str, old_address: str) -> None:
    wait_for(lambda: name in cluster.workers() and cluster.workers()[name]["address"] != old_address
             and len(cluster.workers()) == 2, 60, f"worker {name} to be restarted by its nanny")
    cluster.record_children()


# -- spreading, routing, waiting -------------------------------------------------------------------
def probe(folder: Path, name: str) -> Path:
    """A notebook whose stage writes what its kernel is: pid, run id, working folder and a shipped setting."""
    out = folder / (name + ".json")
    return notebook(folder / name, ["import json, os", "%%mlops stage train\n"
                    f"json.dump({{'pid': os.getpid(), 'run': os.environ['MLOPS_RUN_ID'], 'cwd': os.getcwd(), "
                    f"'probe': os.environ.get('MLOPS_PROBE')}}, open({str(out)!r}, 'w'))"])


def test_a_run_adopts_its_workers_warm_kernel_which_serves_no_other_run(
        cluster: LocalCluster, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(str(project))
    on_gpu = {"GPU": 1}  # both runs on worker ``gpu``
    [first] = run_notebooks([RunRequest(notebook=str(probe(project, "a.ipynb")), store_url=store.url,
                                        resources=on_gpu)], store=store, executor=cluster.url)
    assert first.status == "succeeded", first.line()
    worker_pid = cluster.worker_pid("gpu")
    # the worker boots a kernel for its next run once a run took the last one: exactly one, and it stays
    warm = wait_for(lambda: (k := kernels_of(worker_pid)) and len(k) == 1 and k, 60, "a warm kernel on the worker")
    time.sleep(1.0)
    assert kernels_of(worker_pid) == warm
    weird = 'a "quoted" \\ value\nover two lines; import os; os._exit(3) #'
    monkeypatch.setenv("MLOPS_PROBE", weird)  # a submitter's MLOPS_* setting travels to the worker's kernel
    [second] = run_notebooks([RunRequest(notebook=str(probe(project, "b.ipynb")), store_url=store.url,
                                         resources=on_gpu)], store=store, executor=cluster.url)
    assert second.status == "succeeded", second.line()
    seen = json.loads((project / "b.ipynb.json").read_text())
    first_seen = json.loads((project / "a.ipynb.json").read_text())
    assert seen["pid"] == warm[0] != first_seen["pid"]  # the booted kernel ran it, and it was not the first run's
    assert seen["run"] == second.run_id and seen["cwd"] == str(project) and seen["probe"] == weird
    assert [s.name for s in store.list_stages(second.run_id)] == ["train"]  # its stage recorded, as in any kernel
    # killed after its run, and the next warm kernel is another process
    wait_for(lambda: not psutil.pid_exists(seen["pid"]) or psutil.Process(seen["pid"]).status() == psutil.STATUS_ZOMBIE,
             30, "the adopted kernel to be killed after its run")
    nxt = wait_for(lambda: kernels_of(worker_pid), 60, "the next warm kernel")
    assert seen["pid"] not in nxt


def test_six_notebooks_spread_over_both_workers(cluster: LocalCluster, project: Path) -> None:
    paths = [quick(project, f"nb{i}.ipynb", sleep=1.0) for i in range(6)]
    proc = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "run", *map(str, paths), "--executor", cluster.url],
                          cwd=project, env=python_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("succeeded") == 6, proc.stdout
    listing = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "runs", "--format", "json"], cwd=project,
                             env=python_env(), capture_output=True, text=True, timeout=60)
    records = json.loads(listing.stdout)
    assert len(records) == 6 and {r["status"] for r in records} == {"succeeded"}
    assert {r["executor"] for r in records} == {cluster.url}
    addresses = {w["address"] for w in cluster.workers().values()}
    assert {r["worker"] for r in records} == addresses  # both workers took runs
    store = open_store(str(project))
    pids = {store.get_run(r["id"]).pid for r in records}
    assert len(pids) == 2 and os.getpid() not in pids and proc.returncode == 0
    # each kernel was sampled where it ran: the worker's runner, not the submitter (which has no kernel)
    assert all(run_detail(store, r["id"])["system"]["rss"]["peak"] > 0 for r in records)
    table = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "runs"], cwd=project, env=python_env(),
                           capture_output=True, text=True, timeout=60).stdout
    assert "WORKER" in table.splitlines()[0] and all(a in table for a in addresses)


def test_resources_route_runs_to_the_worker_that_has_them(cluster: LocalCluster, project: Path) -> None:
    store = open_store(str(project))
    requests = [RunRequest(notebook=str(quick(project, f"gpu{i}.ipynb")), store_url=store.url,
                           resources={"GPU": 1}) for i in range(3)]
    results = run_notebooks(requests, store=store, executor=cluster.url)
    assert [r.status for r in results] == ["succeeded"] * 3, [r.line() for r in results]
    gpu = cluster.workers()["gpu"]["address"]
    assert {store.get_run(r.run_id).worker for r in results} == {gpu}
    from mlops_magic.display.runs import RunView
    from mlops_magic.tracking.queries import run_detail

    assert f"executor {cluster.url} · worker {gpu}" in repr(RunView(run_detail(store, results[0].run_id)))


def test_a_resource_nobody_has_waits_with_a_reason_then_queue_timeout_fails_it(
        cluster: LocalCluster, project: Path) -> None:
    store = open_store(str(project))
    request = RunRequest(notebook=str(quick(project, "big.ipynb")), store_url=store.url, run_id="b" * 16,
                         resources={"GPU": 2}, queue_timeout=20)  # two CLI starts must fit, under load too
    thread, out = run_bg([request], store, cluster.url)
    queued = wait_for(lambda: (r := run_of(store, "b" * 16)) is not None and r.status == "queued" and r, 30,
                      "the run to be queued")
    assert queued.waiting and "no worker offers GPU=2" in queued.waiting and "GPU=1" in queued.waiting
    listing = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "runs"], cwd=project, env=python_env(),
                             capture_output=True, text=True, timeout=60).stdout
    assert "queued" in listing and "no worker offers GPU=2" in listing
    filtered = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "runs", "--status", "queued", "--format",
                               "json"], cwd=project, env=python_env(), capture_output=True, text=True, timeout=60)
    assert [(r["id"], r["status"], r["worker"]) for r in json.loads(filtered.stdout)] == [("b" * 16, "queued", None)]
    thread.join(60)
    [result] = out
    assert isinstance(result, RunResult) and result.status == "failed"
    assert "--queue-timeout 20" in result.error and "GPU=2" in result.error
    run = store.get_run("b" * 16)
    assert run.status == "failed" and run.worker is None and run.error == result.error
    # it never ran, it waited: the line says so (it said 0.0s)
    assert result.duration == 0.0 and result.waited >= 20
    assert f"never started: waited {result.waited:.1f}s in the queue" in result.line()


# -- faults --------------------------------------------------------------------------------------
SLOW_ONCE = """import os, time, pathlib
marker = pathlib.Path({marker!r})
first = not marker.exists()
marker.write_text(str(os.getpid()))
if first:
    time.sleep(120)
"""


def _kill_worker_running(cluster: LocalCluster, store: Any, run_id: str,
                         busy: Path) -> tuple[str, str, list[int]]:
    """SIGKILL the worker process running ``run_id`` once its kernel is busy (``busy`` exists): the worker's
    name, address and kernels."""
    run = wait_for(lambda: (r := run_of(store, run_id)) is not None and r.status == "running" and r.worker and r,
                   60, "the run to start on a worker")
    name = next(n for n, w in cluster.workers().items() if w["address"] == run.worker)
    pid = cluster.worker_pid(name)
    assert pid == run.pid
    kernels = wait_for(lambda: kernels_of(pid), 30, "the run's kernel to start")
    cluster.seen.update(kernels)
    wait_for(busy.exists, 60, "the notebook to be executing")
    os.kill(pid, signal.SIGKILL)
    return name, str(run.worker), kernels


def test_a_worker_killed_mid_run_ends_the_run_killed_naming_it(cluster: LocalCluster, project: Path) -> None:
    store = open_store(str(project))
    nb = notebook(project / "slow.ipynb", [SLOW_ONCE.format(marker=str(project / "marker"))])
    thread, out = run_bg([RunRequest(notebook=str(nb), store_url=store.url, run_id="k" * 16)], store, cluster.url)
    name, address, kernels = _kill_worker_running(cluster, store, "k" * 16, project / "marker")
    thread.join(120)
    [result] = out
    assert isinstance(result, RunResult) and result.status == "killed", result
    assert address in result.error and "died mid-run" in result.error
    run = store.get_run("k" * 16)
    assert run.status == "killed" and address in run.error
    # how long it ran before its worker died, from the store (the worker could not say; it said 0.0s)
    assert result.duration == pytest.approx((run.ended - run.started).total_seconds()) and result.duration > 0
    assert f"  {result.duration:.1f}s" in result.line() and "  0.0s" not in result.line(), result.line()
    # the kernel died with its worker: the notebook is not still executing somewhere
    wait_for(lambda: not any(psutil.pid_exists(k) and psutil.Process(k).status() != psutil.STATUS_ZOMBIE
                             for k in kernels), 10, "the orphaned kernel to exit")
    wait_restarted(cluster, name, address)


def test_a_worker_killed_mid_run_is_retried_as_the_next_attempt(cluster: LocalCluster, project: Path) -> None:
    store = open_store(str(project))
    marker = project / "marker"
    nb = notebook(project / "slow_once.ipynb", ["%%mlops stage train\n" + SLOW_ONCE.format(marker=str(marker))])
    request = RunRequest(notebook=str(nb), store_url=store.url, run_id="r" * 16, retries=1, retry_delay=0)
    thread, out = run_bg([request], store, cluster.url)
    name, address, _ = _kill_worker_running(cluster, store, "r" * 16, marker)
    thread.join(120)
    [result] = out
    assert isinstance(result, RunResult) and result.status == "succeeded", result
    assert result.attempts == 2
    run = store.get_run("r" * 16)
    assert run.status == "succeeded" and run.worker != address and run.tags["mlops.lost_worker"] == address
    attempts = [(s.name, s.attempt, s.status) for s in store.list_stages(run.id)]
    assert attempts == [("train", 1, "failed"), ("train", 2, "succeeded")], attempts
    wait_restarted(cluster, name, address)


def test_a_timeout_is_enforced_on_the_worker(cluster: LocalCluster, project: Path) -> None:
    store = open_store(str(project))
    nb = notebook(project / "endless.ipynb", ["import time", "%%mlops stage train\ntime.sleep(300)"])
    [result] = run_notebooks([RunRequest(notebook=str(nb), store_url=store.url, timeout=3)], store=store,
                             executor=cluster.url)
    assert result.status == "timed-out" and "timed out after 3s in stage train" in result.error, result.line()
    run = store.get_run(result.run_id)
    assert run.status == "timed-out" and run.worker in {w["address"] for w in cluster.workers().values()}
    assert result.duration < 30


def test_ctrl_c_on_mlops_run_cancels_its_cluster_task(cluster: LocalCluster, project: Path) -> None:
    store = open_store(str(project))
    nb = notebook(project / "forever.ipynb", ["import os, time", "%%mlops stage train\n"
                  f"open({str(project / 'kernel.pid')!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)"])
    proc = subprocess.Popen([sys.executable, "-m", "mlops_magic.cli", "run", str(nb), "--executor", cluster.url],
                            cwd=project, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run = wait_for(lambda: next((r for r in store.list_runs() if r.status == "running"), None), 60,
                       "the run to start")
        name = next(n for n, w in cluster.workers().items() if w["address"] == run.worker)
        worker_pid = cluster.worker_pid(name)
        kernel = int(wait_for(lambda: (project / "kernel.pid").exists() and (project / "kernel.pid").read_text(),
                              60, "the notebook to be executing"))
        assert kernel in kernels_of(worker_pid)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    ended = store.get_run(run.id)
    assert ended.status == "killed" and "cancelled" in ended.error and "Ctrl-C" in ended.error, ended.error
    # (the worker's warm kernel for its next run stays; the run's own kernel goes)
    wait_for(lambda: kernel not in kernels_of(worker_pid), 15, "the worker to kill the cancelled run's kernel")
    # the worker is free again: a quick run on it finishes
    gpu_only = {"GPU": 1} if name == "gpu" else {}
    [after] = run_notebooks([RunRequest(notebook=str(quick(project, "after.ipynb")), store_url=store.url,
                                        resources=gpu_only)], store=store, executor=cluster.url)
    assert after.status == "succeeded"
    assert store.get_run(run.id).status == "killed"  # the worker did not overwrite the cancellation


def test_a_worker_that_cannot_open_the_store_fails_the_run_in_one_line(cluster: LocalCluster, project: Path) -> None:
    from mlops_magic.runner.cluster import run_on_worker
    from mlops_magic.runner.prepare import prepare

    prep = prepare(RunRequest(notebook=str(quick(project, "q.ipynb"))), project)
    url = "postgresql://ml:s3cret@127.0.0.1:1/mlops?artifacts=/nowhere"
    result = cluster.client().submit(run_on_worker, prep, url, cluster.url, {}, pure=False).result(timeout=60)
    assert result.status == "failed" and result.error.startswith("worker tcp://127.0.0.1:")
    assert "cannot open the store postgresql://ml:***@127.0.0.1:1/mlops" in result.error
    assert "s3cret" not in result.error and "\n" not in result.error


def test_reaper_ends_a_queued_run_the_cluster_does_not_know(cluster: LocalCluster, project: Path) -> None:
    from mlops_magic.runner.cluster import reconcile

    store = open_store(str(project))
    lost = store.create_run(notebook="lost.ipynb", status="queued", executor=cluster.url)
    other = store.create_run(notebook="other.ipynb", status="queued", executor="dask://elsewhere:1")
    assert reconcile(store, cluster.client(), cluster.url, grace=0) == 1
    assert store.get_run(lost.id).status == "killed" and "no longer has its task" in store.get_run(lost.id).error
    assert store.get_run(other.id).status == "queued"


def test_a_queued_run_whose_submitter_exited_is_reaped_on_its_host(project: Path) -> None:
    code = ("from mlops_magic.store import open_store; "
            f"print(open_store({str(project)!r}).create_run(notebook='gone.ipynb', status='queued', "
            "executor='dask://127.0.0.1:1').id)")
    out = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=60)
    run_id = out.stdout.strip()
    store = open_store(str(project))
    assert store.get_run(run_id).status == "queued"  # reading never writes
    assert store.reap_orphans() == 1  # the call the tick and `mlops runs` make
    [run] = [r for r in store.list_runs() if r.id == run_id]
    assert run.status == "killed" and "submitted it" in run.error and "before a worker started it" in run.error


# -- schedules -----------------------------------------------------------------------------------
def test_two_racing_ticks_dispatch_a_fire_once_on_the_cluster(cluster: LocalCluster, project: Path) -> None:
    from mlops_magic.scheduling.schedules import add_schedule

    store = open_store(str(project))
    quick(project, "nightly.ipynb")
    s = add_schedule(store, str(project / "nightly.ipynb"), cron="0 2 * * *", executor=cluster.url,
                     resources={"GPU": 1}, now=1714521600.0)  # 2024-05-01T00:00Z
    assert (s.executor, s.resources) == (cluster.url, {"GPU": 1.0})
    listing = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "schedule", "list"], cwd=project,
                             env=python_env(), capture_output=True, text=True, timeout=60).stdout
    assert "EXECUTOR" in listing and f"{cluster.url} GPU=1" in listing, listing
    cmd = [sys.executable, "-m", "mlops_magic.cli", "scheduler", "tick", "--now", "2024-05-01T02:00:30+00:00"]
    procs = [subprocess.Popen(cmd, cwd=project, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    runs = store.list_runs(schedule_id=s.id)
    assert len(runs) == 1, [(r.id, r.status) for r in runs]
    assert runs[0].status == "succeeded" and runs[0].executor == cluster.url
    assert runs[0].worker == cluster.workers()["gpu"]["address"]
    assert sum("nothing due" in out for out, _ in outputs) == 1


def test_the_scheduler_loop_ticks_here_and_runs_notebooks_on_the_cluster(cluster: LocalCluster,
                                                                        project: Path) -> None:
    from datetime import datetime, timezone

    from mlops_magic.scheduling.schedules import add_schedule
    from mlops_magic.scheduling.tick import run_loop

    store = open_store(str(project))
    quick(project, "hourly.ipynb")
    s = add_schedule(store, str(project / "hourly.ipynb"), cron="0 * * * *", now=1714521600.0)
    lines: list[str] = []
    run_loop(store, once=True, executor=cluster.url, echo=lines.append,
             clock=lambda: datetime(2024, 5, 1, 1, 0, 10, tzinfo=timezone.utc))
    [run] = store.list_runs(schedule_id=s.id)
    assert run.status == "succeeded" and run.executor == cluster.url and run.worker, lines
    assert any("succeeded" in ln and run.id[:8] in ln for ln in lines), lines


def test_ctrl_c_on_the_scheduler_loop_cancels_its_cluster_runs(cluster: LocalCluster, project: Path) -> None:
    from mlops_magic.scheduling.schedules import add_schedule

    store = open_store(str(project))
    notebook(project / "long.ipynb", ["import time", "%%mlops stage train\ntime.sleep(300)"])
    s = add_schedule(store, str(project / "long.ipynb"), cron="* * * * *", now=time.time() - 120)
    proc = subprocess.Popen([sys.executable, "-m", "mlops_magic.cli", "scheduler", "run", "--interval", "1",
                             "--executor", cluster.url], cwd=project, env=python_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        run = wait_for(lambda: next((r for r in store.list_runs(schedule_id=s.id) if r.status == "running"), None),
                       60, "the scheduled run to start on the cluster")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "mlops scheduler: stopped" in out
    ended = store.get_run(run.id)
    assert ended.status == "killed" and "the scheduler was stopped" in ended.error, ended.error


def test_a_scheduler_that_cannot_reach_the_cluster_records_the_fire_failed(project: Path) -> None:
    from dask_support import free_port

    from mlops_magic.scheduling.schedules import add_schedule

    store = open_store(str(project))
    quick(project, "nightly.ipynb")
    s = add_schedule(store, str(project / "nightly.ipynb"), cron="0 2 * * *", now=1714521600.0)
    url = f"dask://127.0.0.1:{free_port()}"
    proc = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "scheduler", "tick", "--executor", url,
                           "--now", "2024-05-01T02:00:30+00:00"], cwd=project,
                          env=python_env(MLOPS_DASK_CONNECT_TIMEOUT="2"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # a due notebook could not start: cron and CI must see it
    assert "Traceback" not in proc.stderr
    assert proc.stdout.count("cannot start: cannot reach the Dask scheduler") == 1, proc.stdout
    # one line from the scheduler (once per pass, however many fires); the fire's own line is on stdout
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("mlops scheduler: cannot reach")]
    assert said == [f"mlops scheduler: cannot reach the Dask scheduler at {url}: Timed out trying to connect "
                    f"to tcp://{url.split('://')[1]} after 2 s"], proc.stderr
    [run] = store.list_runs(schedule_id=s.id)
    assert run.status == "failed" and f"cannot reach the Dask scheduler at {url}" in run.error


# -- stores --------------------------------------------------------------------------------------
def test_a_postgresql_store_with_the_cluster(cluster: LocalCluster, tmp_path: Path, postgres_url: str,  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch, artifacts_kind: str,
                                             request: pytest.FixtureRequest) -> None:
    """The team set-up: PostgreSQL, and artifacts in a shared folder or (the second pass) in a bucket the
    workers reach with only the store URL and the bucket's credentials."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_ARTIFACTS", raising=False)
    clear_cache()
    shared = tmp_path / "shared-artifacts"
    place = request.getfixturevalue("s3_artifacts") if artifacts_kind == "s3" else str(shared)
    url = f"{postgres_url}{'&' if '?' in postgres_url else '?'}artifacts={place}"
    store = open_store(url)
    requests = [RunRequest(notebook=str(quick(tmp_path, f"pg{i}.ipynb", sleep=0.5)), store_url=store.url)
                for i in range(4)]
    results = run_notebooks(requests, store=store, executor=cluster.url)
    assert [r.status for r in results] == ["succeeded"] * 4, [r.line() for r in results]
    runs = [store.get_run(r.run_id) for r in results]
    assert len({r.worker for r in runs}) == 2 and {r.executor for r in runs} == {cluster.url}
    kept = [a for r in runs for a in store.list_artifacts(r.id)]
    assert [a.name for a in kept] == ["executed.ipynb"] * 4
    assert all(a.path.startswith(place) and b"kernel_pid" in store.artifacts.read_bytes(a.digest) for a in kept)
    assert [s.name for s in store.list_stages(runs[0].id)] == ["train"]
    if artifacts_kind == "s3":  # each worker kept its working copies in its own folder; nobody shared one
        assert cluster.worker_dirs is not None and not shared.exists()
        copies = {p.parent.name for p in cluster.worker_dirs.glob("*/mlops-work-*/runs/*/output.ipynb")}
        assert copies == {r.id for r in runs}
        assert not list(cluster.worker_dirs.rglob("objects"))


# -- without Dask, and staying light -------------------------------------------------------------
def test_without_the_dask_extra_the_error_says_what_to_install(project: Path) -> None:
    quick(project, "nb.ipynb")
    code = ("import sys; sys.modules['distributed'] = None; from mlops_magic.cli.main import main; "
            "main(['run', 'nb.ipynb', '--executor', 'dask://127.0.0.1:8786'])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=project, env=python_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        'Error: --executor dask://127.0.0.1:8786 needs Dask, which is not installed: pip install "mlops-magic[dask]"']
    assert open_store(str(project)).list_runs() == []


def test_a_bad_executor_url_is_one_line_and_nothing_runs(project: Path) -> None:
    quick(project, "nb.ipynb")
    proc = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "run", "nb.ipynb", "--executor", "ftp://x"],
                          cwd=project, env=python_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "unknown executor 'ftp://x'; use local, local:N, dask://HOST:PORT" in proc.stderr


def test_the_cli_and_runner_do_not_import_dask_at_start_up() -> None:
    code = ("import sys, mlops_magic, mlops_magic.cli.main, mlops_magic.cli.run, mlops_magic.cli.schedule, "
            "mlops_magic.runner, mlops_magic.runner.executors, mlops_magic.runner.cluster, "
            "mlops_magic.scheduling.tick; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


def test_init_records_the_project_executor_and_runs_use_it(cluster: LocalCluster, project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "init", "--executor", cluster.url], cwd=project,
                          env=python_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and f"headless runs go to {cluster.url}" in proc.stdout
    assert json.loads((project / ".mlops" / "config.json").read_text())["executor"] == cluster.url
    from mlops_magic.runner import run_notebook

    result = run_notebook(str(quick(project, "default.ipynb")), store=open_store(str(project)))
    run = open_store(str(project)).get_run(result.run_id)
    assert result.status == "succeeded" and run.executor == cluster.url and run.worker
    local = run_notebook(str(quick(project, "local.ipynb")), store=open_store(str(project)), executor="local")
    assert open_store(str(project)).get_run(local.run_id).executor == "local"


def test_the_widgets_run_headlessly_uses_the_project_executor(cluster: LocalCluster, project: Path) -> None:
    from mlops_magic.widgets.params_panel import launch_in_process

    (project / ".mlops" / "config.json").write_text(json.dumps({"executor": cluster.url}))
    store = open_store(str(project))
    launch = launch_in_process(str(quick(project, "widget.ipynb")), {}, store.url)  # as the panel calls it
    launch.thread.join(120)
    assert launch.error is None and launch.result is not None and launch.result.status == "succeeded"
    run = store.get_run(launch.run_id)
    assert run.executor == cluster.url and run.worker in {w["address"] for w in cluster.workers().values()}


def test_a_distributed_client_from_python(cluster: LocalCluster, project: Path) -> None:
    from mlops_magic.runner import run_notebook

    result = run_notebook(str(quick(project, "client.ipynb")), store=open_store(str(project)),
                          executor=cluster.client(), resources="GPU=1")
    run = open_store(str(project)).get_run(result.run_id)
    assert result.status == "succeeded" and run.worker == cluster.workers()["gpu"]["address"]
    assert run.executor == cluster.url


def test_resource_text_parses_with_units() -> None:
    from mlops_magic.errors import InvalidInputError
    from mlops_magic.runner.executor_url import parse_resources

    assert parse_resources("GPU=1,memory=8GiB, bigmem=0.5") == {"GPU": 1.0, "memory": 8 * 2**30, "bigmem": 0.5}
    assert parse_resources("memory=2GB") == {"memory": 2e9}
    for bad in ("GPU", "GPU=x", "=1", "memory=8parsecs"):
        with pytest.raises(InvalidInputError, match="bad resource"):
            parse_resources(bad)


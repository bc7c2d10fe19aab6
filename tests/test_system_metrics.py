"""What a run costs the machine, sampled on real processes: a headless run's kernel from the runner, and an
interactive shell's stage cells from inside; peaks and averages in show."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from dask_support import notebook

from mlops_magic.cli.main import main
from mlops_magic.display.runs import RunView, fmt_system
from mlops_magic.entities import Metric
from mlops_magic.tracking import stage_sampling, system
from mlops_magic.tracking.queries import run_detail
from mlops_magic.tracking.stage_sampling import THREAD_NAME, stage_sampler
from mlops_magic.tracking.system import ProcessTree, descendant_pids, sampling_interval
from mlops_magic.tracking.system_summary import flat, summarize

BURN = """\
import time, psutil
import mlops_magic as mlops
me = psutil.Process()
block = b"x" * (500 * 2**20)  # 500 MB, every page written
rss_seen = me.memory_info().rss
start, cpu0 = time.time(), sum(me.cpu_times()[:2])
while time.time() - start < 3.0:  # burn one core for three seconds
    pass
end = time.time()
cpu_seen = (sum(me.cpu_times()[:2]) - cpu0) / (end - start)
mlops.log_metrics({"seen.rss": rss_seen, "seen.cpu": cpu_seen, "seen.start": start, "seen.end": end})
del block
"""


def _sampler_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mlops-system-")]


@pytest.mark.slow
def test_a_headless_run_records_the_peak_rss_and_cpu_psutil_saw(tmp_path: Path, monkeypatch) -> None:
    from mlops_magic.runner import run_notebook
    from mlops_magic.store import clear_cache, open_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    monkeypatch.setenv("MLOPS_SYSTEM_METRICS_INTERVAL", "0.25")
    clear_cache()
    store = open_store(str(tmp_path))
    path = notebook(tmp_path / "burn.ipynb", ["%%mlops stage data\nx = 1", f"%%mlops stage train\n{BURN}"])
    result = run_notebook(str(path), store=store)
    assert result.status == "succeeded", result.error
    assert _sampler_threads() == []  # the runner's sampler stopped with the run

    seen = store.latest_metrics([result.run_id])[result.run_id]
    points = store.metric_history(result.run_id)
    rss = [m.value for m in points if m.key == "system.rss"]
    assert min(rss) > 0  # the kernel, killed once its notebook is saved, is never sampled as a 0-byte zombie
    assert abs(max(rss) - seen["seen.rss"]) <= 0.10 * seen["seen.rss"]
    start = datetime.fromtimestamp(seen["seen.start"], timezone.utc) + timedelta(seconds=0.3)
    end = datetime.fromtimestamp(seen["seen.end"], timezone.utc)
    burning = [m.value for m in points if m.key == "system.cpu" and start <= m.timestamp <= end]
    assert len(burning) >= 5  # a sample every 0.25 s of the 3 s burn (the first one after it began)
    assert abs(sum(burning) / len(burning) - seen["seen.cpu"]) <= 0.10 * seen["seen.cpu"]
    assert all(m.stage_id is None for m in points if m.key.startswith("system."))  # sampled from outside

    detail = run_detail(store, result.run_id)
    assert detail["system"]["rss"]["peak"] == max(rss)
    assert "seen.cpu" in detail["metrics"] and not any(k.startswith("system.") for k in detail["metrics"])
    train = next(s for s in detail["stages"] if s["name"] == "train")
    assert train["system"]["rss"]["peak"] >= 0.9 * seen["seen.rss"]  # the train stage's share, by time
    text = repr(RunView(detail))
    assert "  system: cpu " in text and "rss peak " in text and "wall " in text
    assert "system.cpu" not in text  # the series is the system line, not a metric row
    shown = CliRunner().invoke(main, ["--store", str(tmp_path), "show", result.run_id])
    assert "system: cpu" in shown.output
    clear_cache()


def test_stage_cells_are_sampled_inside_the_stage_only(ip, monkeypatch) -> None:
    from mlops_magic.tracking.session import get_session

    monkeypatch.setenv("MLOPS_SYSTEM_METRICS_INTERVAL", "0.05")
    # A pure-Python busy loop holds the GIL: each of the sampler's /proc reads may wait a switch interval, so
    # a sample takes up to ~50 ms on a quiet machine (it read the host's whole process list, ~0.5 s, before it
    # walked the tree's own children files), and far longer when other processes want the CPU too (1 s gave
    # no CPU figure once in a full CI run); 2.5 s leaves room for two reads 0.1 s apart within the stage.
    ip.run_cell("%%mlops stage train\nimport time, psutil\nme = psutil.Process()\nc0, t0 = sum(me.cpu_times()[:2]), "
                "time.time()\nwhile time.time() - t0 < 2.5:\n    pass\n"
                "seen = (sum(me.cpu_times()[:2]) - c0) / (time.time() - t0)")
    session = get_session()
    store, run_id = session.store, session.active_run_id()  # a read through the session: the last sample is in
    assert stage_sampler().watching() == 0  # the kernel's sampler sleeps between stages
    [stage] = store.list_stages(run_id)
    points = [m for m in store.metric_history(run_id) if m.key.startswith("system.")]
    assert {m.key for m in points} == {"system.cpu", "system.rss"} and {m.stage_id for m in points} == {stage.id}
    count = len(points)
    ip.run_cell("import time\ntime.sleep(0.3)")  # not a stage: not sampled
    assert len([m for m in store.metric_history(run_id) if m.key.startswith("system.")]) == count
    ip.run_cell("%%mlops stage evaluate\nraise ValueError('fails')")  # a failing stage is sampled to its end too
    assert stage_sampler().watching() == 0
    assert [t.name for t in threading.enumerate()].count(THREAD_NAME) == 1  # one thread for every stage
    steps = [m.step for m in store.metric_history(run_id, "system.rss")]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)  # the second stage continued the series
    detail = run_detail(store, run_id)
    assert detail["stages"][0]["system"]["cpu"]["peak"] >= 0.8 * ip.user_ns["seen"]  # what psutil saw in the cell
    assert "system" in RunView(detail)._repr_html_()


def test_nested_stages_share_one_series_off_the_cells_path(ip, monkeypatch) -> None:
    """A stage inside a stage cell: each point carries the innermost stage running when it was taken, the
    run's series stays one (steps unique and ascending), and every sample, the last ones included, is
    taken by the kernel's sampler thread, never on the cell's own thread."""
    from mlops_magic.tracking.session import get_session

    monkeypatch.setenv("MLOPS_SYSTEM_METRICS_INTERVAL", "0.05")
    # The outer stage burns 1 s before the inner one starts: its first sample is due 50 ms in, and a sample
    # in a kernel running a Python loop can take a while (see the test above) on a busy machine.
    taken_on: list[str] = []
    original = system.take_sample

    def spy(*args, **kwargs):
        taken_on.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(stage_sampling, "take_sample", spy)
    result = ip.run_cell("%%mlops stage train\nimport time\nimport mlops_magic as mlops\n"
                         "def burn(s):\n    t0 = time.time()\n    while time.time() - t0 < s:\n        pass\n"
                         "burn(1.0)\nwith mlops.stage('evaluate'):\n    burn(0.4)\nburn(0.4)")
    assert result.success
    session = get_session()
    store, run_id = session.store, session.active_run_id()
    stages = {s.name: s.id for s in store.list_stages(run_id)}
    points = store.metric_history(run_id, "system.rss")
    steps = [m.step for m in points]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    by_stage = [m.stage_id for m in sorted(points, key=lambda m: m.step)]
    assert set(by_stage) == {stages["train"], stages["evaluate"]}
    first_inner, last_inner = by_stage.index(stages["evaluate"]), len(by_stage) - 1 - by_stage[::-1].index(
        stages["evaluate"])
    assert stages["train"] in by_stage[:first_inner] and stages["train"] in by_stage[last_inner + 1:]
    assert set(by_stage[first_inner:last_inner + 1]) == {stages["evaluate"]}  # the inner stage's stretch is its own
    assert taken_on and set(taken_on) == {THREAD_NAME}
    assert stage_sampler().watching() == 0 and stage_sampler().pending == 0


def test_sampling_can_be_turned_off_or_tuned(monkeypatch, ip) -> None:
    from mlops_magic.tracking.session import get_session

    monkeypatch.setenv("MLOPS_SYSTEM_METRICS_INTERVAL", "off")
    assert sampling_interval() is None
    ip.run_cell("%%mlops stage train\nx = 1")
    session = get_session()
    assert not [m for m in session.store.metric_history(session.active_run_id()) if m.key.startswith("system.")]
    monkeypatch.setenv("MLOPS_SYSTEM_METRICS_INTERVAL", "3")
    assert sampling_interval() == 3.0
    monkeypatch.delenv("MLOPS_SYSTEM_METRICS_INTERVAL")
    assert sampling_interval() == 2.0


def test_summary_and_the_system_line() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def point(key: str, value: float, second: int) -> Metric:
        return Metric(key=key, value=value, step=second, timestamp=t0 + timedelta(seconds=second))

    points = [point("system.rss", 2**30, 0), point("system.cpu", 1.6, 2), point("system.rss", 3 * 2**30, 2),
              point("system.cpu", 2.0, 4), point("system.gpu.0.util", 87.0, 4),
              point("system.gpu.0.mem", 11.2 * 2**30, 4), point("auc", 0.9, 4)]
    summary = summarize(points)
    assert summary["cpu"] == {"avg": 1.8, "peak": 2.0} and summary["rss"]["peak"] == 3 * 2**30
    assert fmt_system(summary, 252.0) == ("cpu 1.8 cores avg (peak 2), rss peak 3.0 GiB, gpu 0 util 87% mem 11.2 GiB, "
                                          "wall 4.2 min")
    assert summarize(points, start=t0 + timedelta(seconds=3))["cpu"] == {"avg": 2.0, "peak": 2.0}
    assert flat(summary)["system.gpu.0.util_peak"] == 87.0 and summarize([point("auc", 1.0, 0)]) == {}
    assert fmt_system({}) == ""


#: A process tree: each process says its pid, then (at depth > 0) starts two children of one less depth, one
#: from its main thread and one from another thread, which stays (so its own children file lists it); all wait.
SPAWN = """\
import os, subprocess, sys, threading, time
os.write(1, f'{os.getpid()}\\n'.encode())  # one write: the tree's lines never interleave
depth = int(sys.argv[1])
if depth:
    def start(wait=0):
        subprocess.Popen([sys.executable, __file__, str(depth - 1)])
        time.sleep(wait)
    start()
    threading.Thread(target=start, args=(120,), daemon=True).start()
time.sleep(120)
"""
CHILDREN_FILE = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


@pytest.mark.skipif(not CHILDREN_FILE.exists(), reason="no /proc/PID/task/TID/children (not Linux, or no "
                                                        "CONFIG_PROC_CHILDREN): psutil lists the tree there")
def test_the_process_tree_is_walked_through_its_own_children_files(tmp_path: Path, monkeypatch) -> None:
    """Grandchildren are found by the /proc walk, the same set psutil's children(recursive=True) finds; the
    tree a sampler reads is the same by either; processes that ended are not in it."""
    import psutil

    script = tmp_path / "spawn.py"
    script.write_text(SPAWN)
    child = subprocess.Popen([sys.executable, str(script), "2"], stdout=subprocess.PIPE, text=True)
    pids = [int(child.stdout.readline()) for _ in range(7)]  # the child, 2 children, 4 grandchildren
    try:
        walked = descendant_pids(child.pid)
        assert walked is not None and sorted(walked) == sorted(pids[1:])
        assert set(walked) == {p.pid for p in psutil.Process(child.pid).children(recursive=True)}
        assert set(walked[:2]) == {p.pid for p in psutil.Process(child.pid).children()}  # breadth-first
        mine = descendant_pids(os.getpid())
        assert mine is not None and set(pids) <= set(mine)
        tree = ProcessTree(child.pid)
        assert sorted(p.pid for p in tree.processes()) == sorted(pids)
        monkeypatch.setattr(system, "descendant_pids", lambda pid: None)  # a kernel without the files
        assert sorted(p.pid for p in tree.processes()) == sorted(pids)
        monkeypatch.undo()
        assert descendant_pids(child.pid, proc=str(tmp_path)) is None  # no such file: psutil's turn
        child.kill()
        child.wait()  # its children are reparented out of the tree
        after = descendant_pids(os.getpid())
        assert after is not None and not set(pids) & set(after)
        assert descendant_pids(child.pid) is None and tree.processes() == []
    finally:
        child.kill()
        child.wait()
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()

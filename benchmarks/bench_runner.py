"""Headless runner vs plain papermill on ten small notebooks, measured in one go.

    python benchmarks/bench_runner.py [--count 10] [--repeat 1]

Prints wall-clock seconds for:
  papermill x10      ten sequential `papermill IN OUT` commands (the baseline)
  mlops run x10      ten sequential `mlops run NB` commands
  mlops run batch    one `mlops run NB1 … NB10` (sequential, next kernel pre-started)
  mlops --parallel 2 one `mlops run NB1 … NB10 --parallel 2`
  mlops dask, cold kernels  the same on a local cluster (a `dask scheduler` and two
                     one-thread workers started here), each run starting its own kernel
                     (MLOPS_DASK_WARM_KERNEL=0)
  mlops dask 2 workers  one `mlops run NB1 … NB10 --executor dask://…` on that cluster, each
                     worker keeping a warm kernel (the default)
and each one's speed-up over the baseline. Goals: `mlops run` one after the
other at least 4x faster than papermill; the --parallel 2 batch at least 3x faster;
the cluster no more than 0.05 s per run slower than the --parallel 2 pool.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def make_notebooks(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        params = new_code_cell(f"seed = {i}")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, new_code_cell("import math\nvalue = sum(math.sqrt(k) for k in range(1000))"),
                    new_code_cell("print(seed, round(value, 3))")]
        path = folder / f"nb{i:02d}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def commands() -> tuple[str, str]:
    """The ``papermill`` command line (words) and the ``mlops`` executable of this environment."""
    papermill = shutil.which("papermill") or f"{sys.executable} -m papermill"
    mlops = shutil.which("mlops")
    if not mlops:
        raise SystemExit("`mlops` is not on PATH; pip install -e . first")
    return papermill, mlops


def timed(cmds: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    for cmd in cmds:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - start


def start_cluster(folder: Path, env: dict[str, str]) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A Dask scheduler and two one-thread workers on 127.0.0.1 (stopped by pid in :func:`stop`)."""
    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(folder / "dask.log", "ab")  # noqa: SIM115 - the children keep it
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=log, env=env, start_new_session=True)]
    procs += [subprocess.Popen([dask, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "1", "--nthreads", "1",
                                "--no-dashboard", "--name", f"w{i}"], stdout=log, stderr=log, env=env,
                               start_new_session=True) for i in range(2)]
    from distributed import Client

    with Client(f"tcp://127.0.0.1:{port}", timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    return f"dask://127.0.0.1:{port}", procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="repeat each measure, keep the best")
    parser.add_argument("--no-dask", action="store_true", help="skip the local Dask cluster row")
    parser.add_argument("--only", default=None, metavar="A,B", help="only these measures (and papermill)")
    args = parser.parse_args()
    papermill, mlops = commands()
    folder = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    (folder / ".mlops").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_STORE", "MLOPS_RUN_ID")}
    nbs = make_notebooks(folder, args.count)
    names = [p.name for p in nbs]
    (folder / "out").mkdir()
    url, procs = start_cluster(folder, env) if not args.no_dask else ("", [])
    try:
        measures = {
            f"papermill x{args.count}": [[*papermill.split(), n, f"out/{n}"] for n in names],
            f"mlops run x{args.count}": [[mlops, "run", n] for n in names],
            "mlops run batch": [[mlops, "run", *names]],
            "mlops --parallel 2": [[mlops, "run", *names, "--parallel", "2"]],
        }
        if url:  # cold first: once a submitter registers the warm-kernel plugin, the workers keep it
            measures["mlops dask, cold kernels"] = [[mlops, "run", *names, "--executor", url]]
            measures["mlops dask 2 workers"] = [[mlops, "run", *names, "--executor", url]]
        if args.only:
            measures = {k: v for k, v in measures.items() if k in args.only.split(",") or k.startswith("papermill")}
        cold = {**env, "MLOPS_DASK_WARM_KERNEL": "0"}
        timed([[mlops, "run", names[0]]], folder, env)  # warm the disk cache and create the store
        if url:
            timed([[mlops, "run", names[0], "--executor", url]], folder, cold)  # warm the workers' imports
        results = {}
        for label, cmds in measures.items():
            results[label] = min(timed(cmds, folder, cold if "cold" in label else env) for _ in range(args.repeat))
    finally:
        stop(procs)
    base = results[f"papermill x{args.count}"]
    print(f"{'measure':<26}{'seconds':>9}{'per nb':>9}{'vs papermill':>14}")
    for label, seconds in results.items():
        print(f"{label:<26}{seconds:>9.2f}{seconds / args.count:>9.2f}{base / seconds:>13.2f}x")
    for label in ("mlops dask, cold kernels", "mlops dask 2 workers"):
        if label in results and "mlops --parallel 2" in results:
            extra = (results[label] - results["mlops --parallel 2"]) / args.count
            ratio = results[label] / results["mlops --parallel 2"]
            print(f"{label} vs --parallel 2: {ratio:.2f}x the time, {extra:+.2f} s per run (goal: <= +0.05)")
    print(f"(cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, folder {folder})")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

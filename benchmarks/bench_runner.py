"""Headless runner vs plain papermill on ten small notebooks, measured in one go.

    python benchmarks/bench_runner.py [--count 10] [--repeat 1]

Prints wall-clock seconds for:
  papermill x10      ten sequential `papermill IN OUT` commands (the baseline)
  mlops run x10      ten sequential `mlops run NB` commands
  mlops run batch    one `mlops run NB1 … NB10` (sequential, next kernel pre-started)
  mlops --parallel 2 one `mlops run NB1 … NB10 --parallel 2`
and each one's speed-up over the baseline. Goals: `mlops run` one after the
other no slower than papermill; the --parallel 2 batch at least 3x faster.
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def timed(cmds: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    for cmd in cmds:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="repeat each measure, keep the best")
    args = parser.parse_args()
    papermill = shutil.which("papermill") or f"{sys.executable} -m papermill"
    mlops = shutil.which("mlops")
    if not mlops:
        raise SystemExit("`mlops` is not on PATH; pip install -e . first")
    folder = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    (folder / ".mlops").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_STORE", "MLOPS_RUN_ID")}
    nbs = make_notebooks(folder, args.count)
    names = [p.name for p in nbs]
    (folder / "out").mkdir()
    measures = {
        f"papermill x{args.count}": [[*papermill.split(), n, f"out/{n}"] for n in names],
        f"mlops run x{args.count}": [[mlops, "run", n] for n in names],
        "mlops run batch": [[mlops, "run", *names]],
        "mlops --parallel 2": [[mlops, "run", *names, "--parallel", "2"]],
    }
    timed([[mlops, "run", names[0]]], folder, env)  # warm the disk cache and create the store
    results = {}
    for label, cmds in measures.items():
        results[label] = min(timed(cmds, folder, env) for _ in range(args.repeat))
    base = results[f"papermill x{args.count}"]
    print(f"{'measure':<22}{'seconds':>9}{'per nb':>9}{'vs papermill':>14}")
    for label, seconds in results.items():
        print(f"{label:<22}{seconds:>9.2f}{seconds / args.count:>9.2f}{base / seconds:>13.2f}x")
    print(f"(cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, folder {folder})")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

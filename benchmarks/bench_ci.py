"""``mlops ci`` on a pull request that changed one stage of one notebook, against running all ten with papermill.

    python benchmarks/bench_ci.py [--count 10] [--repeat 1]

A git repository of ``--count`` notebooks (a parameters cell, then data, train and evaluate stages over
a small computation, one metric). ``main`` is committed and each notebook run once by ``mlops run`` (the
recorded baselines, not timed); branch ``pr`` changes the train stage of one notebook. Prints wall-clock
seconds for:
  papermill xN          N sequential ``papermill IN OUT`` commands: "run every notebook" as a CI job
                        without mlops would (the baseline)
  mlops ci              ``mlops ci --base main --report … --junit …``: finds the one changed notebook,
                        runs it, compares it with its recorded baseline, writes both reports
  mlops ci --rerun-base the same on a store with no recorded runs: the base's notebook is run too, in a
                        git worktree (a fresh CI machine with no shared store)
and each one's speed-up over the baseline. Goal: ``mlops ci`` at least 5x faster than papermill xN.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench_runner import commands, timed  # the same baseline as the runner's benchmark

TRAIN = "%%mlops stage train\nmodel = sum(math.sqrt(k) for k in range(2000)) * scale"


def notebook(seed: int, train: str = TRAIN) -> str:
    cells = [("scale = 1", ["parameters"]), ("%load_ext mlops_magic\nimport math", []),
             (f"%%mlops stage data\nvalues = [(k * {seed + 1}) % 97 for k in range(5000)]", []),
             (train, []),
             ("%%mlops stage evaluate\nimport mlops_magic as mlops\nmlops.log_metric('score', model / 1000)", [])]
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {"tags": tags}, "source": src, "outputs": [],
                     "execution_count": None} for i, (src, tags) in enumerate(cells)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1)


def run(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def make_repo(folder: Path, count: int, env: dict[str, str]) -> list[str]:
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    run(["git", "init", "-q", "-b", "main"], folder, env)
    (folder / ".gitignore").write_text(".mlops/\nout/\n")
    names = [f"nb{i:02d}.ipynb" for i in range(count)]
    for i, name in enumerate(names):
        (folder / name).write_text(notebook(i))
    run(["git", "add", "-A"], folder, env)
    run([*git, "commit", "-q", "-m", "main"], folder, env)
    run(["git", "checkout", "-q", "-b", "pr"], folder, env)
    (folder / names[count // 2]).write_text(notebook(count // 2, TRAIN.replace("2000", "2500")))
    run([*git, "commit", "-q", "-am", "train: more terms"], folder, env)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="repeat each measure, keep the best")
    args = parser.parse_args()
    papermill, mlops = commands()
    folder = Path(tempfile.mkdtemp(prefix="bench-ci-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "GITHUB_", "CI_"))}
    names = make_repo(folder, args.count, env)
    (folder / "out").mkdir()
    (folder / ".mlops").mkdir()
    run(["git", "checkout", "-q", "main"], folder, env)
    run([mlops, "run", *names], folder, env)  # main's recorded runs: the baselines mlops ci finds
    run(["git", "checkout", "-q", "pr"], folder, env)
    check = [mlops, "ci", "--base", "main", "--report", "out/report.md", "--junit", "out/junit.xml"]
    fresh = {**env, "MLOPS_STORE": str(folder / "out" / "fresh")}
    measures = {
        f"papermill x{args.count}": lambda: timed([[*papermill.split(), n, f"out/{n}"] for n in names], folder, env),
        "mlops ci": lambda: run(check, folder, env),
        "mlops ci --rerun-base": lambda: _fresh(folder, fresh, [*check, "--rerun-base"]),
    }
    results = {label: min(measure() for _ in range(args.repeat)) for label, measure in measures.items()}
    report = (folder / "out" / "report.md").read_text()
    assert "1 notebook run" in report and "the code of train" in report, report
    base = results[f"papermill x{args.count}"]
    print(f"{'measure':<24}{'seconds':>9}{'vs papermill':>14}")
    for label, seconds in results.items():
        print(f"{label:<24}{seconds:>9.2f}{base / seconds:>13.2f}x")
    print(f"goal: mlops ci >= 5x faster than papermill x{args.count}: "
          f"{'met' if base / results['mlops ci'] >= 5 else 'NOT met'} ({base / results['mlops ci']:.1f}x)")
    print(f"(cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, folder {folder})")
    shutil.rmtree(folder, ignore_errors=True)


def _fresh(folder: Path, env: dict[str, str], cmd: list[str]) -> float:
    shutil.rmtree(env["MLOPS_STORE"], ignore_errors=True)  # no recorded runs: every repeat starts empty
    return run(cmd, folder, env)


if __name__ == "__main__":
    main()

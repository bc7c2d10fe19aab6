"""What sampling system metrics costs: CPU time per sample, and the sampler thread's share of a core.

    python benchmarks/bench_system.py [--samples 200] [--seconds 20] [--interval 2]

A real process tree (a Python child with four children of its own, like a kernel running joblib workers)
is sampled into a real SQLite store:
  per sample         CPU time of one read of the tree (psutil) and one write of its points, averaged
  at the interval    that cost as a share of one core at the default interval (2 s)
  thread, measured   this process's CPU time over --seconds with the sampler thread running, minus the
                     same wait without it, as a share of one core
Goal (issue 26): at most 1% of a core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TREE = ("import multiprocessing as mp, time\n"
        "def idle():\n    time.sleep(600)\n"
        "if __name__ == '__main__':\n"
        "    kids = [mp.Process(target=idle) for _ in range(4)]\n"
        "    [k.start() for k in kids]\n    time.sleep(600)\n")


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()

    from mlops_magic.store import open_store
    from mlops_magic.tracking.system import ProcessTree, SystemSampler

    folder = Path(tempfile.mkdtemp(prefix="bench-system-"))
    tree = subprocess.Popen([sys.executable, "-c", TREE])
    try:
        time.sleep(1.5)  # the children are up
        store = open_store(str(folder))
        run = store.create_run(notebook="bench.ipynb")
        reader = ProcessTree(tree.pid)
        assert len(reader.processes()) >= 5, "the tree did not start"
        reader.read()
        start = cpu()
        for _ in range(args.samples):
            reader.read()
        read_ms = (cpu() - start) / args.samples * 1000
        start = cpu()
        for step in range(args.samples):
            store.log_metrics(run.id, [("system.cpu", 0.5, step), ("system.rss", 1e8, step)])
        write_ms = (cpu() - start) / args.samples * 1000
        per_sample = read_ms + write_ms
        print(f"per sample:        {per_sample:.2f} ms CPU (read {read_ms:.2f} ms for {len(reader.processes())} "
              f"processes, write {write_ms:.2f} ms)")
        print(f"at {args.interval:g} s interval:   {per_sample / (args.interval * 1000) * 100:.3f}% of a core")

        start = cpu()
        time.sleep(args.seconds)
        idle = cpu() - start
        sampler = SystemSampler(store, run.id, tree.pid, args.interval).start()
        start = cpu()
        time.sleep(args.seconds)
        sampler.stop()
        busy = cpu() - start
        share = max(0.0, busy - idle) / args.seconds * 100
        print(f"thread, measured:  {share:.3f}% of a core over {args.seconds:g} s ({sampler.samples} samples)")
        print(f"goal <= 1% of a core: {'met' if share <= 1.0 else 'MISSED'}")
    finally:
        for child in __import__("psutil").Process(tree.pid).children(recursive=True):
            child.kill()
        tree.kill()
        tree.wait()


if __name__ == "__main__":
    main()

"""The stage cache on a data stage that reads and prepares 1,000,000 rows, measured in one go.

    python benchmarks/bench_cache.py [--rows 1000000] [--repeat 3]

A notebook whose ``data`` stage reads a CSV of ROWS purchase events and prepares them as a feature stage
does (dates parsed, text normalised into categories, rows sorted per customer, days since the last
purchase, spend to date and over the last 7 days, a per-customer aggregate joined back) is run headlessly,
each run in a new kernel:

  without the cache   `mlops run NB`              the stage computes (the baseline)
  --cache, first      `mlops run NB --cache`      the stage computes and saves its entry
  --cache, second     `mlops run NB --cache`      a restart and Run All: the stage is restored

It prints each run's data-stage time as the store recorded it (stage start to end) and the ratios. Goal:
the restored stage at least 20x faster than the computed one, and the restored frame equal to the
computed one by fingerprint (checked in the kernels: a later cell prints ``mlops.fingerprint``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

DATA_STAGE = """%%mlops stage data
%mlops fingerprint events.csv --role input
raw = pd.read_csv("events.csv", parse_dates=["ts"])
raw["country"] = raw["country"].astype("category")
raw["device"] = raw["device"].str.strip().str.lower().astype("category")
raw = raw.sort_values(["customer_id", "ts"], ignore_index=True)
raw["hour"] = raw["ts"].dt.hour
raw["weekend"] = raw["ts"].dt.day_of_week >= 5
raw["days_since_last"] = raw.groupby("customer_id")["ts"].diff().dt.total_seconds() / 86400
raw["spend_to_date"] = raw.groupby("customer_id")["amount"].cumsum()
raw["purchase_no"] = raw.groupby("customer_id").cumcount()
raw["spend_7d"] = raw.groupby("customer_id").rolling("7D", on="ts")["amount"].sum().to_numpy()
spend = raw.groupby("customer_id")["amount"].agg(["sum", "mean", "count"]).add_prefix("customer_")
features = raw.join(spend, on="customer_id")
features["share"] = features["amount"] / features["customer_sum"]
features.shape"""


def write_inputs(folder: Path, rows: int) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    start = np.datetime64("2026-01-01T00:00:00")
    frame = pd.DataFrame({
        "customer_id": rng.integers(0, rows // 20, rows),
        "ts": start + rng.integers(0, 90 * 86400, rows).astype("timedelta64[s]"),
        "amount": rng.gamma(2.0, 30.0, rows).round(2),
        "country": rng.choice([f"C{i:02d}" for i in range(25)], rows),
        "device": rng.choice(["ios", "android", "web"], rows),
    })
    frame.to_csv(folder / "events.csv", index=False)
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [new_code_cell("import pandas as pd\nimport mlops_magic as mlops"), new_code_cell(DATA_STAGE),
                new_code_cell("print('fingerprint', mlops.fingerprint(features).digest)")]
    path = folder / "events.ipynb"
    nbformat.write(nb, path)
    return path


def run(folder: Path, *args: str) -> tuple[str, float, str]:
    """(run id, wall seconds, the fingerprint the kernel printed) of one `mlops run`."""
    mlops = str(Path(sys.executable).with_name("mlops"))
    output = folder / f"out-{time.time_ns()}.ipynb"
    start = time.perf_counter()
    proc = subprocess.run([mlops, "run", "events.ipynb", "-o", str(output), *args], cwd=folder,
                          capture_output=True, text=True, env={**os.environ, "MLOPS_STORE": str(folder)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"mlops run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    cells = json.loads(output.read_text())["cells"]
    printed = "".join("".join(o.get("text", "")) for o in cells[2].get("outputs", []))
    return proc.stdout.split()[0], wall, printed.split()[-1]


def stage_seconds(folder: Path, run_id: str) -> tuple[float, str]:
    """The data stage's recorded duration, and the lines the stage printed (the cache's own line)."""
    from mlops_magic.store import open_store

    store = open_store(str(folder))
    [stage] = [s for s in store.list_stages(store.resolve_run_id(run_id)) if s.name == "data"]
    executed = next(a for a in store.list_artifacts(stage.run_id) if a.name == "executed.ipynb")
    cells = json.loads(Path(executed.path).read_text())["cells"]
    said = "".join("".join(o.get("text", "")) for o in cells[1].get("outputs", []) if o.get("output_type") == "stream")
    return float(stage.duration or 0.0), said.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs without the cache, and restores (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        folder = Path(tmp)
        (folder / ".mlops").mkdir()
        write_inputs(folder, args.rows)
        print(f"data stage over {args.rows:,} rows ({(folder / 'events.csv').stat().st_size / 2**20:.0f} MiB CSV), "
              f"median of {args.repeat} runs, each in a new kernel")
        plan = [("without the cache", (), args.repeat), ("--cache, first", ("--cache",), 1),
                ("--cache, restored", ("--cache",), args.repeat)]
        results: dict[str, tuple[float, float, set[str], str]] = {}
        for label, extra, times in plan:
            seconds, walls, digests, said = [], [], set(), ""
            for _ in range(times):
                run_id, wall, digest = run(folder, *extra)
                stage, said = stage_seconds(folder, run_id)
                seconds.append(stage)
                walls.append(wall)
                digests.add(digest)
            results[label] = (statistics.median(seconds), statistics.median(walls), digests, said)
            print(f"  {label:<18} data stage {results[label][0]:7.3f} s   whole run {results[label][1]:6.1f} s   "
                  f"fingerprint {', '.join(sorted(d[:16] for d in digests))}")
        base, first, restored = (results[k][0] for k in ("without the cache", "--cache, first", "--cache, restored"))
        same = len(set().union(*(r[2] for r in results.values()))) == 1
        print(f"  the restored stage said: {results['--cache, restored'][3].splitlines()[-1]}")
        print(f"restored vs computed: {base / restored:.1f}x faster (goal >= 20x); "
              f"saving the entry cost {first / base:.2f}x the stage; restored frame equal by fingerprint: {same}")
        return 0 if same and base / restored >= 20 else 1


if __name__ == "__main__":
    sys.exit(main())

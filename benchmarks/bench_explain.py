"""Explain benchmarks: `python benchmarks/bench_explain.py [--repeat 7]`.

1. ``mlops diff`` of two runs with 10 stages each, 1,000 metric points per stage (10,000 per run),
   two fingerprints per stage and a kept 10-cell executed notebook (one cell differs). Goal: < 200 ms.
2. ``mlops lineage m@production`` of a model with 100 upstream runs: 100 training runs read the same
   data, each registered a version the alias moved to, and 100 monitor runs checked those versions.
   Goal: < 300 ms.

Both time the core the CLI calls (store open included, on SQLite in a temporary folder), then the
whole command in a new process (interpreter start-up and imports included); the figures are medians
of ``--repeat`` calls after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from mlops_magic.entities import STAGE_KINDS, Fingerprint


def _notebook(variant: int) -> bytes:
    cells = []
    for i in range(10):
        body = "\n".join(f"x{j} = {j} * {variant if i == 3 else 1}" for j in range(20))
        cells.append({"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": i,
                      "source": f"%%mlops stage {STAGE_KINDS[i % 6]} --name s{i}\n{body}",
                      "outputs": [{"output_type": "stream", "name": "stdout", "text": f"stage {i} {variant}\n"}]})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def build_diff_store(folder: Path) -> tuple[str, str]:
    from mlops_magic.store import open_store

    store = open_store(str(folder))
    ids = []
    for variant in (1, 2):
        run = store.create_run(notebook="big.ipynb", trigger="manual", params={"lr": 0.1 * variant},
                               environment={"python": "3.11", "packages": {"numpy": f"1.2{variant}"}})
        for i in range(10):
            st = store.start_stage(run.id, STAGE_KINDS[i % 6], f"s{i}", code_digest=f"d{i}{variant if i == 3 else ''}")
            store.log_fingerprint(run.id, Fingerprint(digest=f"{i:030x}{variant:02x}", kind="dataframe",
                                                      rows=1000 * variant, schema={"a": "int64"}, name=f"in{i}",
                                                      role="input"), stage_id=st.id)
            store.log_fingerprint(run.id, Fingerprint(digest=f"{i:030x}{variant + 10:02x}", kind="dataframe",
                                                      rows=10, schema={"b": "float64"}, name=f"out{i}", role="output"),
                                  stage_id=st.id)
            store.log_metrics(run.id, [(f"m{i}", float(step) * variant, step) for step in range(1000)], stage_id=st.id)
            store.log_params(run.id, {f"p{i}": variant}, stage_id=st.id)
            store.finish_stage(st.id, "succeeded")
        store.log_artifact_bytes(run.id, "executed.ipynb", _notebook(variant))
        store.finish_run(run.id, "succeeded")
        ids.append(run.id)
    return ids[0], ids[1]


def build_lineage_store(folder: Path, runs: int = 100) -> None:
    import json as js

    from mlops_magic.store import monitoring as mon
    from mlops_magic.store import open_store
    from mlops_magic.store import registry as reg

    store = open_store(str(folder))
    data = Fingerprint(digest="ab" * 16, kind="files", rows=10_000, schema={"files": "3", "path": "data/*.csv"},
                       name="labelled", role="input")
    for i in range(runs):
        run = store.create_run(notebook=f"train{i % 3}.ipynb", trigger="schedule")
        st = store.start_stage(run.id, "data")
        store.log_fingerprint(run.id, data, stage_id=st.id)
        store.finish_stage(st.id, "succeeded")
        store.finish_run(run.id, "succeeded")
        now = time.time()
        frame = Fingerprint(digest=f"{i:032x}", kind="dataframe", rows=7500, schema={"a": "int64"},
                            name="X_train", role="input")

        def write(tx, run=run, frame=frame, now=now, i=i):
            version = reg.insert_version(tx, "m", {
                "flavour": "sklearn", "format": "skops", "model_type": "x", "digest": "0" * 64, "size": 1,
                "trusted_types": "[]", "input_schema": None, "metrics": js.dumps({"auc": 0.8 + i / 1000}),
                "gates": "[]", "gates_passed": 1, "run_id": run.id, "stage_id": None,
                "data_fingerprint": js.dumps(frame.to_dict()), "lineage": "[]", "environment": "{}",
                "description": None}, created=now, data_fingerprint=frame)
            reg.record_alias_change(tx, "m", "production", "promote", version - 1 or None, version, moved=True,
                                    run_id=run.id, reason=None, comparison=None, created=now)
            return version

        version = store.db.run_in_transaction(write)
        monitor = store.create_run(notebook="monitor.ipynb", trigger="data-change", status="succeeded")
        store.db.run_in_transaction(lambda tx, monitor=monitor, version=version: mon.insert_drift_report(
            tx, {"verdict": "ok"}, drifted=False, drift_share=0.0, drifted_columns=[], run_id=monitor.id,
            stage_id=None, model="m", version=version, reference="model:m@production"))


def _median_ms(fn, repeat: int) -> tuple[float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from mlops_magic.explain.diff import diff_runs
    from mlops_magic.explain.lineage import lineage
    from mlops_magic.store import clear_cache, open_store

    with tempfile.TemporaryDirectory() as tmp:
        a, b = build_diff_store(Path(tmp) / "diff")
        build_lineage_store(Path(tmp) / "lineage")

        def do_diff():
            clear_cache()
            return diff_runs(open_store(str(Path(tmp) / "diff")), a, b)

        def do_lineage():
            clear_cache()
            return lineage(open_store(str(Path(tmp) / "lineage")), "m@production")

        diff_ms, d = _median_ms(do_diff, args.repeat)
        lin_ms, g = _median_ms(do_lineage, args.repeat)
        clear_cache()
        # the whole command, as a user types it: interpreter start-up and imports included
        cli_diff_ms, _ = _median_ms(lambda: _cli(Path(tmp) / "diff", "diff", a, b, "--format", "json"), args.repeat)
        cli_lin_ms, _ = _median_ms(lambda: _cli(Path(tmp) / "lineage", "lineage", "m@production"), args.repeat)
    print(f"diff: 2 runs x 10 stages x 1,000 metric points per stage: {diff_ms:.1f} ms "
          f"(goal < 200 ms) — {d.headline[:70]}")
    print(f"lineage: model with 100 upstream runs ({len(g.nodes)} nodes, {len(g.edges)} links): {lin_ms:.1f} ms "
          "(goal < 300 ms)")
    print(f"the commands, process start included: `mlops diff` {cli_diff_ms:.0f} ms, "
          f"`mlops lineage` {cli_lin_ms:.0f} ms")
    print(json.dumps({"diff_ms": round(diff_ms, 1), "lineage_ms": round(lin_ms, 1), "lineage_nodes": len(g.nodes),
                      "lineage_edges": len(g.edges), "cli_diff_ms": round(cli_diff_ms),
                      "cli_lineage_ms": round(cli_lin_ms)}))


def _cli(folder: Path, *args: str) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "MLOPS_STORE": str(folder)}
    subprocess.run([sys.executable, "-m", "mlops_magic.cli.main", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()

"""Every benchmark, one after the other, each printing ratios against its peer measured in the same run.

    python benchmarks/run_all.py [--with-evidently] [--no-browser]

Peers that must not be runtime dependencies (MLflow, Evidently, NannyML) are installed on first use into their
own virtualenvs under benchmarks/.envs/. Numbers from a loaded 2-core machine are noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with-evidently", action="store_true", help="include Evidently in the drift benchmark")
    parser.add_argument("--no-browser", action="store_true", help="skip the panel timing in Chromium")
    args = parser.parse_args()
    plan = [
        ["bench_core.py"],
        ["bench_runner.py"],
        ["bench_drift.py", *(["--with-evidently"] if args.with_evidently else [])],
        ["bench_performance.py"],
        ["bench_models.py", "--import-runs", "1000"],  # the 10,000-run import: --only-import
        ["bench_explain.py"],
        ["bench_cache.py"],
        ["bench_ci.py"],
        ["bench_system.py"],
        ["bench_lab.py", *(["--no-browser"] if args.no_browser else [])],
        ["bench_artifacts.py"],
    ]
    failed = []
    for script, *extra in plan:
        print(f"\n######## {script} {' '.join(extra)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / script), *extra])
        print(f"######## {script}: exit {code} in {time.perf_counter() - start:.0f} s", flush=True)
        if code:
            failed.append(script)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

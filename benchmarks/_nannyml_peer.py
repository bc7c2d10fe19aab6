"""Runs inside benchmarks/.envs/nannyml: NannyML's CBPE on the data bench_performance.py wrote.

    python _nannyml_peer.py FOLDER CHUNK_SIZE [REPEATS]  ->  one JSON line: per-chunk estimates, the median
    seconds of REPEATS fits + estimates after a first one (imports and caches warm, as ours are), and the first
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings

import pandas as pd

warnings.filterwarnings("ignore")


def main() -> None:
    folder, chunk = sys.argv[1], int(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    import nannyml as nml

    reference = pd.read_parquet(f"{folder}/reference.parquet")
    analysis = pd.read_parquet(f"{folder}/analysis.parquet")
    timings = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        estimator = nml.CBPE(y_pred_proba="proba", y_pred="pred", y_true="truth",
                             problem_type="classification_binary", metrics=["roc_auc", "accuracy"], chunk_size=chunk)
        estimator.fit(reference)
        results = estimator.estimate(analysis).filter(period="analysis").to_df()
        timings.append(time.perf_counter() - started)
    print(json.dumps({"seconds": statistics.median(timings[1:] or timings), "first_seconds": timings[0],
                      "auc": results[("roc_auc", "value")].tolist(),
                      "accuracy": results[("accuracy", "value")].tolist(), "version": nml.__version__}))


if __name__ == "__main__":
    main()

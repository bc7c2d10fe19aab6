"""Runs inside benchmarks/.envs/nannyml: NannyML's CBPE on the data bench_performance.py wrote.

    python _nannyml_peer.py FOLDER CHUNK_SIZE  ->  one JSON line: per-chunk estimates and seconds
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import pandas as pd

warnings.filterwarnings("ignore")


def main() -> None:
    folder, chunk = sys.argv[1], int(sys.argv[2])
    import nannyml as nml

    reference = pd.read_parquet(f"{folder}/reference.parquet")
    analysis = pd.read_parquet(f"{folder}/analysis.parquet")
    started = time.perf_counter()
    estimator = nml.CBPE(y_pred_proba="proba", y_pred="pred", y_true="truth", problem_type="classification_binary",
                         metrics=["roc_auc", "accuracy"], chunk_size=chunk)
    estimator.fit(reference)
    results = estimator.estimate(analysis).filter(period="analysis").to_df()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "auc": results[("roc_auc", "value")].tolist(),
                      "accuracy": results[("accuracy", "value")].tolist(),
                      "version": nml.__version__}))


if __name__ == "__main__":
    main()

"""Performance estimation: CBPE accuracy under covariate shift, and against NannyML in the same run.

    python benchmarks/bench_performance.py [--no-nannyml] [--windows 10] [--rows 10000] [--repeats 7]

A known generating process (logistic, inputs shifting window by window, the relation to the target
unchanged, i.e. CBPE's assumption holds): per window, our estimated accuracy and ROC AUC against the
realized values (goal: within 0.02 in every window), then NannyML's CBPE (its own virtualenv under
benchmarks/.envs, never a runtime dependency) on the same reference and windows: estimates within 0.01
of NannyML's, and the time of fit + estimate (goal: >= 30x faster), medians of repeated runs on both sides.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

NANNYML_REQUIREMENTS = ["nannyml==0.13.1", "statsmodels", "pyarrow"]


def make(rng, n: int, shift: float):
    import numpy as np
    import pandas as pd

    offset = np.array([shift, -0.5 * shift, 0.3 * shift])
    X = pd.DataFrame(rng.normal(size=(n, 3)) + offset, columns=["a", "b", "c"])
    logit = 1.5 * X.a - 1.0 * X.b + 0.5 * X.c
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()


def ours(reference_proba, reference_truth, windows):
    """Fit (calibration) and estimate every window from the model's probabilities, as NannyML is given them."""
    from mlops_magic.stats import performance as P

    started = time.perf_counter()
    calibration = P.calibrate(reference_truth, reference_proba, [0, 1])
    estimates = []
    for _, proba, pred in windows:
        estimated, _ = P.estimate_classification(calibration, pred, proba)
        estimates.append(estimated)
    return estimates, time.perf_counter() - started


def main() -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mlops_magic.stats import performance as P

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--no-nannyml", action="store_true")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each side (median reported)")
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    clf = LogisticRegression().fit(*make(rng, 20_000, 0.0))
    reference = make(rng, args.rows * 2, 0.0)
    windows, truths = [], []
    for i in range(args.windows):
        X, y = make(rng, args.rows, 1.6 * i / max(args.windows - 1, 1) - 0.4)
        proba = clf.predict_proba(X)
        windows.append((X, proba, clf.predict(X)))
        truths.append(y)
    reference_proba = clf.predict_proba(reference[0])
    timings = []
    for _ in range(args.repeats + 1):  # the first warms imports; the median of the rest is reported
        estimates, seconds = ours(reference_proba, reference[1], windows)
        timings.append(seconds)
    seconds = statistics.median(timings[1:])
    print(f"== CBPE under covariate shift: {args.windows} windows of {args.rows:,} rows (goal |est - real| <= 0.02)")
    print(f"{'window':>6} {'realized acc':>12} {'est acc':>8} {'realized auc':>12} {'est auc':>8}")
    worst = 0.0
    for i, ((_, proba, pred), y, est) in enumerate(zip(windows, truths, estimates)):
        real = P.realized_classification(y, pred, proba, 2)
        worst = max(worst, abs(est["accuracy"] - real["accuracy"]), abs(est["auc"] - real["auc"]))
        print(f"{i:>6} {real['accuracy']:12.4f} {est['accuracy']:8.4f} {real['auc']:12.4f} {est['auc']:8.4f}")
    print(f"  worst difference {worst:.4f} ({'within' if worst <= 0.02 else 'OVER'} 0.02); "
          f"fit + {args.windows} estimates in {seconds * 1000:.1f} ms")
    if args.no_nannyml:
        return
    from _peer_env import peer_python, run_peer

    python = peer_python("nannyml", NANNYML_REQUIREMENTS)
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as tmp:
        Xr, yr = reference
        pd.DataFrame({"proba": clf.predict_proba(Xr)[:, 1], "pred": clf.predict(Xr), "truth": yr}).to_parquet(
            Path(tmp) / "reference.parquet")
        pd.concat([pd.DataFrame({"proba": proba[:, 1], "pred": pred}) for _, proba, pred in windows],
                  ignore_index=True).to_parquet(Path(tmp) / "analysis.parquet")
        peer = run_peer(python, "_nannyml_peer.py", tmp, str(args.rows), str(args.repeats))
    diffs = [max(abs(a - b["auc"]), abs(c - b["accuracy"]))
             for a, c, b in zip(peer["auc"], peer["accuracy"], estimates)]
    print(f"== against NannyML {peer['version']} CBPE on the same data (goal: within 0.01, >= 30x faster)")
    print(f"  largest difference from NannyML's estimates: {max(diffs):.4f} "
          f"({'within' if max(diffs) <= 0.01 else 'OVER'} 0.01)")
    print(f"  NannyML fit + estimate {peer['seconds'] * 1000:.0f} ms (its first call "
          f"{peer['first_seconds'] * 1000:.0f} ms), ours {seconds * 1000:.1f} ms -> {peer['seconds'] / seconds:.1f}x "
          f"(goal >= 30x; medians of {args.repeats})")


if __name__ == "__main__":
    main()

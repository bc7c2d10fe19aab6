"""Autolog vs ``mlflow.sklearn.autolog()``: what each captures of the same notebook, and the time each adds
to a ~1 s fit and to 1,000 metric-function calls (goal: everything MLflow captures for scikit-learn,
attributed to stages, at <= half MLflow's added time). MLflow runs in its own venv (benchmarks/.envs).

    python benchmarks/bench_autolog.py [--quick] [--no-mlflow]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _autolog_workload as w  # noqa: E402

MLFLOW_REQUIREMENTS = ["mlflow-skinny>=3", "sqlalchemy", "alembic", "pandas", "scikit-learn", "matplotlib"]


def calibrate() -> int:
    """Rows for which the workload's fit takes about one second here."""
    rows = 4000
    X, _, y, _ = w.data(rows)
    w.fit_gbm(X, y)
    seconds = w.timed(lambda: w.fit_gbm(X, y))
    return max(2000, int(rows / max(seconds, 1e-3)))


def ours(rows: int, repeats: int) -> dict:
    import mlops_magic as mlops
    from mlops_magic.autolog import control
    from mlops_magic.store import clear_cache, open_store
    from mlops_magic.tracking.session import reset_session

    os.environ["MLOPS_STORE"] = tempfile.mkdtemp()
    clear_cache()
    reset_session()
    X_train, X_test, y_train, y_test = w.data(rows)
    w.fit_gbm(X_train, y_train)
    base = w.median([w.timed(lambda: w.fit_gbm(X_train, y_train)) for _ in range(repeats)])
    clf = w.fit_gbm(X_train, y_train)
    pred = clf.predict(X_test)
    base_calls = w.metric_calls(y_test, pred)

    def train_stage(timings: list[float]) -> None:
        with mlops.stage("train"):
            timings.append(w.timed(lambda: globals().__setitem__("clf", w.fit_gbm(X_train, y_train))))

    train_stage([])  # warm: skops is imported by the first model kept
    control.set_kernel_setting(False)
    stage_off = w.median([w.timed(lambda: train_stage([])) for _ in range(repeats)])
    control.set_kernel_setting(None)
    fit_on: list[float] = []
    stage_on = w.median([w.timed(lambda: train_stage(fit_on)) for _ in range(repeats)])
    with mlops.stage("evaluate"):
        calls = w.metric_calls(y_test, globals()["clf"].predict(X_test))
        w.figure(globals()["clf"].train_score_)
    with mlops.stage("train", "search"):
        globals()["search"] = w.search(X_train, y_train)
    store = open_store()
    [run] = store.list_runs()
    stages = {s.id: s for s in store.list_stages(run.id)}
    last_train = max(i for i, s in stages.items() if s.name == "train")
    metrics = store.latest_metrics_with_stages(run.id)
    artifacts = store.list_artifacts(run.id)
    params = store.params_with_stages(run.id)
    csv = [a for a in artifacts if a.name.startswith("search/")]
    return {
        "base_fit_s": base, "autolog_fit_s": w.median(fit_on), "stage_off_s": stage_off, "stage_on_s": stage_on,
        "base_calls_s": base_calls, "autolog_calls_s": calls,
        "params": sum(1 for _, s in params.values() if s == last_train),
        "metrics": sum(1 for _, s in metrics.values() if stages.get(s) and stages[s].name in ("train", "evaluate")),
        "models": sum(1 for a in artifacts if a.name.startswith("models/")),
        "search_candidates": len(Path(csv[0].path).read_text().splitlines()) - 1 if csv else 0,
        "search_best": "best_C" in params, "figures": sum(1 for a in artifacts if a.name.endswith(".png")),
        "stages_attributed": sorted({stages[s].name for _, s in metrics.values() if s in stages}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow peer")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    rows = calibrate()
    print(f"== workload: GradientBoostingClassifier(100) on {rows:,} x 20 (about 1 s), a 12-candidate "
          f"GridSearchCV, {w.METRIC_CALLS:,} accuracy_score calls, one figure; median of {repeats}")
    mine = ours(rows, repeats)
    peer = None
    if not args.no_mlflow:
        from _peer_env import peer_python, run_peer

        peer = run_peer(peer_python("mlflow-sklearn", MLFLOW_REQUIREMENTS), "_mlflow_autolog_peer.py",
                        str(rows), str(repeats))
    print("== what each captured")
    print(f"  {'':<26}{'mlops-magic':>14}{'MLflow ' + peer['version'] if peer else '':>18}")
    for key, label in (("params", "params (the fit)"), ("metrics", "metrics (train+evaluate)"),
                       ("models", "models"), ("search_candidates", "search candidates"),
                       ("search_best", "search best params/score"), ("figures", "figures (PNG)")):
        theirs = f"{peer[key]}" if peer else ""
        print(f"  {label:<26}{mine[key]!s:>14}{theirs:>18}")
    print(f"  attributed to stages: {', '.join(mine['stages_attributed'])} (MLflow: one run per fit)")
    if peer:
        print(f"  MLflow's metrics: {', '.join(peer['metric_names'])}")

    print("== added time")
    fit_added = mine["autolog_fit_s"] - mine["base_fit_s"]
    stage_added = mine["stage_on_s"] - mine["stage_off_s"]
    calls_added = mine["autolog_calls_s"] - mine["base_calls_s"]
    print(f"  fit: base {mine['base_fit_s']:.3f} s; inside the stage +{fit_added * 1e3:.1f} ms; the whole train "
          f"stage (fit, write, model kept) +{stage_added * 1e3:.1f} ms "
          f"= {100 * stage_added / mine['base_fit_s']:.1f}% of the fit")
    print(f"  {w.METRIC_CALLS:,} metric calls: base {mine['base_calls_s'] * 1e3:.1f} ms, "
          f"+{calls_added * 1e3:.1f} ms = {calls_added / w.METRIC_CALLS * 1e3:.4f} ms per call (goal <= 0.2 ms)")
    if peer:
        peer_fit = peer["autolog_fit_s"] - peer["base_fit_s"]
        peer_calls = peer["autolog_calls_s"] - peer["base_calls_s"]
        print(f"  MLflow fit: base {peer['base_fit_s']:.3f} s, +{peer_fit * 1e3:.1f} ms; "
              f"{w.METRIC_CALLS:,} metric calls +{peer_calls * 1e3:.1f} ms")
        print(f"  overhead ratio (ours / MLflow's added time, goal <= 0.5): fit {stage_added / peer_fit:.2f}, "
              f"metric calls {calls_added / peer_calls:.3f}")


if __name__ == "__main__":
    main()

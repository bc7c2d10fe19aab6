"""Drift benchmark: mlops-magic's drift() against a plain scipy loop and Evidently.

Data: reference and current of N rows x (10 numeric + 2 categorical columns of 50
categories); in current, 3 columns are shifted (num0: mean +0.5 std, num1: scale x1.5,
cat1: ten categories three times as frequent). Run from the repository root:

    python benchmarks/bench_drift.py                    # 1,000,000 and 100,000 rows
    python benchmarks/bench_drift.py --with-evidently   # also Evidently 0.7.23 DataDriftPreset
    python benchmarks/bench_drift.py --profile-accuracy # profile vs frame statistic errors

Evidently 0.7.23 does not import under pandas 3, so it runs in its own virtual
environment (created on first use in benchmarks/.envs/evidently) as a subprocess on the
same data, saved as parquet in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops_magic.monitoring import drift, profile

ENV = Path(__file__).resolve().parent / ".envs" / "evidently"
SHIFTED = ["num0", "num1", "cat1"]

EVIDENTLY_SCRIPT = r"""
import json, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
t0 = time.perf_counter()
snapshot = Report([DataDriftPreset()], include_tests=True).run(current_data=cur, reference_data=ref)
seconds = time.perf_counter() - t0
tests = snapshot.dict().get("tests", [])
prefix = "Value Drift for column "
flagged = [t["name"][len(prefix):] for t in tests if t["name"].startswith(prefix) and t["status"] == "FAIL"]
print(json.dumps({"seconds": seconds, "flagged": sorted(flagged)}))
"""


def make_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cats = np.array([f"cat_{i:02d}" for i in range(50)])
    weights = 1 / np.arange(1, 51)
    base = weights / weights.sum()
    moved = base.copy()
    moved[rng.choice(50, 10, replace=False)] *= 3
    moved /= moved.sum()

    def frame(shift: bool) -> pd.DataFrame:
        cols = {}
        for i in range(10):
            x = rng.normal(i, 1 + i / 5, n) if i % 3 else rng.lognormal(0, 0.5, n)
            cols[f"num{i}"] = x
        cols["cat0"] = cats[rng.choice(50, n, p=base)]
        cols["cat1"] = cats[rng.choice(50, n, p=moved if shift else base)]
        df = pd.DataFrame(cols)
        if shift:
            df["num0"] += 0.5 * df["num0"].std()
            df["num1"] = df["num1"].mean() + (df["num1"] - df["num1"].mean()) * 1.5
        return df

    return frame(False), frame(True)


def scipy_loop(ref: pd.DataFrame, cur: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The plain approach: ks_2samp per numeric column, chi2_contingency per categorical."""
    from scipy.stats import chi2_contingency, ks_2samp

    flagged = []
    for col in ref.columns:
        if pd.api.types.is_numeric_dtype(ref[col]):
            p = ks_2samp(ref[col].to_numpy(), cur[col].to_numpy()).pvalue
        else:
            table = pd.concat([ref[col].value_counts(), cur[col].value_counts()], axis=1).fillna(0)
            p = chi2_contingency(table.to_numpy().T).pvalue
        if p < alpha:
            flagged.append(col)
    return flagged


def best_of(repeat: int, fn, *args):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), out


def ensure_evidently() -> Path:
    python = ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        print(f"creating {ENV} (evidently==0.7.23, pandas<3) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "evidently==0.7.23", "pandas<3",
                        "pyarrow"], check=True)
    return python


def run_evidently(python: Path, ref: pd.DataFrame, cur: pd.DataFrame) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        rp, cp, script = Path(tmp, "ref.parquet"), Path(tmp, "cur.parquet"), Path(tmp, "ev.py")
        ref.to_parquet(rp)
        cur.to_parquet(cp)
        script.write_text(EVIDENTLY_SCRIPT)
        out = subprocess.run([str(python), str(script), str(rp), str(cp)], check=True,
                             capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])


def bench(n: int, repeat: int, evidently: Path | None) -> None:
    ref, cur = make_data(n)
    t_ours, report = best_of(repeat, drift, ref, cur)
    t_scipy, loop_flags = best_of(repeat, scipy_loop, ref, cur)
    t_prof, prof = best_of(repeat, profile, ref)
    t_vs_prof, prof_report = best_of(repeat, drift, prof, cur)
    print(f"\n== {n:,} rows x 12 columns (shifted: {', '.join(SHIFTED)}) ==")
    print(f"mlops-magic drift()        {t_ours:7.3f} s  flags {report.drifted_columns}")
    print(f"scipy loop (p<0.05 only)   {t_scipy:7.3f} s  flags {loop_flags}   ratio {t_scipy / t_ours:.1f}x")
    print(f"profile(reference)         {t_prof:7.3f} s  ({len(json.dumps(prof.to_dict())) / 1e3:.0f} kB JSON)")
    print(f"drift() vs profile         {t_vs_prof:7.3f} s  flags {prof_report.drifted_columns}")
    if evidently is not None:
        ev = run_evidently(evidently, ref, cur)
        print(f"Evidently DataDriftPreset  {ev['seconds']:7.3f} s  flags {ev['flagged']}   "
              f"ratio {ev['seconds'] / t_ours:.0f}x")
    print(report.verdict)


def profile_accuracy() -> None:
    """Max |effect size on a profile - on the frame| over shifts 0, 0.1 and 0.5 std, per test."""
    rng = np.random.default_rng(7)
    cats = np.array([f"c{i}" for i in range(50)])
    dists = {
        "normal": lambda n: rng.normal(0, 1, n),
        "lognormal": lambda n: rng.lognormal(0, 1, n),
        "uniform": lambda n: rng.uniform(0, 1, n),
        "bimodal": lambda n: np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(1, 1, n)),
        "normal, 0.001 steps": lambda n: np.round(rng.normal(0, 1, n), 3),
        "integers 0-99": lambda n: rng.integers(0, 100, n).astype(float),
        "50 categories": lambda n: cats[rng.choice(50, n, p=np.arange(1, 51) / 1275)],
    }
    tests = ["ks", "wasserstein", "psi", "chi2", "jensenshannon"]
    print(f"\n{'distribution':19} {'rows':>9} " + " ".join(f"{t:>13}" for t in tests) + "   (max abs error)")
    for name, gen in dists.items():
        for n in (10_000, 1_000_000):
            errs: dict[str, float | None] = dict.fromkeys(tests, 0.0)
            for shift in (0.0, 0.1, 0.5):
                ref = pd.DataFrame({"x": gen(n)})
                cur_x = gen(n)
                if cur_x.dtype.kind == "f":
                    cur_x = cur_x + shift * ref["x"].std()
                elif shift:  # categories: move a share of rows to the first category
                    cur_x = np.where(rng.random(n) < shift / 2, cats[0], cur_x)
                cur = pd.DataFrame({"x": cur_x})
                prof = profile(ref)
                for t in tests:
                    if t in ("ks", "wasserstein") and cur_x.dtype.kind != "f":
                        errs[t] = None
                        continue
                    exact = drift(ref, cur, tests=t)["x"].effect_size
                    approx = drift(prof, cur, tests=t)["x"].effect_size
                    errs[t] = max(errs[t] or 0.0, abs(exact - approx))
            cells = " ".join(f"{'n/a':>13}" if e is None else f"{e:13.1e}" for e in errs.values())
            print(f"{name:19} {n:>9,} {cells}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--with-evidently", action="store_true", help="also run Evidently in its own venv")
    ap.add_argument("--profile-accuracy", action="store_true", help="measure profile approximation errors")
    args = ap.parse_args()
    if args.profile_accuracy:
        profile_accuracy()
        return
    evidently = ensure_evidently() if args.with_evidently else None
    warm_ref, warm_cur = make_data(2_000, seed=1)  # imports and first-call costs out of the timings
    drift(warm_ref, warm_cur)
    scipy_loop(warm_ref, warm_cur)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{os.cpu_count()} CPUs; best of {args.repeat}")
    for n in args.rows:
        bench(n, args.repeat, evidently)


if __name__ == "__main__":
    main()

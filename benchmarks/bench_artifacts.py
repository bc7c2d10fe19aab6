"""Artifacts in S3 and retention: put and get of 1 MB x 1,000 and 1 GB x 1 through our object store against
MLflow's S3 artifact repository, on the same local S3-compatible server (moto's, on 127.0.0.1), with the
peak memory of each; then `mlops gc` over 100,000 runs.

    python benchmarks/bench_artifacts.py [--quick] [--no-mlflow] [--no-gc]

Each phase runs in a process of its own, so its peak RSS (ru_maxrss) is that phase's. MLflow lives in its
own virtualenv (benchmarks/.envs/mlflow-s3). moto keeps objects in one Python process and reads a whole
object for every ranged GET, so absolute speeds are the server's; compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

MLFLOW_REQUIREMENTS = ["mlflow-skinny>=3", "boto3"]
PHASES = ("put-small", "get-small", "put-big", "get-big")
ROUNDS = 2
KEY, SECRET = "benchkey", "bench-secret-0123456789"


# -- one phase of ours, in a child process ----------------------------------------------------------
def our_phase(phase: str, url: str, folder: str) -> dict:
    from mlops_magic.store.object_storage import ObjectArtifactStore

    files = ObjectArtifactStore(url)
    small = sorted((Path(folder) / "small").iterdir())
    index = Path(folder) / f"digests-{url.rsplit('/', 1)[-1]}.json"
    start = time.perf_counter()
    if phase == "put-small":
        digests = [files.put_file(p)[0] for p in small]
        seconds = time.perf_counter() - start
        index.write_text(json.dumps(digests))
    elif phase == "get-small":
        for digest in json.loads(index.read_text()):
            with files.local_copy(digest):  # downloaded to a local file and checked against its digest
                pass
        seconds = time.perf_counter() - start
    elif phase == "put-big":
        digest = files.put_file(Path(folder) / "big.bin")[0]
        seconds = time.perf_counter() - start
        (Path(folder) / "big.digest").write_text(digest)
    else:
        with files.local_copy((Path(folder) / "big.digest").read_text()):
            seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# -- the server and the data ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                return proc, endpoint
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.2)


def make_data(folder: Path, small: int, big_mb: int) -> None:
    (folder / "small").mkdir(parents=True)
    for i in range(small):
        (folder / "small" / f"part-{i:04d}.bin").write_bytes(os.urandom(1 << 20))
    with open(folder / "big.bin", "wb") as fh:  # a random block every 64 MiB, sparse between
        for i in range(0, big_mb, 64):
            fh.seek(i << 20)
            fh.write(os.urandom(1 << 20))
        fh.truncate(big_mb << 20)


def s3_env(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, "MLFLOW_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1"}


def run_side(python: str, script: list[str], phase: str, uri: str, folder: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([python, *script, phase, uri, str(folder)], env={**os.environ, **env},
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{phase} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def transfer(args: argparse.Namespace, work: Path) -> dict:
    small, big_mb = (100, 256) if args.quick else (1000, 1024)
    make_data(work / "data", small, big_mb)
    proc, endpoint = start_moto(work / "moto.log")
    try:
        import boto3

        env = s3_env(endpoint)
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                              region_name="us-east-1")
        sides = {"mlops-magic": (sys.executable, [str(Path(__file__).resolve()), "--phase"])}
        if not args.no_mlflow:
            from _peer_env import peer_python

            sides["MLflow"] = (str(peer_python("mlflow-s3", MLFLOW_REQUIREMENTS)), [str(HERE / "_mlflow_s3_peer.py")])
        results: dict[str, dict[str, dict]] = {}
        for round_ in range(ROUNDS):  # the sides take turns going first; each round has fresh buckets
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for side in order:
                python, script = sides[side]
                bucket = f"bench-{side.lower().replace('-', '')}-{round_}"
                client.create_bucket(Bucket=bucket)
                for phase in PHASES:
                    r = run_side(python, script, phase, f"s3://{bucket}/a", work / "data", env)
                    best = results.setdefault(phase, {}).get(side)
                    if best is None or r["seconds"] < best["seconds"]:  # the best round's time, the worst peak
                        r["peak_mb"] = max(r["peak_mb"], best["peak_mb"]) if best else r["peak_mb"]
                        results[phase][side] = r
                    else:
                        best["peak_mb"] = max(best["peak_mb"], r["peak_mb"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    volume = {"put-small": small, "get-small": small, "put-big": big_mb, "get-big": big_mb}
    print(f"\n{'phase':<10} {'side':<11} {'seconds':>8} {'MB/s':>8} {'peak RSS':>9}")
    for phase in PHASES:
        for side, r in results[phase].items():
            r["mb_per_s"] = volume[phase] / r["seconds"]
            print(f"{phase:<10} {side:<11} {r['seconds']:8.2f} {r['mb_per_s']:8.1f} {r['peak_mb']:7.0f} MB")
        if "MLflow" in results[phase]:
            ratio = results[phase]["MLflow"]["seconds"] / results[phase]["mlops-magic"]["seconds"]
            print(f"{'':<10} throughput vs MLflow: {ratio:.2f}x")
    return {"small_files": small, "big_mb": big_mb, "phases": results}


# -- retention over 100,000 runs -------------------------------------------------------------------
def gc_bench(runs_count: int, work: Path) -> dict:
    from mlops_magic.store import artifacts, open_store, params, runs, stages
    from mlops_magic.store.retention import RetentionRule, collect

    store = open_store(str(work / "gc"))
    digests = [store.artifacts.put_bytes(f"model {i}".encode() * 100)[0] for i in range(1000)]
    now = time.time()
    spacing = 120 * 86400 / runs_count
    start = time.perf_counter()
    for first in range(0, runs_count, 5000):
        def fill(tx, first=first):  # type: ignore[no-untyped-def]
            for i in range(first, min(first + 5000, runs_count)):
                run_id = f"{i:016x}"
                started = now - i * spacing  # spread over 120 days, newest first
                runs.insert(tx, {"id": run_id, "notebook": f"nb{i % 50}.ipynb", "trigger": "schedule",
                                 "status": "succeeded", "started": started, "ended": started + 30,
                                 "username": "bench"})
                params.insert_params(tx, run_id, {"lr": 0.1, "seed": i})
                params.upsert_tags(tx, run_id, {"team": "risk"})
                stages.insert(tx, run_id, "train", None, None, None)
                artifacts.upsert(tx, run_id, "model.bin", digests[i * 1000 // runs_count], 700, None)
        store.db.run_in_transaction(fill)
    filled = time.perf_counter() - start
    old = now - 3 * 86400
    for path in (store.artifacts.root / "objects").rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))
    rule = RetentionRule(older_than=90 * 86400, keep_last=20, grace=6 * 3600)
    t = time.perf_counter()
    dry = collect(store, rule, dry_run=True)
    dry_s = time.perf_counter() - t
    t = time.perf_counter()
    done = collect(store, rule)
    real_s = time.perf_counter() - t
    rows = sum(done.rows.values())
    print(f"\nmlops gc --older-than 90d --keep-last 20 over {runs_count:,} runs spread over 120 days (SQLite; "
          f"filled in {filled:.0f} s): --dry-run {dry_s:.1f} s, "
          f"gc {real_s:.1f} s: {len(done.runs):,} runs and {rows:,} rows removed "
          f"({', '.join(f'{k} {v:,}' for k, v in sorted(done.rows.items()) if v)}), {done.objects} objects freed")
    assert sorted(dry.runs) == sorted(done.runs) and dry.rows == done.rows
    return {"runs": runs_count, "dry_run_s": dry_s, "gc_s": real_s, "runs_removed": len(done.runs),
            "rows_removed": rows, "rows": dict(done.rows), "objects_removed": done.objects}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        print(json.dumps(our_phase(*sys.argv[2:5])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 small files, 256 MB, 10,000 runs")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--no-gc", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlops-bench-artifacts-"))
    try:
        result = {"transfer": transfer(args, work)}
        if not args.no_gc:
            result["gc"] = gc_bench(10_000 if args.quick else 100_000, work)
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

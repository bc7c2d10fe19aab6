"""Artifacts in S3 (a real S3-compatible server on 127.0.0.1, moto's): headless runs, reports, reproduce and
model loading read from the bucket; a 1 GB artifact round trip in bounded memory; the server stopped
mid-upload; wrong credentials, and credentials revoked mid-run; URLs and missing backends."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import PYTHON, python_env
from dask_support import notebook
from s3_support import MotoServer, forget_filesystems, moto_server, s3_artifacts, start_moto  # noqa: F401 - fixtures

from mlops_magic.errors import InvalidInputError, StoreError
from mlops_magic.store import clear_cache, open_store
from mlops_magic.store.location import parse_store_url


@pytest.fixture
def s3_project(tmp_path: Path, s3_artifacts: str,  # noqa: F811
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """(a project folder, its store URL: SQLite here, artifacts in the bucket), MLOPS_STORE set to it."""
    monkeypatch.chdir(tmp_path)
    for var in ("MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE", "JPY_SESSION_NAME", "MLOPS_ARTIFACTS",
                "MLOPS_EXECUTOR"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path / 'store' / 'mlops.db'}?artifacts={s3_artifacts}"
    monkeypatch.setenv("MLOPS_STORE", url)
    monkeypatch.setenv("MLOPS_USER", "alice")
    clear_cache()
    yield tmp_path, url
    clear_cache()


def _keys(server: MotoServer, artifacts: str) -> dict[str, int]:
    bucket, _, prefix = artifacts[len("s3://"):].partition("/")
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
         timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "mlops_magic.cli", *args], cwd=cwd, env=env or python_env(),
                          capture_output=True, text=True, timeout=timeout)


# -- URLs ------------------------------------------------------------------------------------------
def test_every_store_url_takes_an_artifacts_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_ARTIFACTS", raising=False)
    loc = parse_store_url(f"sqlite:///{tmp_path}/m.db?artifacts=s3://team-bucket/ml/")
    assert (loc.artifacts, loc.remote_artifacts, loc.artifacts_root) == ("s3://team-bucket/ml", True, None)
    assert loc.url == f"sqlite:///{tmp_path}/m.db?artifacts=s3://team-bucket/ml" and loc.work_dir == tmp_path
    assert parse_store_url(loc.url) == loc  # what a runner's child is given reopens the same store
    plain = parse_store_url(f"sqlite:///{tmp_path}/m.db")
    assert plain.url == f"sqlite:///{tmp_path}/m.db" and plain.artifacts_root == tmp_path / "artifacts"
    pg = parse_store_url("postgresql://ml:pw@db/mlops?sslmode=require&artifacts=gs://b/x")
    assert pg.artifacts == "gs://b/x" and pg.conninfo == "postgresql://ml:pw@db/mlops?sslmode=require"
    assert pg.display_url == "postgresql://ml:***@db/mlops?sslmode=require&artifacts=gs://b/x"
    assert parse_store_url(f"sqlite:///{tmp_path}/m.db?artifacts=file://{tmp_path}/a").artifacts_root == tmp_path / "a"
    monkeypatch.setenv("MLOPS_ARTIFACTS", "az://container/prefix")
    folder = parse_store_url(str(tmp_path / "proj"))
    assert folder.artifacts == "az://container/prefix" and folder.project_dir == tmp_path / "proj"
    assert folder.url.endswith("mlops.db?artifacts=az://container/prefix")
    assert folder.work_dir == tmp_path / "proj" / ".mlops"


@pytest.mark.parametrize("url, message", [
    ("s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/x", "carries a credential"),
    ("s3:///no-bucket", "names no bucket"),
    ("ftp://host/x", "unknown artifacts URL scheme 'ftp'"),
    ("s3://bucket/x?versionId=1", "takes no \\?query"),
])
def test_a_bad_artifacts_url_is_one_line_and_never_echoes_a_secret(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        parse_store_url(f"sqlite:///{tmp_path}/m.db?artifacts={url}")
    assert "wJalrXUtnFEMI" not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InvalidInputError, match="takes \\?artifacts= only"):
        parse_store_url(f"sqlite:///{tmp_path}/m.db?mode=ro")


@pytest.mark.parametrize("url, extra, package", [("gs://b/x", "gcs", "gcsfs"), ("az://c/x", "azure", "adlfs")])
def test_a_missing_backend_names_the_pip_command(tmp_path: Path, url: str, extra: str, package: str) -> None:
    if importlib.util.find_spec(package) is not None:
        pytest.skip(f"{package} is installed here")
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{tmp_path}/m.db?artifacts={url}")
    assert str(info.value) == (f"artifacts at {url} need {package}, which is not installed: "
                               f'pip install "mlops-magic[{extra}]"')


# -- everything that reads artifacts works from the bucket -------------------------------------------
TRAIN = """%%mlops stage train
from sklearn.linear_model import LogisticRegression
import mlops_magic as mlops
X = [[0.0], [1.0], [2.0], [3.0]]
y = [0, 0, 1, 1]
model = LogisticRegression().fit(X, y)
open("notes.txt", "w").write("bucket " * 1000)
mlops.log_artifact("notes.txt")
mlops.log_metric("acc", 1.0)
mlops.register_model(model, "churn")
print("trained in a kernel")"""


@pytest.mark.filterwarnings("ignore:X has feature names")  # the model was fitted on lists, served records
def test_a_headless_run_keeps_everything_in_the_bucket(s3_project: tuple[Path, str],
                                                        moto_server: MotoServer,  # noqa: F811
                                                        s3_artifacts: str) -> None:  # noqa: F811
    project, url = s3_project
    nb = notebook(project / "train.ipynb", ["import os", TRAIN])
    done = _cli(project, "run", str(nb), "--report")
    assert done.returncode == 0, done.stdout + done.stderr
    store = open_store(url)
    run = store.get_run("latest")
    assert (run.status, run.user) == ("succeeded", "alice")
    names = {a.name: a for a in store.list_artifacts(run.id)}
    assert {"executed.ipynb", "notes.txt"} <= set(names)
    keys = _keys(moto_server, s3_artifacts)
    for artifact in names.values():
        assert artifact.path == f"{s3_artifacts}/objects/{artifact.digest[:2]}/{artifact.digest}"
        assert keys[artifact.path[len("s3://"):].split("/", 1)[1]] == artifact.size
    assert not (project / "store" / "artifacts").exists()  # nothing went to a local folder
    # readers: show, report (the executed notebook rendered from the bucket), the model, reproduce
    shown = json.loads(_cli(project, "show", "latest", "--format", "json").stdout)
    assert {a["name"] for a in shown["artifacts"]} >= {"executed.ipynb", "notes.txt"}
    page = project / "report.html"
    assert _cli(project, "report", run.id, "--html", str(page)).returncode == 0
    assert "trained in a kernel" in page.read_text()
    from mlops_magic.registry.versions import get_version, load

    version = get_version(store, "churn@1")
    assert version.digest in {k.rsplit("/", 1)[-1] for k in keys}
    assert list(load(store, "churn@1").predict([[0.0], [3.0]])) == [0, 1]
    again = _cli(project, "reproduce", run.id)
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = store.get_run("latest")
    assert rerun.status == "succeeded" and rerun.id != run.id
    # the other readers: diff, lineage, the model card, and mlops serve loading the model from the bucket
    for args in (("diff", run.id, rerun.id), ("lineage", "churn@1"), ("models", "card", "churn@1")):
        done = _cli(project, *args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stdout + done.stderr)
    assert "churn" in _cli(project, "models", "card", "churn@1").stdout
    from serving_support import running

    from mlops_magic.serving.app import create_app

    with running(create_app("churn@1", store=store, poll_interval=0.2)) as client:
        assert client.get("/health").json()["version"] == 1
        answer = client.post("/predict", json=[{"x": 0.0}, {"x": 3.0}])
        assert answer.json()["predictions"] == [0, 1], answer.text
    # who: the runs filter of every face reads the same column
    assert [r["id"] for r in json.loads(_cli(project, "runs", "--user", "alice", "--format", "json").stdout)]
    assert json.loads(_cli(project, "runs", "--user", "bob", "--format", "json").stdout) == []


# -- bounded memory ----------------------------------------------------------------------------------
BIG = """
import json, os, resource, sys, time
from mlops_magic.store import open_store
path, url = sys.argv[1], sys.argv[2]
with open(path, "wb") as fh:  # 1 GiB, sparse but for a random block every 64 MiB: fast to make, not all zeros
    for i in range(16):
        fh.seek(i * (64 << 20)); fh.write(os.urandom(1 << 20))
    fh.truncate(1 << 30)
store = open_store(url)
run = store.create_run(notebook="big.ipynb")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the interpreter, s3fs and the store
t0 = time.monotonic()
artifact = store.log_artifact(run.id, path, name="big.bin")
put = time.monotonic() - t0
t0 = time.monotonic()
with store.artifacts.local_copy(artifact.digest) as copy:
    same = os.path.getsize(copy) == 1 << 30
get = time.monotonic() - t0
with store.artifacts.open(artifact.digest) as fh, open(path, "rb") as local:  # a stream: the head, then the tail
    head = all(fh.read(8 << 20) == local.read(8 << 20) for _ in range(8))
    fh.seek((1 << 30) - (2 << 20)); local.seek((1 << 30) - (2 << 20))
    streamed = head and fh.read() == local.read()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"size": artifact.size, "same": same, "streamed": streamed, "peak_mb": peak, "base_mb": base,
                  "put_s": put, "get_s": get}))
"""


@pytest.mark.slow
@pytest.mark.timeout(900)  # 2 GiB through moto's one Python process on a loaded machine
def test_a_1gb_artifact_round_trips_in_bounded_memory(s3_project: tuple[Path, str]) -> None:
    project, url = s3_project
    # What the transfers add to the process's peak is parts in flight (four 16 MiB parts each way) and their
    # copies in the client, whatever the artifact's size; an artifact held whole would add 1 GiB. Absolute
    # peaks of 200-440 MB were measured: they vary with how far the client's buffers run ahead of a busy
    # machine, so the bound is on what the transfers add, with room for that.
    env = python_env()
    done = subprocess.run([PYTHON, "-c", BIG, str(project / "big.bin"), url], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["size"] == 1 << 30 and result["same"] and result["streamed"]
    assert result["peak_mb"] - result["base_mb"] < 512, result  # never the artifact: half of it at most


# -- faults --------------------------------------------------------------------------------------------
UPLOAD = """
import sys
from mlops_magic.errors import MlopsError
from mlops_magic.store import open_store
store = open_store(sys.argv[2])
run = store.create_run(notebook="up.ipynb")
print("run", run.id, flush=True)
try:
    store.log_artifact(run.id, sys.argv[1], name="big.bin")
    print("stored")
except MlopsError as exc:
    print("error:", exc)
print("rows:", len(store.list_artifacts(run.id)))
"""


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[MotoServer]:
    """A server of this test's own, free to stop."""
    yield from start_moto(tmp_path / "own-moto")


def test_the_server_stopped_mid_upload_is_one_line_and_nothing_recorded(own_server: MotoServer, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = own_server.bucket()
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        fh.truncate(400 << 20)
    url = f"sqlite:///{tmp_path / 'mlops.db'}?artifacts=s3://{bucket}/p"
    env = python_env(**own_server.env(), MLOPS_ARTIFACT_ATTEMPTS="2", MLOPS_ARTIFACT_CONCURRENCY="1")
    child = subprocess.Popen([PYTHON, "-c", UPLOAD, str(big), url], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    client = own_server.client()
    deadline = time.monotonic() + 120
    while not client.list_multipart_uploads(Bucket=bucket).get("Uploads"):  # parts are on their way
        assert child.poll() is None and time.monotonic() < deadline, "no multipart upload started"
        time.sleep(0.05)
    own_server.stop()
    out, err = child.communicate(timeout=300)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["error:"].startswith(f"the artifact store s3://{bucket}/p failed while storing an artifact ("), out
    assert "after 2 attempts" in lines["error:"] and "Traceback" not in err
    assert lines["rows:"] == "0"  # no row names an object that was never completed
    own_server.start()  # an empty server again (moto keeps nothing): the store still opens and writes
    own_server.client().create_bucket(Bucket=bucket)
    for key, value in own_server.env().items():
        monkeypatch.setenv(key, value)
    forget_filesystems()
    store = open_store(url)
    run = store.get_run(lines["run"])
    assert store.list_artifacts(run.id) == [] and store.log_artifact_bytes(run.id, "small", b"ok").size == 2


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[tuple[MotoServer, dict[str, str]]]:
    """A server that checks credentials: the first three requests (made here, unauthenticated) create a user
    with a key and a policy; every later request needs that key."""
    for server in start_moto(tmp_path / "auth-moto", INITIAL_NO_AUTH_ACTION_COUNT="3"):
        import boto3

        iam = boto3.client("iam", endpoint_url=server.endpoint, aws_access_key_id="setup",
                           aws_secret_access_key="setup", region_name="us-east-1")
        iam.create_user(UserName="ml")
        key = iam.create_access_key(UserName="ml")["AccessKey"]
        iam.put_user_policy(UserName="ml", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        good = {**server.env(), "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=good["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=good["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1",
                     ).create_bucket(Bucket="team-artifacts")
        yield server, good


def test_wrong_credentials_are_one_clear_line_and_never_written_anywhere(auth_server, tmp_path: Path) -> None:
    _, good = auth_server
    wrong = "WrongSecretValue0123456789abcdef"
    url = f"sqlite:///{tmp_path / 'store' / 'mlops.db'}?artifacts=s3://team-artifacts/p"
    env = python_env(**{**good, "AWS_SECRET_ACCESS_KEY": wrong}, MLOPS_ARTIFACT_ATTEMPTS="3")
    (tmp_path / "f.txt").write_text("x")
    done = subprocess.run([PYTHON, "-c", UPLOAD, str(tmp_path / "f.txt"), url], env=env, capture_output=True,
                          text=True, timeout=120)
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    error = lines["error:"]
    assert error.startswith("the artifact store s3://team-artifacts/p refused the credentials while "), error
    assert "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in error and "attempts" not in error  # not retried
    assert wrong not in done.stdout + done.stderr and good["AWS_ACCESS_KEY_ID"] not in error
    # a headless run: the run says why, once; the secret is in no file the store, the report or a log holds
    nb = notebook(tmp_path / "nb.ipynb", ["x = 1", "%%mlops stage train\ny = x + 1"])
    run = _cli(tmp_path, "run", str(nb), "--report", env=python_env(**env, MLOPS_STORE=url))
    assert run.returncode == 1, run.stdout + run.stderr
    store = open_store(url)
    failed = store.get_run("latest")
    assert failed.status == "failed" and failed.error.startswith(
        "the executed notebook could not be stored: the artifact store s3://team-artifacts/p refused the credentials")
    assert store.list_artifacts(failed.id) == []
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            assert wrong.encode() not in path.read_bytes(), path


REVOKED = """%%mlops stage data --name first
import os, time, mlops_magic as mlops
open("a.txt", "w").write("first")
mlops.log_artifact("a.txt")
"""
SECOND = """%%mlops stage train --name second
while not os.path.exists({marker!r}):
    time.sleep(0.05)
open("b.txt", "w").write("second")
mlops.log_artifact("b.txt")
"""


def test_credentials_revoked_mid_run_fail_the_run_with_one_reason(auth_server, tmp_path: Path) -> None:
    server, good = auth_server
    url = f"sqlite:///{tmp_path / 'store' / 'mlops.db'}?artifacts=s3://team-artifacts/p"
    marker = tmp_path / "revoked"
    nb = notebook(tmp_path / "nb.ipynb", [REVOKED, SECOND.format(marker=str(marker))])
    child = subprocess.Popen([PYTHON, "-m", "mlops_magic.cli", "run", str(nb)], cwd=tmp_path,
                             env=python_env(**good, MLOPS_STORE=url, MLOPS_ARTIFACT_ATTEMPTS="3"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:  # the first artifact is stored: revoke the key, let the second stage go on
        clear_cache()
        try:
            store = open_store(url, create=False)
            run = store.get_run("latest")
            if store.list_artifacts(run.id):
                break
        except Exception:
            pass
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.1)
    import boto3

    boto3.client("iam", endpoint_url=server.endpoint, aws_access_key_id=good["AWS_ACCESS_KEY_ID"],
                 aws_secret_access_key=good["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1",
                 ).delete_access_key(UserName="ml", AccessKeyId=good["AWS_ACCESS_KEY_ID"])
    marker.write_text("go")
    out, err = child.communicate(timeout=180)
    assert child.returncode == 1, out + err
    run = store.get_run(run.id)
    assert run.status == "failed"
    assert run.error.startswith("stage second (cell 1) failed: StoreUnavailable: the artifact store "
                                "s3://team-artifacts/p refused the credentials"), run.error
    assert [a.name for a in store.list_artifacts(run.id)] == ["a.txt"]  # the first stays, nothing half-written
    assert good["AWS_SECRET_ACCESS_KEY"] not in run.error + out + err


def test_gc_aborts_multipart_uploads_a_killed_writer_left(s3_project: tuple[Path, str],
                                                          moto_server: MotoServer,  # noqa: F811
                                                          s3_artifacts: str) -> None:  # noqa: F811
    _, url = s3_project
    bucket, _, prefix = s3_artifacts[len("s3://"):].partition("/")
    client = moto_server.client()
    ours = client.create_multipart_upload(Bucket=bucket, Key=f"{prefix}/objects/ab/{'ab' * 32}")
    other = client.create_multipart_upload(Bucket=bucket, Key="someone-else/file.bin")
    store = open_store(url)
    assert store.artifacts.clean_stale_uploads() == []  # too young: a writer may still be sending parts
    assert store.artifacts.clean_stale_uploads(now=time.time() + 2 * 86400) == [f"{prefix}/objects/ab/{'ab' * 32}"]
    left = {u["UploadId"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    assert left == {other["UploadId"]} and ours["UploadId"] not in left


FORK = """
import os, sys
from mlops_magic.store import open_store
store = open_store(sys.argv[1])
digest = store.artifacts.put_bytes(b"from the parent")[0]
pid = os.fork()
if pid == 0:  # the store object a child inherits makes its own client (the parent's loop stays the parent's)
    ok = store.artifacts.read_bytes(digest) == b"from the parent" and store.artifacts.put_bytes(b"child")[1] == 5
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
print(status >> 8, store.artifacts.read_bytes(digest).decode())
"""


def test_a_forked_child_uses_the_bucket_with_a_client_of_its_own(s3_project: tuple[Path, str]) -> None:
    _, url = s3_project
    done = subprocess.run([PYTHON, "-c", FORK, url], env=python_env(), capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0 from the parent", done.stdout + done.stderr[-2000:]


# -- the stage cache over the bucket ---------------------------------------------------------------------
@pytest.fixture
def s3_shell(request: pytest.FixtureRequest, store_dir: Path, s3_artifacts: str,  # noqa: F811
             monkeypatch: pytest.MonkeyPatch):
    """A real IPython shell with the extension loaded, on a folder store whose artifacts are in the bucket."""
    from mlops_magic.tracking.session import reset_session

    monkeypatch.setenv("MLOPS_ARTIFACTS", s3_artifacts)
    monkeypatch.setenv("MLOPS_CACHE", "1")
    clear_cache()
    reset_session()
    return request.getfixturevalue("ip")


def test_the_stage_cache_keeps_its_entries_in_the_bucket_and_a_restore_names_the_same_bytes(
        s3_shell: Any, moto_server: MotoServer, s3_artifacts: str) -> None:  # noqa: F811
    from IPython.utils.capture import capture_output

    from mlops_magic.cache.entries import list_entries
    from mlops_magic.store import cache as cache_tables
    from mlops_magic.tracking.session import get_session

    cell = ("%%mlops stage data\nfrom pathlib import Path\nPath('notes.txt').write_text('kept ' * 300)\n"
            "%mlops artifact notes.txt\nrows = list(range(1000))")
    for _ in range(2):
        with capture_output() as out:
            assert s3_shell.run_cell(cell).success, out.stdout + out.stderr
    assert out.stdout.startswith("data: cached from run"), out.stdout
    store = get_session().store
    assert len(list_entries(store)) == 1
    keys = _keys(moto_server, s3_artifacts)
    digests = cache_tables.digests(store.db)  # the entry's manifest and the objects it lists
    assert {d for d in digests if any(k.endswith(d) for k in keys)} == digests  # every cache object in the bucket
    _, second = [s for s in store.list_stages(get_session().active_run_id()) if s.name == "data"]
    rows = store.db.query("SELECT stage_id, digest FROM artifacts WHERE name = 'notes.txt'")
    assert [r[0] for r in rows] == [second.id]  # the restored stage names the bytes the first stage stored
    assert store.artifacts.read_bytes(rows[0][1]) == b"kept " * 300
    assert s3_shell.user_ns["rows"] == list(range(1000))

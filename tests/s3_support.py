"""A real S3-compatible server on 127.0.0.1 for the object-storage tests: moto's standalone server.

As s3fs's own test suite does, the server is moto's (``moto[server]`` in the test extra); here it runs as
a child process (``python -m moto.server``) so a test can stop it mid-upload and start it again on the
same port. Credentials are fake ones in the environment, the endpoint is ``AWS_ENDPOINT_URL``: the
standard chain botocore (and so s3fs) reads, exactly as a user points mlops-magic at MinIO or Ceph.
Every process started here is stopped here, by pid.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FAKE_KEY, FAKE_SECRET = "mlopstestkey", "mlops-test-secret-0123456789"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MotoServer:
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What a client process needs: the endpoint and fake credentials, nothing else."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": FAKE_KEY,
                "AWS_SECRET_ACCESS_KEY": FAKE_SECRET, "AWS_DEFAULT_REGION": "us-east-1"}

    def start(self) -> MotoServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | self.extra_env
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"moto's server exited: {self.log.read_text()[-2000:]}") from None
                if time.monotonic() > deadline:
                    raise AssertionError("moto's server did not answer within 60 s") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=FAKE_KEY,
                            aws_secret_access_key=FAKE_SECRET, region_name="us-east-1")

    def bucket(self) -> str:
        """A new empty bucket."""
        name = f"mlops-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def start_moto(log_dir: Path, **extra_env: str) -> Iterator[MotoServer]:
    log_dir.mkdir(parents=True, exist_ok=True)
    server = MotoServer(port=free_port(), log=log_dir / "moto.log", extra_env=dict(extra_env))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    yield from start_moto(tmp_path_factory.mktemp("moto"))


@pytest.fixture
def s3_artifacts(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://BUCKET/PREFIX`` on the test server, with this process's environment pointed at it."""
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    forget_filesystems()
    return f"s3://{moto_server.bucket()}/team/artifacts"


def forget_filesystems() -> None:
    """Drop s3fs's cached clients, so the next one reads the environment (endpoint, credentials) afresh."""
    try:
        from s3fs import S3FileSystem
    except ImportError:  # pragma: no cover - the test extra installs s3fs
        return
    S3FileSystem.clear_instance_cache()


__all__ = ["FAKE_KEY", "FAKE_SECRET", "MotoServer", "forget_filesystems", "free_port", "moto_server",
           "s3_artifacts", "start_moto"]

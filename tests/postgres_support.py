"""A throwaway PostgreSQL server for the store tests.

``postgres_cluster`` (session scope) runs ``initdb`` + ``pg_ctl`` in a fresh folder under /tmp,
listening on a free port of 127.0.0.1 only, trust authentication, fsync off; ``postgres_url``
(function scope) creates an empty database in it for one test and drops it afterwards.

The server binaries come from Debian's ``postgresql`` package: ``bash .ci/setup-postgres``
installs them. Without them the tests that need them FAIL saying so, unless the environment
sets ``MLOPS_SKIP_POSTGRES=1``, which skips them instead.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` user (created
by the Debian package; a ``mlops-pg`` system user is made when it is missing).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SETUP_HINT = "run `bash .ci/setup-postgres` (or set MLOPS_SKIP_POSTGRES=1 to skip the PostgreSQL tests)"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("MLOPS_SKIP_POSTGRES") == "1":
        pytest.skip(f"PostgreSQL tests skipped (MLOPS_SKIP_POSTGRES=1): {reason}")
    pytest.fail(f"{reason}; {SETUP_HINT}", pytrace=False)


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parent.name.split(".")])
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """None when we are not root (run as ourselves); else a user the server may run as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "mlops-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "mlops-pg"],
                   check=True, capture_output=True)
    return "mlops-pg"


@dataclass
class Cluster:
    bin_dir: Path
    data_dir: Path
    port: int
    user: str | None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        name = f"mlops_test_{os.getpid()}_{next(self._counter)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name


def start_cluster() -> Cluster:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _skip_or_fail("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _skip_or_fail('psycopg is not installed (pip install "mlops-magic[postgres]" or the [test] extra)')
    assert bin_dir is not None
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="mlops-pg-", dir="/tmp"))
    data = root / "data"
    if user:
        shutil.chown(root, user=user)
    cluster = Cluster(bin_dir=bin_dir, data_dir=data, port=_free_port(), user=user)
    init = cluster.run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale",
                       "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr[-800:]}", pytrace=False)
    options = (f"-p {cluster.port} -h 127.0.0.1 -c unix_socket_directories='' -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
    for _attempt in range(3):
        started = cluster.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "server.log"),
                              "-w", "-t", "60", "start")
        if started.returncode == 0:
            break
        cluster.port = _free_port()  # the port was taken meanwhile: try another
        options = options.replace(options.split()[1], str(cluster.port), 1)
        time.sleep(0.2)
    else:
        log = (root / "server.log").read_text(errors="replace")[-1500:] if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {started.stderr[-500:]}\n{log}", pytrace=False)
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    cluster.run("pg_ctl", "-D", str(cluster.data_dir), "-m", "immediate", "-w", "stop")
    shutil.rmtree(cluster.data_dir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A new, empty database for one test: its URL (postgresql://postgres@127.0.0.1:PORT/NAME)."""
    name = postgres_cluster.new_database()
    yield postgres_cluster.url(name)
    from mlops_magic.store import clear_cache

    clear_cache()  # close our connections before dropping the database
    try:
        postgres_cluster.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception:  # pragma: no cover - a leftover database dies with the cluster
        pass

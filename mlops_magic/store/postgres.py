"""PostgreSQL behind the same :class:`~.db.Database` seam, over psycopg 3.

Domain modules keep writing the portable SQL subset with ``?`` placeholders;
``pg_sql.py`` translates it (placeholders, ``{serial}``, ``RETURNING id``) and
gives rows sqlite3's name access.

Transactions: ``run_in_transaction`` and ``write`` run at SERIALIZABLE and are retried
whole on a serialization failure or deadlock, so read-then-write logic (the next model
version, the next stage attempt, a scheduler claim) is as safe as under SQLite's single
writer. A bare ``with db.transaction()`` block cannot be re-run by the store, so it runs
at READ COMMITTED, where single statements (inserts, upserts) never need a retry.

Parameters are bound client side (psycopg's ``ClientCursor``), as SQLite's loose typing
expects: ``COALESCE(?, col)`` or ``? IS NULL`` never hit "could not determine data type".

Errors: no psycopg exception leaves this module. A unique violation is
:class:`~mlops_magic.errors.StoreDuplicate`, another integrity violation or contention
that outlived the retries :class:`~mlops_magic.errors.StoreConflict`, a lost or refused
connection :class:`~mlops_magic.errors.StoreUnavailable`, anything else
:class:`~mlops_magic.errors.StoreError`; the password never appears in a message.
"""

from __future__ import annotations

import os
import random
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .._version import __version__
from ..errors import StoreConflict, StoreDuplicate, StoreError, StoreUnavailable, StoreVersionError
from . import schema
from .db import Database, Row, Transaction
from .location import redact_url
from .pg_sql import SERIAL, bind_params, row_factory, to_pyformat, translate

T = TypeVar("T")

INSTALL_HINT = 'pip install "mlops-magic[postgres]"'
# SQLSTATEs that mean "run the same transaction again": serialization_failure, deadlock_detected
RETRY_STATES = {"40001", "40P01"}
# SQLSTATE classes of errors that cross the seam as StoreConflict (integrity constraint violation) and
# StoreUnavailable (connection exception, operator intervention such as a server shutting down)
CONFLICT_CLASS, UNAVAILABLE_CLASSES, UNIQUE_VIOLATION = "23", ("08", "57"), "23505"


def import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"PostgreSQL stores need the psycopg driver, which is not installed; install it with {INSTALL_HINT}"
        ) from None
    return psycopg


# -- transactions ---------------------------------------------------------------------------------
class _PgTx(Transaction):
    def __init__(self, conn: Any, returning: frozenset[str]) -> None:
        self._conn = conn
        self._returning = returning

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        text, returns_id = translate(sql, self._returning)
        cur = self._conn.execute(text, bind_params(params))
        if returns_id:
            row = cur.fetchone()
            return None if row is None else row[0]
        return None

    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        text, _ = translate(sql)
        return int(self._conn.execute(text, bind_params(params)).rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        rows = [bind_params(r) for r in rows]
        if not rows:
            return
        text, _ = translate(sql)
        with self._conn.cursor() as cur:
            cur.executemany(text, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        text, _ = translate(sql)
        return self._conn.execute(text, bind_params(params)).fetchall()


_live: weakref.WeakSet[PostgresDatabase] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child must never talk on (or close) its parent's connection: point it at /dev/null."""
    for db in list(_live):
        db._detach_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class PostgresDatabase(Database):
    """One psycopg connection per process and store, guarded by a lock, like :class:`SQLiteDatabase`."""

    dialect = "postgresql"
    RETRIES = 60
    CONNECT_TIMEOUT = 10

    def __init__(self, url: str, *, conninfo: str | None = None, create: bool = True) -> None:
        self._psycopg = import_psycopg()
        self.url = url
        self._conninfo = conninfo or url
        self._password = urlsplit(self._conninfo).password if "://" in self._conninfo else None
        self._lock = threading.RLock()
        self._returning = schema.serial_tables(schema.MIGRATIONS)
        self._pid = os.getpid()
        self._conn: Any = None
        self._conn = self._connect()
        try:
            self._prepare(create)
        except BaseException:
            self._close_quietly()
            raise
        _live.add(self)

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    # -- connection ---------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _connect(self) -> Any:
        psycopg = self._psycopg
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self.CONNECT_TIMEOUT,
                                   cursor_factory=psycopg.ClientCursor, row_factory=row_factory)
        except psycopg.Error as exc:
            detail = self._scrub(" ".join(str(exc).split()))[:300]
            raise StoreUnavailable(
                f"cannot connect to the PostgreSQL store at {self.display_url} ({detail}); check the server, "
                "the user and the database in MLOPS_STORE"
            ) from None
        return conn

    def _live_conn(self) -> Any:
        """The connection, reopened after a fork or when the server dropped it."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._conn = self._connect()
        elif self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._connect()
        return self._conn

    def _detach_after_fork(self) -> None:
        conn = self._conn
        if conn is None or conn.closed:
            return
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, conn.fileno())
            os.close(devnull)
        except Exception:  # pragma: no cover - nothing better to do in a fresh child
            pass
        # Nothing written on the inherited socket reaches the parent's session any more; the next
        # use in this process opens its own connection (the pid no longer matches).

    def _close_quietly(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass

    def close(self) -> None:
        with self._lock:
            if os.getpid() != self._pid:
                self._detach_after_fork()
            self._close_quietly()
            _live.discard(self)

    # -- schema -------------------------------------------------------------------------------
    def _stored_version(self, conn: Any) -> int | None:
        """The store's schema version; None when the database has no mlops meta table."""
        row = conn.execute("SELECT to_regclass('meta')").fetchone()
        if row is None or row[0] is None:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _refuse_newer(self, version: int | None) -> None:
        if version is not None and version > schema.SCHEMA_VERSION:
            raise StoreVersionError(
                f"the store at {self.display_url} has schema version {version}, newer than this mlops-magic "
                f"{__version__} reads (up to {schema.SCHEMA_VERSION}); upgrade with "
                "`pip install -U mlops-magic`. The store was not changed."
            )

    def _prepare(self, create: bool) -> None:
        psycopg = self._psycopg
        conn = self._conn
        try:
            version = self._stored_version(conn)  # read only: nothing is written before this check
            self._refuse_newer(version)
            if version is None and not create:
                raise StoreError(f"no mlops store in {self.display_url}; create one with `mlops init --store URL`")
            if version == schema.SCHEMA_VERSION:
                return
            self._migrate()
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot prepare the PostgreSQL store at {self.display_url} "
                f"({self._scrub(' '.join(str(exc).split()))[:300]})"
            ) from None

    def _migrate(self) -> None:
        conn = self._conn
        lock_key = zlib.crc32(b"mlops-magic schema migration") - 2**31  # any fixed signed 32-bit key
        with conn.transaction():
            # Concurrent openers queue here; the first migrates, the others then find the current version.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
            current = self._stored_version(conn)
            self._refuse_newer(current)
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            current = current or 0
            for number in range(current, schema.SCHEMA_VERSION):
                for statement in schema.statements(schema.MIGRATIONS[number], SERIAL):
                    conn.execute(to_pyformat(statement), ())
            conn.execute(to_pyformat(schema.RECORD_VERSION), (str(schema.SCHEMA_VERSION),))

    # -- access -------------------------------------------------------------------------------
    def _store_error(self, exc: Exception) -> StoreError:
        """The error that crosses the seam for a psycopg one (raise it ``from exc``), without the password."""
        state = getattr(exc, "sqlstate", None) or ""
        first = self._scrub((str(exc).strip().splitlines() or [type(exc).__name__])[0])[:300]
        if state in RETRY_STATES:
            return StoreConflict(f"the PostgreSQL store at {self.display_url} stayed contended after "
                                 f"{self.RETRIES} attempts: {first}")
        if state.startswith(CONFLICT_CLASS):
            kind = StoreDuplicate if state == UNIQUE_VIOLATION else StoreConflict
            return kind(f"the PostgreSQL store at {self.display_url} refused a write: {first}")
        if state.startswith(UNAVAILABLE_CLASSES) or isinstance(exc, self._psycopg.OperationalError):
            return StoreUnavailable(f"the PostgreSQL store at {self.display_url} is unavailable: {first}")
        return StoreError(f"the PostgreSQL store at {self.display_url} failed: {first}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        text, _ = translate(sql)
        with self._lock:
            for attempt in range(self.RETRIES):
                conn = self._live_conn()
                try:
                    return conn.execute(text, bind_params(params)).fetchall()
                except self._psycopg.Error as exc:
                    if not self._retryable(exc, conn, reconnect=True) or attempt == self.RETRIES - 1:
                        raise self._store_error(exc) from exc
                _backoff(attempt)
        raise AssertionError("unreachable")

    def change_marker(self) -> str | None:
        """The server's current snapshot (xmin:xmax:in-progress ids): any transaction that commits between
        two reads, here or anywhere in the cluster, moves ``xmax`` or leaves the in-progress list. Serial
        ids are not enough: they are taken before commit, so a lower one can land after a higher one."""
        try:
            row = self.query_one("SELECT pg_current_snapshot()::text")
        except StoreError:  # a server before PostgreSQL 13 has no pg_current_snapshot: every read looks
            return None
        return str(row[0]) if row else None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic block at READ COMMITTED (the block cannot be re-run, so nothing here asks for it)."""
        with self._lock:
            conn = self._live_conn()
            try:
                with conn.transaction():
                    yield _PgTx(conn, self._returning)
            except self._psycopg.Error as exc:
                raise self._store_error(exc) from exc

    def write(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.run_in_transaction(lambda tx: tx.execute(sql, params))

    def run_in_transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` at SERIALIZABLE; on a serialization failure or deadlock the whole of it runs again."""
        psycopg = self._psycopg
        with self._lock:
            for attempt in range(self.RETRIES):
                conn = self._live_conn()
                try:
                    with conn.transaction():
                        conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                        return fn(_PgTx(conn, self._returning))
                except psycopg.Error as exc:
                    if not self._retryable(exc, conn) or attempt == self.RETRIES - 1:
                        raise self._store_error(exc) from exc
                _backoff(attempt)
        raise AssertionError("unreachable")

    def _retryable(self, exc: Exception, conn: Any, *, reconnect: bool = False) -> bool:
        if getattr(exc, "sqlstate", None) in RETRY_STATES:
            return True
        # A read on a dropped connection is simply asked again on a new one. A write is not: its
        # COMMIT may have landed before the drop; the next call reconnects and the caller decides.
        return reconnect and isinstance(exc, self._psycopg.OperationalError) and (conn.closed or conn.broken)


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.002 * (2 ** min(attempt, 8))) * (0.5 + random.random()))

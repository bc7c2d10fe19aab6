"""The database seam: a narrow SQL interface that SQLite (here) and PostgreSQL (``postgres.py``) implement.

The table modules of the store write portable SQL with ``?`` placeholders against
:class:`Database`; an implementation translates what its driver needs. Lock
contention is handled by the backend, never in callers, and no driver exception
crosses the seam: each backend answers :class:`~mlops_magic.errors.StoreConflict`
(a uniqueness rule refused a write), :class:`~mlops_magic.errors.StoreUnavailable`
(locked too long, unreachable) or :class:`~mlops_magic.errors.StoreError`, with
the driver's exception as the cause.
"""

from __future__ import annotations

import random
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .._version import __version__
from ..errors import StoreConflict, StoreDuplicate, StoreError, StoreUnavailable, StoreVersionError
from . import schema

T = TypeVar("T")
Row = Any  # sqlite3.Row or a mapping with name access


class Transaction(ABC):
    """Statements issued inside one atomic write."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement that changes rows; how many it changed (retention reports what it freed)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None


class Database(ABC):
    """What every backend offers: reads, atomic writes, and transactions that survive contention."""

    dialect: str = "abstract"
    url: str = ""

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Transaction]: ...

    @abstractmethod
    def close(self) -> None: ...

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @property
    def display_url(self) -> str:
        """The URL to show people: the same as :attr:`url` without any password."""
        return self.url

    def change_marker(self) -> str | None:
        """A value that differs whenever anything was committed to the store since it was last read,
        from this process or any other (None: this backend cannot tell, so every read must look).

        It may also differ when nothing a reader cares about changed (any table, any commit); it never
        stays the same across a commit. Cheap (microseconds to one round trip): what lets a poll that
        finds nothing new answer "unchanged" without reading the tables."""
        return None

    def write(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement in its own transaction; returns the new row id where there is one."""
        with self.transaction() as tx:
            return tx.execute(sql, params)

    def run_in_transaction(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` atomically, as one transaction that contention cannot break.

        This default (SQLite's) takes the write lock before ``fn`` runs, so ``fn`` runs once; a backend
        whose transactions can fail on contention (PostgreSQL's serialization failures) runs ``fn`` again.
        """
        with self.transaction() as tx:
            return fn(tx)


class _SQLiteTx(Transaction):
    def __init__(self, conn: sqlite3.Connection, serial: frozenset[str]) -> None:
        self._conn = conn
        self._serial = serial

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The new row's id for an INSERT into a table with a serial id, else None (as PostgreSQL answers)."""
        rowid = self._conn.execute(sql, params).lastrowid
        return rowid if schema.inserts_into(sql) in self._serial else None

    def execute_count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self._conn.execute(sql, params).rowcount)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()


Reader = Database | Transaction  # what a table's read functions accept: inside a transaction or not


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def store_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """The error that crosses the seam for a sqlite3 one (raise it ``from exc``)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if isinstance(exc, sqlite3.IntegrityError):  # "UNIQUE constraint failed: …" (a PRIMARY KEY says it too)
        kind = StoreDuplicate if first.upper().startswith("UNIQUE") else StoreConflict
        return kind(f"the store at {path} refused a write: {first}")
    if _is_busy(exc):
        return StoreUnavailable(f"the store at {path} stayed locked by another writer: {first}")
    if "readonly" in first.lower() or "unable to open" in first.lower():
        return StoreUnavailable(f"the store at {path} is not writable ({first}); fix its permissions or point "
                                "MLOPS_STORE at a writable folder")
    if "disk i/o" in first.lower():
        return StoreUnavailable(f"the store at {path} cannot be read: {first}")
    return StoreError(f"the store at {path} failed: {first}")


class SQLiteDatabase(Database):
    """SQLite in WAL mode: readers never block the writer; writers queue on a busy timeout.

    Writes take the lock up front (``BEGIN IMMEDIATE``) so two writers never
    deadlock upgrading a read lock; a busy error that still escapes SQLite's own
    timeout on a read, a ``BEGIN`` or a ``COMMIT`` is tried again with jittered
    backoff before it reaches anyone (statements inside a transaction never see
    one: the lock is already held).
    """

    dialect = "sqlite"
    BUSY_TIMEOUT_MS = 30_000
    RETRIES = 50

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._lock = threading.RLock()
        self._serial = schema.serial_tables(schema.MIGRATIONS)
        self._token = secrets.token_hex(4)  # this connection's: its counters mean nothing to another one
        exists = self.path.exists()
        if not exists and not create:
            raise StoreError(f"no store at {self.path}; create one with `mlops init`")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=self.BUSY_TIMEOUT_MS / 1000
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the store at {self.path} ({exc}); choose a writable place with "
                "MLOPS_STORE=/path or `mlops init --store URL`"
            ) from None
        self._conn.row_factory = sqlite3.Row
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if "readonly" in str(exc).lower() or "unable to open" in str(exc).lower():
                raise store_error(exc, self.path) from None
            raise StoreError(f"the store at {self.path} is not a readable mlops database ({exc})") from None
        except StoreError:
            self._conn.close()
            raise

    def _prepare(self) -> None:
        """Version check, pragmas and migrations; retried while another process is creating the same store.

        Switching a new file to WAL and migrating it need brief exclusive locks, and SQLite
        answers "database is locked" to a racing opener without always waiting on the busy timeout.
        """

        def prepare() -> None:
            self._check_version_before_writing()
            self._conn.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()

        self._while_busy(prepare)

    def _while_busy(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, retrying with jittered backoff while SQLite reports the database busy or locked."""
        for attempt in range(self.RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == self.RETRIES - 1:
                    raise
                _backoff(attempt)
        raise AssertionError("unreachable")

    # -- schema -------------------------------------------------------------------------------
    def _stored_version(self) -> int:
        has_meta = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return 0
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _check_version_before_writing(self) -> None:
        version = self._stored_version()
        if version > schema.SCHEMA_VERSION:
            raise StoreVersionError(
                f"the store at {self.path} has schema version {version}, newer than this mlops-magic "
                f"{__version__} reads (up to {schema.SCHEMA_VERSION}); upgrade with "
                "`pip install -U mlops-magic`. The store was not changed."
            )

    def _migrate(self) -> None:
        if self._stored_version() == schema.SCHEMA_VERSION:
            return
        with self.transaction() as tx:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            tx.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = tx.query_one("SELECT value FROM meta WHERE key = 'schema_version'")
            current = int(row[0]) if row else 0
            if current > schema.SCHEMA_VERSION:
                raise StoreVersionError(f"the store at {self.path} was upgraded by a newer mlops-magic")
            for number in range(current, schema.SCHEMA_VERSION):
                for statement in schema.statements(
                    schema.MIGRATIONS[number], "INTEGER PRIMARY KEY"
                ):
                    tx.execute(statement)
            tx.execute(schema.RECORD_VERSION, (str(schema.SCHEMA_VERSION),))

    # -- access -------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            try:
                return self._while_busy(lambda: self._conn.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from exc

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._begin()
            try:
                yield _SQLiteTx(self._conn, self._serial)
            except BaseException as exc:
                self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise store_error(exc, self.path) from exc
                raise
            else:
                self._commit()

    def _begin(self) -> None:
        try:
            self._while_busy(lambda: self._conn.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc

    def _commit(self) -> None:
        try:
            self._while_busy(lambda: self._conn.execute("COMMIT"))
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise store_error(exc, self.path) from exc

    def write(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """One statement is its own transaction in autocommit mode: atomic without ``BEGIN``/``COMMIT``.

        A writing statement takes the write lock before it reads anything (waiting on the busy timeout
        as ``BEGIN IMMEDIATE`` does), so this is the same transaction in one call instead of three, the
        most of what a single ``log_metric`` costs beyond its commit."""
        with self._lock:
            try:
                rowid = self._while_busy(lambda: self._conn.execute(sql, params).lastrowid)
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from exc
        return rowid if schema.inserts_into(sql) in self._serial else None

    def change_marker(self) -> str:
        """``PRAGMA data_version`` moves when another connection (any process) commits, ``total_changes``
        when this one writes; both count per connection, hence the connection's own token."""
        with self._lock:
            try:
                row = self._while_busy(lambda: self._conn.execute("PRAGMA data_version").fetchone())
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from exc
            return f"{self._token}:{row[0]}:{self._conn.total_changes}"

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.002 * (2 ** min(attempt, 8))) * (0.5 + random.random()))

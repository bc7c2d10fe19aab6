"""PostgreSQL's side of the portable SQL: statements translated for psycopg, rows that act like sqlite3's.

The table modules write ``?`` placeholders and ``{serial}`` keys; :func:`translate` turns ``?`` into
``%s`` and a literal ``%`` into ``%%`` (string literals, quoted identifiers and comments are left alone,
so a ``?`` inside a quoted string stays a ``?``), ``{serial}`` into ``BIGSERIAL PRIMARY KEY``, and adds
``RETURNING id`` to an INSERT into a table with a serial ``id`` (read from the migrations), so the new
row's id is answered as SQLite's ``lastrowid`` is. :class:`PgRow` answers ``row[0]``, ``row["name"]``
and ``keys()``. Python booleans are sent as 0/1, since the schema keeps flags in INTEGER columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from . import schema

SERIAL = "BIGSERIAL PRIMARY KEY"


# -- SQL translation ------------------------------------------------------------------------------
def to_pyformat(sql: str) -> str:
    """``?`` → ``%s`` and ``%`` → ``%%`` outside quotes and comments; ``%`` → ``%%`` inside them too."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):  # a literal or a quoted identifier; a doubled quote stays inside it
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1].replace("%", "%%"))
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j].replace("%", "%%"))
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(sql[i:j].replace("%", "%%"))
            i = j
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def translate(sql: str, returning_tables: frozenset[str] = frozenset()) -> tuple[str, bool]:
    """The statement for psycopg, and whether it returns the new row's id."""
    text = to_pyformat(sql.replace("{serial}", SERIAL)).rstrip().rstrip(";")
    if schema.inserts_into(text) in returning_tables and not re.search(r"\bRETURNING\b", text, re.I):
        return text + " RETURNING id", True
    return text, False


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def bind_params(params: Sequence[Any] | None) -> list[Any]:
    return [_param(v) for v in (params or ())]


# -- rows: index and name access, like sqlite3.Row -------------------------------------------------
class PgRow(tuple):
    """A result row: a tuple that also answers ``row["column"]`` and ``keys()``."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}  # noqa: RUF012 - each subclass gets its own

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                try:
                    key = self._index[key.lower()]
                except KeyError:
                    raise IndexError(f"no column named {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
        index.setdefault(name.lower(), i)
    return type("PgRow", (PgRow,), {"__slots__": (), "_names": names, "_index": index})


def row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    desc = cursor.description
    if desc is None:
        return tuple  # type: ignore[return-value]
    cls = _row_class(tuple(d.name for d in desc))
    return cls

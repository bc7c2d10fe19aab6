"""What every table module of the store shares: JSON columns, checked names, id chunks, prefix matches.

:func:`starts_with` (and :func:`ends_with`) is the one way a prefix or folder match is written: a run-id
prefix, a notebook folder being renamed, a notebook filter, a host's runs. LIKE treats ``%`` and ``_``
as wildcards, so a folder named ``a_b`` must not match ``axb/…`` and a prefix holding ``%`` must match
nothing but itself: :func:`like_escape` escapes them and ``\\`` itself, and every statement spells the
escape character out (:data:`LIKE_ESCAPE`; SQLite has no default one). SQLite's LIKE also ignores ASCII
case where PostgreSQL's does not, so the condition adds an exact ``substr`` comparison: both backends
answer the same, and PostgreSQL can still use an index for the LIKE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InvalidInputError

MAX_NAME = 250  # keys and names longer than this are refused with a clear message
_CONTROL = re.compile(r"[\x00-\x1f]")

#: The escape clause every ``LIKE ?`` whose pattern comes from :func:`like_escape` carries.
LIKE_ESCAPE = "ESCAPE '\\'"


def like_escape(text: str) -> str:
    """``text`` as a LIKE pattern that matches only itself (for ``LIKE ? ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def starts_with(column: str, prefix: str) -> tuple[str, list[Any]]:
    """A condition (and its parameters) true where ``column`` starts with ``prefix``, exactly, on every backend."""
    return (f"({column} LIKE ? {LIKE_ESCAPE} AND substr({column}, 1, ?) = ?)",
            [like_escape(prefix) + "%", len(prefix), prefix])


def ends_with(column: str, suffix: str) -> tuple[str, list[Any]]:
    """A condition (and its parameters) true where ``column`` ends with ``suffix``, exactly, on every backend."""
    return (f"({column} LIKE ? {LIKE_ESCAPE} AND substr({column}, length({column}) - ?) = ?)",
            ["%" + like_escape(suffix), len(suffix) - 1, suffix])


def dumps(value: Any) -> str:
    """A JSON column's text (values JSON cannot say, such as dates, as their ``str``)."""
    return json.dumps(value, default=str, allow_nan=True)


def loads(text: str | None, default: Any = None) -> Any:
    """A JSON column's value; text that is not JSON comes back as it is."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return text


def chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    """``items`` in slices small enough for one ``IN (?, …)`` list on every backend."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def marks(count: int) -> str:
    """``?,?,?`` for an ``IN`` list of ``count`` values."""
    return ",".join("?" * count)


def changed_in_chunks(tx: Any, statement: str, ids: Sequence[Any]) -> int:
    """Run ``statement`` (whose ``{ids}`` is an ``IN`` list) once per chunk of ``ids``; rows changed in all.
    Each table's owner passes its own statement: retention deletes a batch of runs this way."""
    return sum(tx.execute_count(statement.format(ids=marks(len(chunk))), chunk) for chunk in chunks(list(ids)))


_checked_names: set[str] = set()  # metric keys repeat; validating each once keeps batches fast


def check_name(kind: str, name: str) -> str:
    """Keys are any non-empty unicode up to MAX_NAME characters, without control characters."""
    if name in _checked_names:
        return name
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{kind} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"{kind} is {len(name)} characters long; the limit is {MAX_NAME}")
    if _CONTROL.search(name):
        raise InvalidInputError(f"{kind} {name[:40]!r} contains control characters")
    if len(_checked_names) < 100_000:
        _checked_names.add(name)
    return name


def checked_names(names: Iterable[str]) -> bool:
    """Whether every one of ``names`` passed :func:`check_name` before (a batch of known keys needs no check)."""
    return _checked_names.issuperset(names)

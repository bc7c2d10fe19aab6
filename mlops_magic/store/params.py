"""The ``params`` and ``tags`` tables: a run's key-values (parameters as JSON, tags as text).

A parameter logged again replaces its value and remembers the stage that logged it last; parameters a
headless run was started with are inserted with the run (``stage_id`` NULL: the run's own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..entities import says_no
from .columns import changed_in_chunks, check_name, chunks, dumps, loads, marks
from .db import Reader, Transaction

_MISSING = object()
_IMMUTABLE = (str, int, float, bool)  # a decoded list or dict is each run's own: never shared


def insert_params(tx: Transaction, run_id: str, params: Mapping[str, Any]) -> None:
    """The parameters a run starts with (a new run: nothing to replace)."""
    if params:
        tx.executemany("INSERT INTO params (run_id, key, value, stage_id) VALUES (?,?,?,NULL)",
                       [(run_id, check_name("parameter name", k), dumps(v)) for k, v in params.items()])


def upsert_params(tx: Transaction, run_id: str, params: Mapping[str, Any], stage_id: int | None = None) -> None:
    rows = [(run_id, check_name("parameter name", k), dumps(v), stage_id) for k, v in params.items()]
    tx.executemany("INSERT INTO params (run_id, key, value, stage_id) VALUES (?,?,?,?) "
                   "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, stage_id = excluded.stage_id", rows)


def upsert_tags(tx: Transaction, run_id: str, tags: Mapping[str, Any]) -> None:
    rows = [(run_id, check_name("tag name", k), str(v)) for k, v in tags.items()]
    tx.executemany("INSERT INTO tags (run_id, key, value) VALUES (?,?,?) "
                   "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", rows)


def params_of(q: Reader, run_ids: Sequence[str], *, every_run: bool = False) -> dict[str, dict[str, Any]]:
    """run id -> {key: value} for each of ``run_ids`` (an empty dict for a run without parameters).

    ``every_run``: the ids are all the store's runs, so the table is read in one scan (no ``IN`` lists).
    """
    out: dict[str, dict[str, Any]] = {i: {} for i in run_ids}
    scalars: dict[str, Any] = {}  # JSON text -> its value, when immutable: runs repeat their values
    selects = [("SELECT run_id, key, value FROM params", [])] if every_run else \
        [(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks(len(c))})", c) for c in chunks(list(run_ids))]
    for sql, args in selects:
        for run_id, key, text in q.query(sql, args):
            value = scalars.get(text, _MISSING)
            if value is _MISSING:
                value = loads(text)
                if value is None or type(value) in _IMMUTABLE:
                    scalars[text] = value
            params = out.get(run_id)
            if params is not None:  # (a run created after the ids were read)
                params[key] = value
    return out


def tags_of(q: Reader, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """run id -> {key: value} for each of ``run_ids``."""
    out: dict[str, dict[str, str]] = {i: {} for i in run_ids}
    for chunk in chunks(list(run_ids)):
        for r in q.query(f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks(len(chunk))})", chunk):
            out[r[0]][r[1]] = r[2]
    return out


def tag(q: Reader, run_id: str, key: str) -> str | None:
    row = q.query_one("SELECT value FROM tags WHERE run_id = ? AND key = ?", (run_id, key))
    return row[0] if row else None


def params_with_stages(q: Reader, run_id: str) -> dict[str, tuple[Any, int | None]]:
    """Every parameter of a run with the stage that logged it last (None: the run's own)."""
    rows = q.query("SELECT key, value, stage_id FROM params WHERE run_id = ?", (run_id,))
    return {r[0]: (loads(r[1]), r[2]) for r in rows}


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: the params and tags of these runs; rows removed."""
    return (changed_in_chunks(tx, "DELETE FROM params WHERE run_id IN ({ids})", run_ids)
            + changed_in_chunks(tx, "DELETE FROM tags WHERE run_id IN ({ids})", run_ids))


#: The tag that marks a run retention must keep (``mlops runs keep RUN``, ``%mlops tag mlops.keep=true``).
KEEP_TAG = "mlops.keep"


def kept_runs(q: Reader) -> set[str]:
    """Runs tagged :data:`KEEP_TAG` with a value that does not say no."""
    rows = q.query("SELECT run_id, value FROM tags WHERE key = ?", (KEEP_TAG,))
    return {r[0] for r in rows if str(r[1]).strip() and not says_no(r[1])}

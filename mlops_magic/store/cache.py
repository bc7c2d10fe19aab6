"""The stage cache's tables: ``cache_entries``, ``cache_objects`` and ``cached_stages``.

An entry is what a stage's run left to restore it by (a manifest artifact naming the objects that hold
its variables, output files and cell outputs); ``cache_objects`` lists the artifact digests each entry
uses, so evicting an entry removes only files no other entry names. ``cached_stages`` is the flag the
faces join to a stage row: this stage was restored from run X stage Y and saved N seconds.

The entry's key is its primary key: two processes that computed the same stage insert it once (the
later insert finds the row and keeps it), whichever finishes first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .columns import changed_in_chunks
from .db import Reader, Row, Transaction

_ENTRY = ("key, manifest, size, run_id, stage_id, stage, notebook, seconds, created, last_used, hits")
_RESTORE = ("stage_id, run_id, key, source_run_id, source_stage_id, source_seconds, restore_seconds, "
            "restored, created")


# -- entries ----------------------------------------------------------------------------------------------
def insert_entry(tx: Transaction, values: dict[str, Any], digests: Sequence[str]) -> bool:
    """Record an entry and the objects it uses; False when the key was already there (another writer won)."""
    tx.execute(
        f"INSERT INTO cache_entries ({_ENTRY}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING",
        [values["key"], values["manifest"], values["size"], values["run_id"], values["stage_id"], values["stage"],
         values.get("notebook"), values["seconds"], values["created"], values["created"], 0])
    row = tx.query_one("SELECT manifest, stage_id FROM cache_entries WHERE key = ?", (values["key"],))
    if row is None or row[0] != values["manifest"] or row[1] != values["stage_id"]:
        return False
    for digest in sorted(set(digests)):
        tx.execute("INSERT INTO cache_objects (key, digest) VALUES (?,?) ON CONFLICT (key, digest) DO NOTHING",
                   (values["key"], digest))
    return True


def entry(q: Reader, key: str) -> Row | None:
    return q.query_one(f"SELECT {_ENTRY} FROM cache_entries WHERE key = ?", (key,))


def touch_entry(tx: Transaction, key: str, now: float) -> None:
    """A hit: the entry is the most recently used now (least-recently-used eviction reads this)."""
    tx.execute("UPDATE cache_entries SET last_used = ?, hits = hits + 1 WHERE key = ?", (now, key))


def entry_rows(q: Reader, *, used_before: float | None = None, limit: int | None = None) -> list[Row]:
    """Entries, most recently used first; ``used_before``: only those not used since that time."""
    sql = f"SELECT {_ENTRY} FROM cache_entries"
    args: list[Any] = []
    if used_before is not None:
        sql += " WHERE last_used < ?"
        args.append(used_before)
    sql += " ORDER BY last_used DESC, key"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return q.query(sql, args)


def total_size(q: Reader) -> int:
    row = q.query_one("SELECT COALESCE(SUM(size), 0) FROM cache_entries")
    return int(row[0]) if row else 0


def least_recently_used(q: Reader) -> list[tuple[str, int]]:
    """(key, size) of every entry, least recently used first: the eviction order."""
    return [(r[0], int(r[1])) for r in q.query("SELECT key, size FROM cache_entries ORDER BY last_used, key")]


def delete_entries(tx: Transaction, keys: Sequence[str]) -> list[str]:
    """Remove these entries; returns the object digests no remaining entry uses (their files may go)."""
    freed: set[str] = set()
    for key in keys:
        freed |= {r[0] for r in tx.query("SELECT digest FROM cache_objects WHERE key = ?", (key,))}
        tx.execute("DELETE FROM cache_objects WHERE key = ?", (key,))
        tx.execute("DELETE FROM cache_entries WHERE key = ?", (key,))
    still = {r[0] for d in sorted(freed) for r in tx.query("SELECT digest FROM cache_objects WHERE digest = ?", (d,))}
    return sorted(freed - still)


def digests(q: Reader) -> set[str]:
    """Every artifact digest the cache names (manifests and the objects they list): retention keeps them,
    the cache evicts its own."""
    found = {r[0] for r in q.query("SELECT manifest FROM cache_entries")}
    return found | {r[0] for r in q.query("SELECT DISTINCT digest FROM cache_objects")}


def object_in_use(q: Reader, digest: str) -> bool:
    return q.query_one("SELECT 1 FROM cache_objects WHERE digest = ?", (digest,)) is not None


# -- stages restored from an entry ---------------------------------------------------------------------------
def record_restore(tx: Transaction, values: dict[str, Any]) -> None:
    """A stage was restored from an entry. A stage spread over cells may restore several: their times add up."""
    tx.execute(
        f"INSERT INTO cached_stages ({_RESTORE}) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (stage_id) DO UPDATE SET "
        "source_seconds = cached_stages.source_seconds + excluded.source_seconds, "
        "restore_seconds = cached_stages.restore_seconds + excluded.restore_seconds",
        [values["stage_id"], values["run_id"], values["key"], values["source_run_id"], values["source_stage_id"],
         values["source_seconds"], values["restore_seconds"], json.dumps(values.get("restored") or []),
         values["created"]])


def restores(q: Reader, *, run_ids: Sequence[str] = (), stage_ids: Sequence[int] = ()) -> list[dict[str, Any]]:
    """The restores of these runs' (or these stages') stages, as dicts, oldest first."""
    out: list[dict[str, Any]] = []
    for column, values in (("run_id", sorted(set(run_ids))), ("stage_id", sorted(set(stage_ids)))):
        for i in range(0, len(values), 500):
            chunk = list(values[i : i + 500])
            rows = q.query(f"SELECT {_RESTORE} FROM cached_stages WHERE {column} IN ({','.join('?' * len(chunk))})",
                           chunk)
            out += [_restore(r) for r in rows]
    unique = {r["stage_id"]: r for r in out}
    return sorted(unique.values(), key=lambda r: (r["created"], r["stage_id"]))


def delete_restores_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention removing runs: the restore records of their stages go with them (the entries stay: they
    hold their own bytes, and the cache evicts them by use)."""
    return changed_in_chunks(tx, "DELETE FROM cached_stages WHERE run_id IN ({ids})", run_ids)


def _restore(r: Row) -> dict[str, Any]:
    try:
        restored = json.loads(r[7] or "[]")
    except ValueError:
        restored = []
    return {"stage_id": int(r[0]), "run_id": r[1], "key": r[2], "source_run_id": r[3],
            "source_stage_id": int(r[4]), "source_seconds": float(r[5]), "restore_seconds": float(r[6]),
            "restored": restored, "created": float(r[8])}

"""The registry's tables: ``models``, ``model_versions``, ``aliases``, ``alias_history``, ``gate_results``.

Plain functions over a :data:`~.db.Reader` (reads) or a :class:`~.db.Transaction` (writes), so the
registry's decisions (the next version number, a promotion compared against the champion) run inside
one transaction that the domain code opens, and the SQL stays here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..entities import Fingerprint
from . import events
from .columns import changed_in_chunks
from .db import Reader, Row, Transaction
from .fingerprints import insert as insert_fingerprint
from .processes import current_user, who

VERSION_COLUMNS = ("model", "version", "created", "flavour", "format", "model_type", "digest", "size",
                   "trusted_types", "input_schema", "metrics", "gates", "gates_passed", "run_id", "stage_id",
                   "data_fingerprint", "lineage", "environment", "description")
_SELECT_VERSIONS = f"SELECT {', '.join(VERSION_COLUMNS)} FROM model_versions"


# -- models and versions ------------------------------------------------------------------------------
def model_exists(q: Reader, name: str) -> bool:
    return q.query_one("SELECT 1 FROM models WHERE name = ?", (name,)) is not None


def model_names(q: Reader, limit: int | None = None) -> list[str]:
    sql = "SELECT name FROM models ORDER BY name" + (f" LIMIT {int(limit)}" if limit else "")
    return [r[0] for r in q.query(sql)]


def version_exists(q: Reader, name: str, version: int) -> bool:
    return q.query_one("SELECT 1 FROM model_versions WHERE model = ? AND version = ?", (name, version)) is not None


def latest_version(q: Reader, name: str) -> int | None:
    row = q.query_one("SELECT MAX(version) FROM model_versions WHERE model = ?", (name,))
    return int(row[0]) if row and row[0] is not None else None


def version_rows(q: Reader, *, model: str | None = None, version: int | None = None,
                 run_id: str | None = None) -> list[Row]:
    """``model_versions`` rows (named columns) matching every filter given, by model then version."""
    where, args = [], []
    for column, value in (("model", model), ("version", version), ("run_id", run_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = _SELECT_VERSIONS + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY model, version"
    return q.query(sql, args)


def version_rows_of_runs(q: Reader, run_ids: Sequence[str]) -> list[Row]:
    """``model_versions`` rows registered by any of these runs (lineage), by model then version."""
    rows: list[Row] = []
    ids = sorted(set(run_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows += q.query(f"{_SELECT_VERSIONS} WHERE run_id IN ({','.join('?' * len(chunk))})", chunk)
    return sorted(rows, key=lambda r: (r["model"], r["version"]))


def insert_version(tx: Transaction, name: str, values: dict[str, Any], *, created: float,
                   data_fingerprint: Fingerprint | None = None, version: int | None = None) -> int:
    """Record the next version of ``name`` (numbers are allocated inside ``tx``), with its event.

    ``version`` keeps a given number instead (a packaged copy of one version keeps its number); the
    unique (model, version) constraint refuses one that is taken."""
    tx.execute("INSERT INTO models (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, created))
    version = version if version is not None else (latest_version(tx, name) or 0) + 1
    row = {**values, "model": name, "version": version, "created": created}
    marks = ",".join("?" * len(VERSION_COLUMNS))
    tx.execute(f"INSERT INTO model_versions ({', '.join(VERSION_COLUMNS)}) VALUES ({marks})",
               [row.get(c) for c in VERSION_COLUMNS])
    run_id = values.get("run_id")
    if data_fingerprint is not None and run_id:  # the registering stage read this data: findable by digest
        insert_fingerprint(tx, run_id, data_fingerprint, stage_id=values.get("stage_id"), created=created)
    events.insert(tx, "model-registered", subject=name, run_id=run_id, payload={"version": version},
                  created=created)
    return version


# -- aliases --------------------------------------------------------------------------------------------
def alias_version(q: Reader, name: str, alias: str) -> int | None:
    row = q.query_one("SELECT version FROM aliases WHERE model = ? AND alias = ?", (name, alias))
    return int(row[0]) if row else None


def aliases_of(q: Reader, names: Sequence[str]) -> list[tuple[str, int, str]]:
    """(model, version, alias) for every alias of these models, by alias name."""
    if not names:
        return []
    rows = q.query(f"SELECT model, version, alias FROM aliases WHERE model IN ({','.join('?' * len(names))}) "
                   "ORDER BY alias", list(names))
    return [(r[0], int(r[1]), r[2]) for r in rows]


def record_alias_change(tx: Transaction, name: str, alias: str, action: str, old: int | None, new: int | None,
                        *, moved: bool, run_id: str | None, reason: str | None,
                        comparison: dict[str, Any] | None, created: float) -> None:
    """The audit row of a decision (with who made it: :func:`current_user`) and, when the alias moved, the
    move itself and its event (saying ``by`` whom, host included: alerts name who moved production)."""
    user = current_user()
    tx.execute(
        "INSERT INTO alias_history (model, alias, action, from_version, to_version, moved, run_id, reason, "
        "comparison, created, username) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (name, alias, action, old, new, int(moved), run_id, reason,
         json.dumps(comparison) if comparison else None, created, user))
    if moved:
        tx.execute("INSERT INTO aliases (model, alias, version, updated) VALUES (?,?,?,?) "
                   "ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, "
                   "updated = excluded.updated", (name, alias, new, created))
        events.insert(tx, "alias-moved", subject=name, run_id=run_id,
                      payload={"alias": alias, "from": old, "to": new, "action": action, "by": who(),
                               "user": user, "reason": reason, "comparison": comparison}, created=created)


def alias_moves(q: Reader, name: str, alias: str) -> list[tuple[str, int]]:
    """(action, to_version) of every move of one alias, oldest first: what rollback unwinds."""
    rows = q.query("SELECT action, to_version FROM alias_history WHERE model = ? AND alias = ? AND moved = 1 "
                   "ORDER BY id", (name, alias))
    return [(r[0], int(r[1])) for r in rows]


def alias_history_rows(q: Reader, name: str, alias: str | None = None, *, limit: int | None = None) -> list[Row]:
    """Audit rows, newest first: model, alias, action, from, to, moved, created, run_id, reason, comparison,
    username."""
    sql = ("SELECT model, alias, action, from_version, to_version, moved, created, run_id, reason, comparison, "
           "username FROM alias_history WHERE model = ?")
    args: list[Any] = [name]
    if alias:
        sql += " AND alias = ?"
        args.append(alias)
    sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
    return q.query(sql, args)


# -- gate results -------------------------------------------------------------------------------------
def insert_gate_result(tx: Transaction, run_id: str | None, stage_id: int | None, expression: str, passed: bool,
                       soft: bool, clauses: list[dict[str, Any]], created: float) -> None:
    """Record one gate check; a failed one also becomes a ``gate-failed`` event in the same transaction."""
    tx.execute("INSERT INTO gate_results (run_id, stage_id, expression, passed, soft, clauses, created) "
               "VALUES (?,?,?,?,?,?,?)",
               (run_id, stage_id, expression, int(passed), int(soft), json.dumps(clauses), created))
    if not passed:
        events.insert(tx, "gate-failed", run_id=run_id, created=created, payload={
            "expression": expression, "soft": soft, "stage_id": stage_id,
            "failed": [c for c in clauses if not c.get("passed")]})  # not a run status


def gate_rows(q: Reader, run_id: str) -> list[tuple[str, bool, bool, list[dict[str, Any]], int | None]]:
    """(expression, passed, soft, clauses, stage_id) of a run's gate checks, oldest first."""
    rows = q.query("SELECT expression, passed, soft, clauses, stage_id FROM gate_results WHERE run_id = ? "
                   "ORDER BY id", (run_id,))
    return [(r[0], bool(r[1]), bool(r[2]), json.loads(r[3]), r[4]) for r in rows]


def delete_gate_results_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: the gate results of these runs; rows removed."""
    return changed_in_chunks(tx, "DELETE FROM gate_results WHERE run_id IN ({ids})", run_ids)


def version_references(q: Reader) -> tuple[set[str], set[str]]:
    """(runs, model file digests) that model versions name: retention keeps both, whatever their age."""
    rows = q.query("SELECT run_id, digest FROM model_versions")
    return {r[0] for r in rows if r[0]}, {r[1] for r in rows if r[1]}

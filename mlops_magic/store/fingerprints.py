"""The ``fingerprints`` table: the data a stage read or wrote (or a registered model was trained on), by digest.

Lineage is a join on these digests, a fixed number of queries whatever the size: :func:`uses` finds
every stage that touched a digest, :func:`of_runs` every fingerprint of a set of runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from ..entities import Fingerprint, utc_from_ts
from .columns import changed_in_chunks, chunks, dumps, loads, marks, starts_with
from .db import Reader, Transaction


def insert(tx: Transaction, run_id: str, fp: Fingerprint, *, stage_id: int | None = None,
           created: float | None = None) -> None:
    """One row: ``stage_id`` (else the fingerprint's own) is the stage that read or wrote the data."""
    tx.execute(
        "INSERT INTO fingerprints (run_id, stage_id, name, role, kind, digest, rows, size, schema, created) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        (run_id, stage_id if stage_id is not None else fp.stage_id, fp.name, fp.role, fp.kind, fp.digest,
         fp.rows, fp.size, dumps(fp.schema) if fp.schema is not None else None,
         time.time() if created is None else created))


def rows(q: Reader, where: str, args: Sequence[Any]) -> list[Fingerprint]:
    found = q.query(f"SELECT digest, kind, rows, schema, size, name, role, stage_id FROM fingerprints {where}", args)
    return [Fingerprint(digest=r[0], kind=r[1], rows=r[2], schema=loads(r[3]), size=r[4], name=r[5],
                        role=r[6], stage_id=r[7]) for r in found]


def of_run(q: Reader, run_id: str) -> list[Fingerprint]:
    return rows(q, "WHERE run_id = ? ORDER BY id", [run_id])


def of_stages(q: Reader, stage_ids: Sequence[int]) -> dict[int, list[Fingerprint]]:
    """stage id -> its fingerprints, for each of ``stage_ids`` that has any."""
    out: dict[int, list[Fingerprint]] = {}
    for chunk in chunks(list(stage_ids)):
        for fp in rows(q, f"WHERE stage_id IN ({marks(len(chunk))})", chunk):
            out.setdefault(fp.stage_id or 0, []).append(fp)
    return out


def uses(q: Reader, digests: Sequence[str]) -> list[dict[str, Any]]:
    """Every stage that read or wrote data with one of these digests, oldest first (lineage by content)."""
    if not digests:
        return []
    found = q.query(
        "SELECT f.digest, f.name, f.role, f.rows, f.run_id, s.name, s.kind, f.created, f.schema "
        "FROM fingerprints f "
        f"LEFT JOIN stage_runs s ON s.id = f.stage_id WHERE f.digest IN ({marks(len(digests))}) "
        "ORDER BY f.created", list(digests))
    return [{"digest": r[0], "name": r[1], "role": r[2], "rows": r[3], "run_id": r[4], "stage": r[5],
             "kind": r[6], "created": utc_from_ts(r[7]), "schema": loads(r[8])} for r in found]


def digests(q: Reader, prefix: str) -> list[str]:
    """The distinct recorded data digests starting with ``prefix`` (hex), at most 2: a unique prefix or not."""
    if not re.fullmatch(r"[0-9a-f]{1,64}", prefix or ""):
        return []
    condition, args = starts_with("digest", prefix)
    return [r[0] for r in q.query(f"SELECT DISTINCT digest FROM fingerprints WHERE {condition} LIMIT 2", args)]


def of_runs(q: Reader, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every fingerprint of these runs with its stage's name and kind, oldest first."""
    out: list[dict[str, Any]] = []
    for chunk in chunks(sorted(set(run_ids))):
        found = q.query(
            "SELECT f.digest, f.name, f.role, f.rows, f.run_id, s.name, s.kind, f.created, f.kind, f.schema "
            "FROM fingerprints f LEFT JOIN stage_runs s ON s.id = f.stage_id "
            f"WHERE f.run_id IN ({marks(len(chunk))})", chunk)
        out += [{"digest": r[0], "name": r[1], "role": r[2], "rows": r[3], "run_id": r[4], "stage": r[5],
                 "kind": r[6], "created": utc_from_ts(r[7]), "data_kind": r[8], "schema": loads(r[9])}
                for r in found]
    return sorted(out, key=lambda r: r["created"])


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: the fingerprints these runs took; rows removed."""
    return changed_in_chunks(tx, "DELETE FROM fingerprints WHERE run_id IN ({ids})", run_ids)

"""The ``artifacts`` table: a run's artifacts by name, each pointing at content-addressed bytes.

A row gives a run's artifact its name; logging the same name again points it at the new bytes. The
bytes themselves live behind :class:`~.artifact_files.ArtifactStore` (a folder, or an object store),
named by their SHA-256, so the same bytes are stored once whichever runs name them.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from typing import Any

from ..entities import Artifact, utc_from_ts
from .artifact_files import ArtifactStore, LocalArtifactStore
from .columns import changed_in_chunks
from .db import Reader, Transaction

__all__ = ["ArtifactStore", "LocalArtifactStore", "delete_of_runs", "digests", "rows", "upsert"]


def upsert(tx: Transaction, run_id: str, name: str, digest: str, size: int, stage_id: int | None,
           created: float | None = None) -> None:
    """Name a file of a run (default: created now; an imported run's files keep the time they were made)."""
    tx.execute(
        "INSERT INTO artifacts (run_id, name, digest, size, created, stage_id) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (run_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size, "
        "created = excluded.created, stage_id = excluded.stage_id",
        (run_id, name, digest, size, time.time() if created is None else created, stage_id))


def rows(q: Reader, files: ArtifactStore, run_id: str, name: str | None = None) -> list[Artifact]:
    """A run's artifacts (or the one named ``name``), oldest first, each with where its bytes live."""
    sql = "SELECT name, digest, size, created, stage_id FROM artifacts WHERE run_id = ?"
    args: list[Any] = [run_id]
    if name is not None:
        sql += " AND name = ?"
        args.append(name)
    return [Artifact(name=r[0], digest=r[1], size=r[2], created=utc_from_ts(r[3]),  # type: ignore[arg-type]
                     path=files.location(r[1]), stage_id=r[4])
            for r in q.query(sql + " ORDER BY created, name", args)]


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Forget the artifacts rows of these runs (retention); the bytes go in the sweep, once unreferenced."""
    return changed_in_chunks(tx, "DELETE FROM artifacts WHERE run_id IN ({ids})", run_ids)


def digests(q: Reader, *, except_runs: Collection[str] = ()) -> set[str]:
    """Every digest a run's artifact names, leaving out the rows of ``except_runs`` (what retention would
    keep once those runs are gone)."""
    if not except_runs:
        return {r[0] for r in q.query("SELECT DISTINCT digest FROM artifacts")}
    return {r[1] for r in q.query("SELECT run_id, digest FROM artifacts") if r[0] not in except_runs}

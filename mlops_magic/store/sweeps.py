"""The ``sweeps`` table: how a sweep (a parent run) drew its points, its selection rule and its best child.

The points themselves are ordinary runs whose ``parent_run_id`` is the sweep's run id (trigger ``sweep``),
so every face that lists, diffs or reports runs shows them unchanged; this row only adds what a run row
cannot say: the search space, the method (grid, random, optuna), the seed, and which child won.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .columns import chunks, dumps, loads, marks
from .db import Reader, Transaction

_COLUMNS = "run_id, notebook, method, space, points, seed, select_rule, best_run_id, best_value, failed, created"


def insert(tx: Transaction, run_id: str, *, notebook: str, method: str, space: dict[str, Any], points: int,
           seed: int | None, select_rule: str | None, created: float) -> None:
    """A new sweep, before any of its points runs."""
    tx.execute(f"INSERT INTO sweeps ({_COLUMNS}) VALUES ({marks(11)})",
               (run_id, notebook, method, dumps(space), int(points), seed, select_rule, None, None, None, created))


def record_outcome(tx: Transaction, run_id: str, *, best_run_id: str | None, best_value: float | None,
                   failed: int) -> None:
    """The sweep's result: the child the rule selected (None when none qualified) and how many points failed."""
    tx.execute("UPDATE sweeps SET best_run_id = ?, best_value = ?, failed = ? WHERE run_id = ?",
               (best_run_id, best_value, int(failed), run_id))


def get(q: Reader, run_id: str) -> dict[str, Any] | None:
    """The sweep whose parent run is ``run_id``, as a dict, or None when that run is no sweep."""
    row = q.query_one(f"SELECT {_COLUMNS} FROM sweeps WHERE run_id = ?", (run_id,))
    if row is None:
        return None
    names = [c.strip() for c in _COLUMNS.split(",")]
    out = {n: row[i] for i, n in enumerate(names)}
    out["space"] = loads(out["space"], {})
    return out


def sweep_ids(q: Reader, run_ids: Sequence[str]) -> set[str]:
    """Which of ``run_ids`` are sweeps (a few queries whatever the count)."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(run_ids))):
        found |= {r[0] for r in q.query(f"SELECT run_id FROM sweeps WHERE run_id IN ({marks(len(chunk))})", chunk)}
    return found

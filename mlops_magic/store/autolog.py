"""The ``autologged`` table: which params, metrics and artifacts of a run autolog recorded, and with what.

Autologged values are ordinary params, metrics and artifacts (every face shows them like any other);
this table only remembers which keys autolog wrote and the value it wrote, so ``%mlops show`` can mark
them and a later autolog knows a key whose value differs was set by the user since (the user's wins).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from .columns import changed_in_chunks, loads
from .db import Reader, Transaction

KINDS = ("param", "metric", "artifact")
#: The source of a metric that measures time (``fit_time``): a run reproduced exactly still differs there.
TIMING = "timing"


def value_text(value: Any) -> str:
    """How a value is kept here: JSON, NaN and infinities included."""
    return json.dumps(value, default=str, allow_nan=True, sort_keys=True)


def mark(tx: Transaction, run_id: str, rows: Iterable[tuple[str, str, int | None, Any, str]]) -> None:
    """Record ``(kind, key, stage_id, value, source)`` rows as autologged (a key's newest value wins)."""
    tx.executemany(
        "INSERT INTO autologged (run_id, kind, key, stage_id, value, source) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (run_id, kind, key) DO UPDATE SET stage_id = excluded.stage_id, value = excluded.value, "
        "source = excluded.source",
        [(run_id, kind, key, stage_id, value_text(value), source) for kind, key, stage_id, value, source in rows])


def marks(q: Reader, run_id: str) -> dict[tuple[str, str], tuple[int | None, Any, str]]:
    """``(kind, key) -> (stage_id, value, source)`` of everything autolog wrote in a run."""
    rows = q.query("SELECT kind, key, stage_id, value, source FROM autologged WHERE run_id = ?", (run_id,))
    return {(r[0], r[1]): (r[2], loads(r[3]), r[4]) for r in rows}


def timing_metrics(q: Reader, run_ids: Iterable[str]) -> set[str]:
    """The metric keys autolog recorded as durations in any of these runs."""
    found: set[str] = set()
    for run_id in run_ids:
        rows = q.query("SELECT key FROM autologged WHERE run_id = ? AND kind = 'metric' AND source = ?",
                       (run_id, TIMING))
        found.update(r[0] for r in rows)
    return found


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: what autolog recorded it wrote for these runs; rows removed."""
    return changed_in_chunks(tx, "DELETE FROM autologged WHERE run_id IN ({ids})", run_ids)

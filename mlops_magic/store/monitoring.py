"""Monitoring's tables: ``reference_profiles``, ``drift_reports`` and ``served_inputs``.

Profiles are written at registration (by the registry) and read by monitors; drift reports by the
monitors; served inputs by ``mlops serve`` and read back as a monitor's current data.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import events
from .db import Reader, Transaction


# -- reference profiles -------------------------------------------------------------------------------
def save_profile(tx: Transaction, model: str, version: int, profile: dict[str, Any], run_id: str | None,
                 *, created: float | None = None) -> None:
    tx.execute(
        "INSERT INTO reference_profiles (model, version, run_id, profile, created) VALUES (?,?,?,?,?) "
        "ON CONFLICT (model, version) DO UPDATE SET profile = excluded.profile, run_id = excluded.run_id",
        (model, int(version), run_id, json.dumps(profile), time.time() if created is None else created))


def profile_of(q: Reader, model: str, version: int) -> dict[str, Any] | None:
    row = q.query_one("SELECT profile FROM reference_profiles WHERE model = ? AND version = ?", (model, version))
    return json.loads(row[0]) if row else None


# -- drift reports --------------------------------------------------------------------------------------
def insert_drift_report(tx: Transaction, report: dict[str, Any], *, drifted: bool, drift_share: float,
                        drifted_columns: list[str], run_id: str | None, stage_id: int | None,
                        model: str | None, version: int | None, reference: str | None) -> int:
    """Store one report; a data-set drift also becomes a ``drift`` event in the same transaction."""
    now = time.time()
    report_id = int(tx.execute(
        "INSERT INTO drift_reports (run_id, stage_id, model, version, reference, drifted, drift_share, "
        "drifted_columns, report, created) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (run_id, stage_id, model, version, reference, int(drifted), drift_share, json.dumps(drifted_columns),
         json.dumps(report), now)))
    if drifted:
        events.insert(tx, "drift", subject=model or reference, run_id=run_id, created=now, payload={
            "model": model, "version": version, "drift_share": drift_share, "columns": drifted_columns,
            "report_id": report_id})
    return report_id


def drift_reports_of_run(q: Reader, run_id: str) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in q.query("SELECT report FROM drift_reports WHERE run_id = ? ORDER BY id",
                                              (run_id,))]


def drift_checks_of_model(q: Reader, model: str) -> list[tuple[float, str | None, int | None, bool, float,
                                                              list[str]]]:
    """(created, run_id, version, drifted, drift_share, drifted_columns) of a model's checks, oldest first."""
    rows = q.query("SELECT created, run_id, version, drifted, drift_share, drifted_columns FROM drift_reports "
                   "WHERE model = ? ORDER BY id", (model,))
    return [(r[0], r[1], r[2], bool(r[3]), r[4], json.loads(r[5])) for r in rows]


def models_with_drift_checks(q: Reader) -> list[str]:
    return [r[0] for r in q.query("SELECT DISTINCT model FROM drift_reports WHERE model IS NOT NULL ORDER BY model")]


# -- served inputs --------------------------------------------------------------------------------------
def append_served(tx: Transaction, model: str, version: int, records: list[dict[str, Any]], *, keep: int,
                  received: float | None = None) -> None:
    """Append served input rows, keeping the newest ``keep`` rows per model."""
    now = time.time() if received is None else received
    tx.executemany("INSERT INTO served_inputs (model, version, received, record) VALUES (?,?,?,?)",
                   [(model, version, now, json.dumps(r, default=str)) for r in records])
    tx.execute("DELETE FROM served_inputs WHERE model = ? AND id <= "
               "(SELECT MAX(id) FROM served_inputs WHERE model = ?) - ?", (model, model, keep))


def served_rows(q: Reader, model: str, limit: int) -> list[tuple[int, float, dict[str, Any]]]:
    """(version, received, record) of the latest ``limit`` served rows of a model, oldest first."""
    rows = q.query("SELECT version, received, record FROM served_inputs WHERE model = ? ORDER BY id DESC LIMIT ?",
                   (model, int(limit)))
    return [(int(r[0]), r[1], json.loads(r[2])) for r in reversed(rows)]


def served_summary(q: Reader, model: str) -> list[tuple[int, int, float, float]]:
    """(version, sampled rows kept, first, last received) per version ``mlops serve`` answered for (lineage)."""
    rows = q.query("SELECT version, COUNT(*), MIN(received), MAX(received) FROM served_inputs WHERE model = ? "
                   "GROUP BY version ORDER BY version", (model,))
    return [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]

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
#: ``json.dumps(value, default=str)`` without building an encoder per call: a served row is encoded per
#: row, and the server's flush writes thousands of them a second.
_as_text = json.JSONEncoder(default=str).encode


def append_served(tx: Transaction, model: str, version: int, records: list[dict[str, Any]], *, keep: int,
                  received: float | list[float] | None = None,
                  outputs: list[tuple[str | None, Any, Any]] | None = None) -> None:
    """Append served input rows (with, per row, the request id, prediction and class probabilities the
    server answered, when given), keeping the newest ``keep`` rows per model. ``received`` is one time
    for every row (default now) or a time per row (predictions made elsewhere, logged later)."""
    times = received if isinstance(received, list) else [time.time() if received is None else received] * len(records)
    outs = outputs or [(None, None, None)] * len(records)
    tx.executemany("INSERT INTO served_inputs (model, version, received, record, request_id, prediction, proba) "
                   "VALUES (?,?,?,?,?,?,?)",
                   [(model, version, at, _as_text(r), rid, None if pred is None else _as_text(pred),
                     None if proba is None else json.dumps(proba))
                    for r, at, (rid, pred, proba) in zip(records, times, outs)])
    tx.execute("DELETE FROM served_inputs WHERE model = ? AND id <= "
               "(SELECT MAX(id) FROM served_inputs WHERE model = ?) - ?", (model, model, keep))


def served_count(q: Reader, model: str) -> int:
    """How many served rows of a model are kept."""
    row = q.query_one("SELECT COUNT(*) FROM served_inputs WHERE model = ?", (model,))
    return int(row[0]) if row else 0


def served_rows(q: Reader, model: str, limit: int) -> list[tuple[int, float, dict[str, Any]]]:
    """(version, received, record) of the latest ``limit`` served rows of a model, oldest first."""
    rows = q.query("SELECT version, received, record FROM served_inputs WHERE model = ? ORDER BY id DESC LIMIT ?",
                   (model, int(limit)))
    return [(int(r[0]), r[1], json.loads(r[2])) for r in reversed(rows)]


def served_predictions(q: Reader, model: str, *, since: float | None = None, limit: int = 1_000_000
                       ) -> list[tuple[int, float, str | None, Any, Any, Any]]:
    """(version, received, request_id, prediction, proba, label) of served rows with a prediction, oldest first.

    ``label`` is the label that arrived for the row's request id, if any (None otherwise).
    """
    sql = ("SELECT s.version, s.received, s.request_id, s.prediction, s.proba, l.label FROM served_inputs s "
           "LEFT JOIN labels l ON l.model = s.model AND l.request_id = s.request_id "
           "WHERE s.model = ? AND s.prediction IS NOT NULL")
    args: list[Any] = [model]
    if since is not None:
        sql += " AND s.received >= ?"
        args.append(since)
    rows = q.query(sql + " ORDER BY s.id DESC LIMIT ?", [*args, int(limit)])
    return [(int(r[0]), r[1], r[2], json.loads(r[3]), json.loads(r[4]) if r[4] else None,
             json.loads(r[5]) if r[5] is not None else None) for r in reversed(rows)]


def known_request_ids(q: Reader, model: str, request_ids: list[str]) -> set[str]:
    """Which of these request ids the model's server answered (and sampled)."""
    found: set[str] = set()
    for i in range(0, len(request_ids), 500):
        chunk = request_ids[i:i + 500]
        rows = q.query(f"SELECT DISTINCT request_id FROM served_inputs WHERE model = ? AND request_id IN "
                       f"({','.join('?' * len(chunk))})", [model, *chunk])
        found.update(r[0] for r in rows)
    return found


def upsert_labels(tx: Transaction, model: str, labels: list[tuple[str, Any]], received: float) -> int:
    """Store labels by request id; a later label for the same id replaces the earlier one. Returns replaced."""
    ids = [rid for rid, _ in labels]
    before = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        row = tx.query_one(f"SELECT COUNT(*) FROM labels WHERE model = ? AND request_id IN "
                           f"({','.join('?' * len(chunk))})", [model, *chunk])
        before += int(row[0]) if row else 0
    tx.executemany("INSERT INTO labels (model, request_id, label, received) VALUES (?,?,?,?) "
                   "ON CONFLICT (model, request_id) DO UPDATE SET label = excluded.label, "
                   "received = excluded.received, updates = labels.updates + 1",
                   [(model, rid, json.dumps(label), received) for rid, label in labels])
    return before


def save_performance_reference(tx: Transaction, model: str, version: int, kind: str, reference: dict[str, Any],
                               created: float) -> None:
    tx.execute("INSERT INTO performance_references (model, version, kind, reference, created) VALUES (?,?,?,?,?) "
               "ON CONFLICT (model, version) DO UPDATE SET kind = excluded.kind, reference = excluded.reference",
               (model, int(version), kind, json.dumps(reference), created))


def performance_reference(q: Reader, model: str, version: int) -> tuple[str, dict[str, Any]] | None:
    row = q.query_one("SELECT kind, reference FROM performance_references WHERE model = ? AND version = ?",
                      (model, version))
    return (row[0], json.loads(row[1])) if row else None


def insert_performance_report(tx: Transaction, report: dict[str, Any], *, dropped: bool, model: str,
                              version: int | None, run_id: str | None, stage_id: int | None) -> int:
    """Store one performance check; a drop also becomes a ``performance-drop`` event in the same transaction."""
    now = time.time()
    report_id = int(tx.execute(
        "INSERT INTO performance_reports (run_id, stage_id, model, version, dropped, report, created) "
        "VALUES (?,?,?,?,?,?,?)", (run_id, stage_id, model, version, int(dropped), json.dumps(report), now)))
    if dropped:
        events.insert(tx, "performance-drop", subject=model, run_id=run_id, created=now, payload={
            "model": model, "version": version, "report_id": report_id, "metric": report.get("metric"),
            "value": report.get("latest_value"), "bar": report.get("bar"),
            "source": next((w.get("source") for w in reversed(report.get("windows") or [])
                            if w.get("verdict") == "drop"), None)})
    return report_id


def performance_reports_of_model(q: Reader, model: str) -> list[dict[str, Any]]:
    rows = q.query("SELECT report FROM performance_reports WHERE model = ? ORDER BY id", (model,))
    return [json.loads(r[0]) for r in rows]


def performance_reports_of_run(q: Reader, run_id: str) -> list[dict[str, Any]]:
    rows = q.query("SELECT report FROM performance_reports WHERE run_id = ? ORDER BY id", (run_id,))
    return [json.loads(r[0]) for r in rows]


def latest_checks(q: Reader, model: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The newest drift report and the newest performance report of a model (each None if never checked)."""
    drift = q.query_one("SELECT report, created FROM drift_reports WHERE model = ? ORDER BY id DESC LIMIT 1",
                        (model,))
    perf = q.query_one("SELECT report, created FROM performance_reports WHERE model = ? ORDER BY id DESC LIMIT 1",
                       (model,))
    return ({**json.loads(drift[0]), "checked": drift[1]} if drift else None,
            {**json.loads(perf[0]), "checked": perf[1]} if perf else None)
def served_summary(q: Reader, model: str) -> list[tuple[int, int, float, float]]:
    """(version, sampled rows kept, first, last received) per version ``mlops serve`` answered for (lineage)."""
    rows = q.query("SELECT version, COUNT(*), MIN(received), MAX(received) FROM served_inputs WHERE model = ? "
                   "GROUP BY version ORDER BY version", (model,))
    return [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]


def served_request_rows(q: Reader, model: str) -> list[tuple[float, str, dict[str, Any]]]:
    """(received, request_id, input record) of every kept served row of a model that has a request id."""
    rows = q.query("SELECT received, request_id, record FROM served_inputs WHERE model = ? AND request_id IS NOT NULL "
                   "ORDER BY id", (model,))
    return [(r[0], r[1], json.loads(r[2])) for r in rows]

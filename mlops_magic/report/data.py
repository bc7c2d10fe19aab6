"""What a report shows, gathered once from the store as plain data (HTML and Markdown render it)."""

from __future__ import annotations

import json
from typing import Any

from ..store import Store


def run_data(store: Store, ref: str) -> dict[str, Any]:
    from ..queries import run_detail

    detail = run_detail(store, ref)
    run_id = detail["id"]
    history: dict[str, list[tuple[int, float]]] = {}
    for m in store.metric_history(run_id):
        history.setdefault(m.key, []).append((m.step, m.value))
    detail["metric_history"] = history
    detail["gates"] = _gates(store, run_id)
    detail["drift"] = [e for e in store.list_events("drift", limit=100_000) if e["run_id"] == run_id]
    detail["drift_reports"] = _drift_reports(store, run_id)
    detail["executed_path"] = next((a["path"] for a in detail["artifacts"] if a["name"] == "executed.ipynb"), None)
    return detail


def _drift_reports(store: Store, run_id: str) -> list[Any]:
    """Stored drift reports of the run (per-column verdicts with overlaid distributions)."""
    try:
        from ..monitoring.records import drift_reports

        return drift_reports(store, run_id)
    except Exception:  # a store without the monitoring tables, or a report from another format
        return []


def _gates(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Quality-gate results when the registry recorded any (its table may not exist in older stores)."""
    try:
        rows = store.db.query("SELECT expression, passed, soft, clauses FROM gate_results WHERE run_id = ? "
                              "ORDER BY id", (run_id,))
    except Exception:
        return []
    out = []
    for r in rows:
        try:
            clauses = json.loads(r[3])
        except (TypeError, ValueError):
            clauses = r[3]
        out.append({"expression": r[0], "passed": bool(r[1]), "soft": bool(r[2]), "clauses": clauses})
    return out


def index_data(store: Store, limit: int = 500) -> dict[str, Any]:
    """Runs grouped by notebook, oldest first, with each run's latest metrics."""
    runs = store.list_runs(limit=limit)
    metrics = store.latest_metrics([r.id for r in runs])
    notebooks: dict[str, list[dict[str, Any]]] = {}
    for r in reversed(runs):
        notebooks.setdefault(r.notebook or "(no notebook)", []).append({
            "id": r.id, "status": r.status, "trigger": r.trigger, "started": r.started.isoformat(),
            "ts": r.started.timestamp(), "duration": r.duration, "error": r.error, "metrics": metrics[r.id],
            "schedule_id": r.schedule_id,
        })
    return {"notebooks": notebooks, "count": len(runs)}

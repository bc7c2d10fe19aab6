"""What a report shows, gathered once from the store as plain data (HTML and Markdown render it)."""

from __future__ import annotations

from typing import Any

from ..entities import result_metrics
from ..errors import MlopsError
from ..registry.gates import run_gates
from ..store import Store
from ..tracking.queries import run_detail


def run_data(store: Store, ref: str) -> dict[str, Any]:
    detail = run_detail(store, ref)
    run_id = detail["id"]
    history: dict[str, list[tuple[int, float]]] = {}
    for m in store.metric_history(run_id):
        history.setdefault(m.key, []).append((m.step, m.value))
    detail["metric_history"] = history
    detail["gates"] = _gates(store, run_id)
    detail["drift_reports"] = _drift_reports(store, run_id)
    detail["performance_reports"] = _performance_reports(store, run_id)
    executed = next((a for a in detail["artifacts"] if a["name"] == "executed.ipynb"), None)
    detail["executed_path"] = executed["path"] if executed else None  # where it lives: shown, never opened
    detail["executed_digest"] = executed["digest"] if executed else None
    return detail


def executed_notebook(store: Store, digest: str | None) -> str | None:
    """The kept notebook's text, read through the store's artifact seam (a folder or a bucket); None
    when the run kept none or its bytes cannot be read (a report without the notebook beats no report)."""
    if not digest:
        return None
    try:
        return store.artifacts.read_bytes(digest).decode("utf-8")
    except (MlopsError, OSError, UnicodeDecodeError):
        return None


def _drift_reports(store: Store, run_id: str) -> list[Any]:
    """Stored drift reports of the run (per-column verdicts with overlaid distributions)."""
    from ..monitoring.records import drift_reports  # lazy: pulls numpy

    return drift_reports(store, run_id)


def _performance_reports(store: Store, run_id: str) -> list[Any]:
    """Stored performance checks of the run (realized and estimated per window, with the verdict)."""
    from ..monitoring.performance import performance_reports  # lazy: pulls numpy

    return performance_reports(store, run_id)


def _gates(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The run's quality gates (latest result of each expression), as the registry records them."""

    return [g.to_dict() for g in run_gates(store, run_id)]


def index_data(store: Store, limit: int = 500) -> dict[str, Any]:
    """Runs grouped by notebook, oldest first, with each run's latest metrics."""
    runs = store.list_runs(limit=limit)
    metrics = store.latest_metrics([r.id for r in runs])
    notebooks: dict[str, list[dict[str, Any]]] = {}
    for r in reversed(runs):
        notebooks.setdefault(r.notebook or "(no notebook)", []).append({
            "id": r.id, "status": r.status, "trigger": r.trigger, "started": r.started.isoformat(),
            "ts": r.started.timestamp(), "duration": r.duration, "error": r.error,
            "metrics": result_metrics(metrics[r.id]), "schedule_id": r.schedule_id,
        })
    return {"notebooks": notebooks, "count": len(runs)}

"""A model's health at a glance: its newest drift check and its newest performance check, side by side.

What the lab's Models section and ``mlops models show`` put next to the versions: inputs and outcome
are two different questions, and a team wants both answered on one line.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..store import Store
from ..store import monitoring as tables
from ..store import registry as registry_tables
from .drift import DriftReport


def model_health(store: Store, model: str) -> dict[str, Any]:
    """``{"drift": {...} | None, "performance": {...} | None}``, JSON-ready, newest check of each.

    ``performance.current`` is false when production has moved on from the version that was checked.
    """
    drift, perf = tables.latest_checks(store.db, model)
    out: dict[str, Any] = {"drift": None, "performance": None}
    if drift is not None:
        checked = drift.pop("checked")
        report = DriftReport.from_dict(drift)
        out["drift"] = {"drifted": report.drifted, "drifted_columns": report.drifted_columns,
                        "verdict": report.verdict, "checked": _iso(checked)}
    if perf is not None:
        production = registry_tables.alias_version(store.db, model, "production")
        # A drop found on v1 that led to v2's promotion is history, not today's warning.
        current = perf.get("version") is None or production is None or perf.get("version") == production
        out["performance"] = {"current": current, "metric": perf.get("metric"), "value": perf.get("latest_value"),
                              "bar": perf.get("bar"), "verdict": perf.get("verdict"),
                              "source": _latest_source(perf), "version": perf.get("version"),
                              "checked": _iso(perf["checked"])}
    return out


def _latest_source(report: dict[str, Any]) -> str | None:
    judged = [w for w in report.get("windows", []) if w.get("verdict") in ("ok", "drop")]
    return judged[-1].get("source") if judged else None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()

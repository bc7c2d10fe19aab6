"""Peaks and averages of a run's ``system.*`` series (``tracking/system.py`` samples them), for the run and
for each of its stages (the samples taken while the stage ran, by time: a headless run is sampled from
outside the kernel, so its points carry no stage).

A summary is plain JSON, part of ``run_detail`` (``show``, the REST run detail, reports)::

    {"samples": 12, "cpu": {"avg": 1.8, "peak": 2.0}, "rss": {"avg": 2.9e9, "peak": 3.1e9},
     "gpu": {"0": {"util_avg": 80.5, "util_peak": 87.0, "mem_peak": 1.2e10}}}
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..entities import SYSTEM_PREFIX as PREFIX


def summarize(points: Iterable[Any], *, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """Peaks and averages of the system points (``Metric`` values) taken in ``[start, end]``; ``{}`` for none."""
    series: dict[str, list[float]] = {}
    for m in points:
        if not m.key.startswith(PREFIX) or m.value != m.value:
            continue
        if (start is not None and m.timestamp < start) or (end is not None and m.timestamp > end):
            continue
        series.setdefault(m.key, []).append(float(m.value))
    if not series:
        return {}
    out: dict[str, Any] = {"samples": max(len(v) for v in series.values())}
    for name in ("cpu", "rss"):
        values = series.get(PREFIX + name)
        if values:
            out[name] = {"avg": sum(values) / len(values), "peak": max(values)}
    gpus: dict[str, dict[str, float]] = {}
    for key, values in sorted(series.items()):
        parts = key.split(".")
        if len(parts) == 4 and parts[1] == "gpu":
            entry = gpus.setdefault(parts[2], {})
            if parts[3] == "util":
                entry.update(util_avg=sum(values) / len(values), util_peak=max(values))
            elif parts[3] == "mem":
                entry["mem_peak"] = max(values)
    if gpus:
        out["gpu"] = gpus
    return out


def flat(summary: dict[str, Any]) -> dict[str, float]:
    """A summary as metric-like rows (``system.cpu.avg``, ``system.rss.peak``, ``system.gpu.0.util_peak``…),
    for tables that compare runs side by side."""
    rows = {f"{PREFIX}{name}.{stat}": value
            for name in ("cpu", "rss") for stat, value in (summary.get(name) or {}).items()}
    for index, gpu in (summary.get("gpu") or {}).items():
        rows.update({f"{PREFIX}gpu.{index}.{stat}": value for stat, value in gpu.items()})
    return rows


def stage_summaries(points: list[Any], stages: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """Each stage's summary (by stage id): its own points, else the run's points taken while it ran."""
    system = [m for m in points if m.key.startswith(PREFIX)]
    out: dict[int, dict[str, Any]] = {}
    for stage in stages:
        own = [m for m in system if m.stage_id == stage.id]
        summary = summarize(own) if own else summarize(
            [m for m in system if m.stage_id is None], start=stage.started, end=stage.ended)
        if summary:
            out[stage.id] = summary
    return out

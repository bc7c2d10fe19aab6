"""Explain a change: a stage-aware diff of two runs, reproducing a run, lineage inferred from
fingerprints, and model cards written from the lifecycle.

One core for every face: ``mlops diff|reproduce|lineage|models card``, ``%mlops diff|lineage|card``
and ``GET /mlops/api/v1/diff`` all call these functions. Modules load lazily (pandas, nbformat and
the runner only when a function needs them).
"""

from __future__ import annotations

from typing import Any

from .card import model_card as _card
from .diff import diff_runs as _diff
from .lineage import lineage as _lineage
from .reproduce import reproduce as _reproduce


def diff_runs(store: Any, a: str, b: str) -> Any:
    return _diff(store, a, b)


def reproduce(store: Any, ref: str, **options: Any) -> Any:
    return _reproduce(store, ref, **options)


def lineage(store: Any, ref: str) -> Any:
    return _lineage(store, ref)


def model_card(store: Any, ref: str) -> Any:
    return _card(store, ref)


__all__ = ["diff_runs", "lineage", "model_card", "reproduce"]

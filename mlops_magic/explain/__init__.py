"""Explain a change: a stage-aware diff of two runs, reproducing a run, lineage inferred from
fingerprints, and model cards written from the lifecycle.

One core for every face: ``mlops diff|reproduce|lineage|models card``, ``%mlops diff|lineage|card``
and ``GET /mlops/api/v1/diff`` all call these functions. Modules load lazily (pandas, nbformat and
the runner only when a function needs them).
"""

from __future__ import annotations

from typing import Any


def diff_runs(store: Any, a: str, b: str) -> Any:
    from .diff import diff_runs as _diff

    return _diff(store, a, b)


def reproduce(store: Any, ref: str, **options: Any) -> Any:
    from .reproduce import reproduce as _reproduce

    return _reproduce(store, ref, **options)


def lineage(store: Any, ref: str) -> Any:
    from .lineage import lineage as _lineage

    return _lineage(store, ref)


def model_card(store: Any, ref: str) -> Any:
    from .card import model_card as _card

    return _card(store, ref)


__all__ = ["diff_runs", "lineage", "model_card", "reproduce"]

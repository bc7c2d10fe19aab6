"""Explaining a change from Python: ``mlops.diff()``, ``mlops.reproduce()``, ``mlops.lineage()``,
``mlops.model_card()`` on the session's store.

The twins of ``%mlops diff|lineage|card`` and ``mlops reproduce``; the work is done by :mod:`.diff`,
:mod:`.reproduce`, :mod:`.lineage` and :mod:`.card`, which take a store explicitly.
"""

from __future__ import annotations

from ..tracking.session import get_session
from .card import ModelCard
from .card import model_card as _card
from .diff import RunDiff, diff_runs
from .lineage import Lineage
from .lineage import lineage as _lineage
from .reproduce import ReproduceResult
from .reproduce import reproduce as _reproduce


def diff(run_a: str, run_b: str | None = None) -> RunDiff:
    """What changed between two runs, stage by stage (``run_b`` default: the active or latest run)."""
    session = get_session()
    return diff_runs(session.store, run_a, session.run_ref(run_b))


def reproduce(ref: str, *, tolerance: float = 1e-6, allow_changed_inputs: bool = False) -> ReproduceResult:
    """Re-execute a headless run as recorded and compare its metrics; ``.verdict`` is reproduced or differs."""
    return _reproduce(get_session().store, ref, tolerance=tolerance, allow_changed_inputs=allow_changed_inputs)


def lineage(ref: str) -> Lineage:
    """Data → runs → model versions → monitor runs around a model, run or data digest (from fingerprints)."""
    return _lineage(get_session().store, ref)


def model_card(ref: str) -> ModelCard:
    """The model card of a version (``.markdown()``, ``.html()``), written from the lifecycle."""
    return _card(get_session().store, ref)


__all__ = ["diff", "lineage", "model_card", "reproduce"]

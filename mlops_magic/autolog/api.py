"""The public ``mlops.stage()``: a stage of the current run with what hangs on every stage.

In a notebook the IPython extension registers autolog and the system-metrics sampler with the session; a
plain Python script never loads it, so the public twin registers them here before opening the stage (once
per session).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from ..entities import StageRun
from ..tracking.session import get_session
from ..tracking.stage_sampling import ensure_registered as ensure_system_metrics
from .observer import ensure_registered


def stage(kind: str, name: str | None = None, *, notes: str | None = None) -> AbstractContextManager[StageRun]:
    """``with stage("train"):`` records a stage of the current run (one is opened if none is), with autolog."""
    session = get_session()
    ensure_registered(session)
    ensure_system_metrics(session)
    return session.stage(kind, name, notes=notes)

"""``%load_ext mlops_magic``: the magics and the stage-cell hooks on a shell, for however the kernel started.

``mlops_magic.load_ipython_extension`` is this module's function (re-exported lazily by the package),
so loading the extension imports IPython's magic machinery and nothing heavier.
"""

from __future__ import annotations

import os
from typing import Any

from ..alerts import watch_events
from ..tracking.environment import papermill_parent
from ..tracking.session import get_session
from .hooks import StageCellTracker
from .magics import load

_tracker: StageCellTracker | None = None


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and the stage-cell hooks; a kernel started by plain ``papermill IN OUT``
    records trigger ``papermill``, its output notebook, and the input notebook's project."""
    global _tracker
    session = get_session()
    session.user_ns = ipython.user_ns
    if not session.attached_run_id:
        papermill = papermill_parent()
        session.default_trigger = "papermill" if papermill else "interactive"
        session.executed_notebook = papermill.output_path if papermill else None
        if papermill:  # `papermill proj/nb.ipynb …` typed elsewhere: the project is the notebook's
            session.store_start = os.path.dirname(papermill.input_path)
        # alerts about what this kernel does (a promotion, a drift check) go out from here; a headless
        # run's kernel leaves that to the runner, which outlives it
        watch_events("kernel", lambda: session.store if session.store_exists() else None)
    load(ipython, session)
    if _tracker is not None:
        _tracker.unregister()
    _tracker = StageCellTracker(ipython, session)
    _tracker.register()


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the stage-cell hooks; the magics stay registered."""
    global _tracker
    if _tracker is not None:
        _tracker.unregister()
        _tracker = None


__all__ = ["load_ipython_extension", "unload_ipython_extension"]

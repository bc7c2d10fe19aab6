"""The recording reads and set-up of the Python API, on the session's store: ``mlops.init()``,
``mlops.runs()``, ``mlops.get_run()``, ``mlops.show()``.

The twins of ``%mlops init|runs|show``; the queries themselves are :mod:`.queries`' (shared with the
CLI, the widgets and the REST API), which take a store explicitly. Logging (``log_metric``,
``start_run``…) is :mod:`.session`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..display.runs import RunView
from ..entities import Run
from ..store.project import init_project
from .queries import run_detail, runs_frame
from .session import get_session

if TYPE_CHECKING:
    from pandas import DataFrame


def init(path: str | None = None, store_url: str | None = None) -> str:
    """Create ``PATH/.mlops/`` (or point it at ``store_url``) and record there from now on; returns what was done."""
    st, message = init_project(path, store_url)
    get_session().use_store(st.url)
    return message


def runs(notebook: str | None = None, status: str | None = None, trigger: str | None = None,
         limit: int | None = None) -> DataFrame:
    """Runs as a pandas DataFrame, newest first, with ``params.*`` and ``metrics.*`` columns."""
    return runs_frame(get_session().store, notebook=notebook, status=status, trigger=trigger, limit=limit)


def get_run(ref: str) -> Run:
    """A run by id, unique id prefix, or ``"latest"``."""
    return get_session().store.get_run(ref)


def show(ref: str | None = None) -> RunView:
    """A displayable summary of a run (default: the active or latest run)."""
    session = get_session()
    return RunView(run_detail(session.store, session.run_ref(ref)))


__all__ = ["get_run", "init", "runs", "show"]

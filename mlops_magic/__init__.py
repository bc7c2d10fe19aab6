"""mlops-magic: notebook cells as tracked lifecycle stages, headless runs and continuous training.

``%load_ext mlops_magic`` in a notebook, or ``import mlops_magic as mlops`` in
Python. Importing this package is cheap: pandas, papermill, scikit-learn and
ipywidgets are imported only by the calls that need them.
"""

from __future__ import annotations

from typing import Any

# `store` stays the subpackage (so `import mlops_magic.store` works); the store itself is get_store().
from . import store as store
from ._version import __version__
from .entities import STAGE_KINDS, Artifact, Fingerprint, Metric, Run, StageRun
from .errors import MlopsError
from .tracking.session import (
    active_run,
    end_run,
    get_session,
    log_artifact,
    log_fingerprint,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_tags,
    start_run,
)
from .tracking.session import store as get_store

_tracker: Any = None


def stage(kind: str, name: str | None = None, *, notes: str | None = None) -> Any:
    """``with stage("train"):`` records a stage of the current run (one is opened if none is), with autolog."""
    from .autolog import ensure_registered  # lazy: import mlops_magic stays light

    session = get_session()
    ensure_registered(session)
    return session.stage(kind, name, notes=notes)


def init(path: str | None = None, store_url: str | None = None) -> str:
    """Create ``PATH/.mlops/`` (or point it at ``store_url``) and record there from now on."""
    from .store.project import init_project  # lazy: import mlops_magic stays light

    st, message = init_project(path, store_url)
    get_session().use_store(st.url)
    return message


def runs(notebook: str | None = None, status: str | None = None, trigger: str | None = None,
         limit: int | None = None) -> Any:
    """Runs as a pandas DataFrame, newest first, with ``params.*`` and ``metrics.*`` columns."""
    from .tracking.queries import runs_frame  # lazy: import mlops_magic stays light

    return runs_frame(get_store(), notebook=notebook, status=status, trigger=trigger, limit=limit)


def get_run(ref: str) -> Run:
    """A run by id, unique id prefix, or ``"latest"``."""
    return get_store().get_run(ref)


def show(ref: str | None = None) -> Any:
    """A displayable summary of a run (default: the active or latest run)."""
    from .display.runs import RunView  # lazy: import mlops_magic stays light
    from .tracking.queries import run_detail  # lazy: import mlops_magic stays light

    return RunView(run_detail(get_store(), get_session().run_ref(ref)))


def status(ref: str | None = None, *, static: bool = False) -> Any:
    """The lifecycle of a run (default: the active or latest run): in Jupyter a live panel, else a static view."""
    from .display.runs import LifecycleView  # lazy: import mlops_magic stays light
    from .tracking.queries import run_lifecycle  # lazy: import mlops_magic stays light
    from .widgets.base import frontend_available  # lazy: import mlops_magic stays light

    if not static and frontend_available():
        from .widgets.lifecycle_panel import lifecycle_panel  # lazy: import mlops_magic stays light

        return lifecycle_panel(get_session(), ref)
    return LifecycleView(run_lifecycle(get_store(), get_session().run_ref(ref)))


from .tracking import fingerprint as _fingerprint_module  # noqa: E402


def fingerprint(data: Any) -> Fingerprint:
    """Fingerprint a DataFrame, Series, array, file path or glob without logging it."""
    return _fingerprint_module.fingerprint(data)


def drift(reference: Any, current: Any, columns: Any = None, tests: Any = None, *, threshold: Any = None,
          model: str | None = None, record: bool = True, **options: Any) -> Any:
    """Per-column drift of ``current`` against ``reference`` (a frame, a file, a profile or
    ``"model:NAME@ALIAS"``); recorded with the current stage, and a ``drift`` event when the data set drifted."""
    from .monitoring.records import check_drift  # lazy: pulls numpy

    return check_drift(reference, current, columns=columns, tests=tests, threshold=threshold, model=model,
                       record=record, **options)


def quality(reference: Any, current: Any, columns: Any = None) -> Any:
    """Schema changes, missing values, unseen categories and out-of-range values (nothing recorded)."""
    from .monitoring import quality as _quality  # lazy: pulls numpy
    from .monitoring.records import resolve_data, resolve_reference  # lazy: pulls numpy

    ref, _, _ = resolve_reference(get_store(), reference)
    return _quality(ref, resolve_data(current), columns=columns)


def profile(data: Any) -> Any:
    """A compact, JSON-serialisable reference profile of a DataFrame (what monitors compare against)."""
    from .monitoring import profile as _profile  # lazy: pulls numpy

    return _profile(data)


def performance(ref: str, *, window: str | None = None, current: Any = None, labels: Any = None,
                metric: str | None = None, threshold: float | None = None, max_drop: float | None = None,
                min_rows: int | None = None, record: bool = True) -> Any:
    """A model version's performance: realized where labels arrived, estimated (CBPE) where they have not.

    Over served traffic by ``window`` ("1d", "6h"), or over one batch ``current`` (with ``labels`` it is
    realized). Recorded with the current stage, logged as metric ``performance.METRIC`` for gates; a drop
    emits a ``performance-drop`` event that ``--on-performance-drop`` schedules follow.
    """
    from .monitoring.performance import DEFAULT_MAX_DROP, DEFAULT_MIN_ROWS, check_performance  # lazy: pulls numpy

    return check_performance(ref, window=window, current=current, labels=labels, metric=metric,
                             threshold=threshold, max_drop=DEFAULT_MAX_DROP if max_drop is None else max_drop,
                             min_rows=DEFAULT_MIN_ROWS if min_rows is None else min_rows, record=record)


def log_labels(model: str, ids: Any, labels: Any, *, key: str | None = None, times: Any = None) -> Any:
    """Labels that arrived (days later, from anywhere), by the request ids ``mlops serve`` answered with;
    or, with ``key="customer_id"``, by an input column's values, each labelling that entity's latest
    prediction at or before its time in ``times``."""
    from .monitoring.performance import log_labels as _log_labels  # lazy: pulls numpy

    return _log_labels(get_store(), model, ids, labels, key=key, times=times)


def drift_history(model: str) -> Any:
    """Every stored drift check of ``model`` as a DataFrame, oldest first."""
    from .monitoring.records import drift_history as _history  # lazy: pulls numpy

    return _history(get_store(), model)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlops_magic``: register the magics and the stage-cell hooks."""
    global _tracker
    from .ipython.hooks import StageCellTracker  # lazy: import mlops_magic stays light
    from .ipython.magics import load  # lazy: pulls IPython
    from .tracking.environment import papermill_parent  # lazy: import mlops_magic stays light

    session = get_session()
    session.user_ns = ipython.user_ns
    if not session.attached_run_id:
        papermill = papermill_parent()
        session.default_trigger = "papermill" if papermill else "interactive"
        session.executed_notebook = papermill.output_path if papermill else None
        if papermill:  # `papermill proj/nb.ipynb …` typed elsewhere: the project is the notebook's
            import os

            session.store_start = os.path.dirname(papermill.input_path)
    load(ipython, session)
    if _tracker is not None:
        _tracker.unregister()
    _tracker = StageCellTracker(ipython, session)
    _tracker.register()


def unload_ipython_extension(ipython: Any) -> None:
    global _tracker
    if _tracker is not None:
        _tracker.unregister()
        _tracker = None


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlops-magic"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlops_magic.server"}]


def gate(expression: str, soft: bool = False) -> Any:
    """Check ``"accuracy >= 0.85 and auc >= 0.9"`` against this run's latest metrics (never ``eval``);
    raises GateFailedError naming the failing clause unless ``soft``."""
    from .registry.gates import gate as _gate  # lazy: import mlops_magic stays light

    return _gate(expression, soft=soft)


def __getattr__(name: str) -> Any:
    """Registry and runner twins, imported on first use so ``import mlops_magic`` stays light."""
    lazy = {
        "register_model": "registry.api", "promote": "registry.api", "rollback": "registry.api",
        "load_model": "registry.api", "list_models": "registry.api", "model_versions": "registry.api",
        "alias_history": "registry.api", "served_inputs": "monitoring.served",
        "ModelVersion": "registry.versions", "GateResult": "registry.gates",
        "run_notebook": "runner", "run_notebooks": "runner", "RunRequest": "runner", "DriftReport": "monitoring",
    }
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(f".{lazy[name]}", __name__), name)
    raise AttributeError(f"module 'mlops_magic' has no attribute {name!r}")


def diff(run_a: str, run_b: str | None = None) -> Any:
    """What changed between two runs, stage by stage (``run_b`` default: the active or latest run)."""
    from .explain.diff import diff_runs  # lazy: import mlops_magic stays light

    return diff_runs(get_store(), run_a, get_session().run_ref(run_b))


def reproduce(ref: str, *, tolerance: float = 1e-6, allow_changed_inputs: bool = False) -> Any:
    """Re-execute a headless run as recorded and compare its metrics; ``.verdict`` is reproduced or differs."""
    from .explain.reproduce import reproduce as _reproduce  # lazy: import mlops_magic stays light

    return _reproduce(get_store(), ref, tolerance=tolerance, allow_changed_inputs=allow_changed_inputs)


def lineage(ref: str) -> Any:
    """Data → runs → model versions → monitor runs around a model, run or data digest (from fingerprints)."""
    from .explain.lineage import lineage as _lineage  # lazy: import mlops_magic stays light

    return _lineage(get_store(), ref)


def model_card(ref: str) -> Any:
    """The model card of a version (``.markdown()``, ``.html()``), written from the lifecycle."""
    from .explain.card import model_card as _card  # lazy: import mlops_magic stays light

    return _card(get_store(), ref)


__all__ = [
    "STAGE_KINDS",
    "Artifact",
    "DriftReport",
    "Fingerprint",
    "GateResult",
    "Metric",
    "MlopsError",
    "ModelVersion",
    "Run",
    "RunRequest",
    "StageRun",
    "__version__",
    "active_run",
    "alias_history",
    "diff",
    "drift",
    "drift_history",
    "end_run",
    "fingerprint",
    "gate",
    "get_run",
    "get_store",
    "init",
    "lineage",
    "list_models",
    "load_model",
    "log_artifact",
    "log_fingerprint",
    "log_labels",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "model_card",
    "model_versions",
    "performance",
    "profile",
    "promote",
    "quality",
    "register_model",
    "reproduce",
    "rollback",
    "run_notebook",
    "run_notebooks",
    "runs",
    "served_inputs",
    "set_tags",
    "show",
    "stage",
    "start_run",
    "status",
]

"""The registry's Python API: the twins of ``%mlops model …``, on the session's store and current run.

``import mlops_magic as mlops; mlops.register_model(...)`` lands here; the decisions themselves are
in :mod:`.versions` and :mod:`.aliases`, which take a store explicitly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..tracking.session import get_session
from . import aliases
from .aliases import PromotionResult, history
from .external import register_external
from .versions import ModelVersion, load, model_summaries, register, versions_of

if TYPE_CHECKING:
    from pandas import DataFrame


def register_model(model: Any, name: str, *, input: Any = None, format: str = "skops",
                   description: str | None = None, labels: Any = None, predictions: Any = None,
                   probabilities: Any = None) -> ModelVersion:
    """Register ``model`` as the next version of ``name`` with the current run's metrics, gates and data.

    ``input`` is the data the model is checked against later (its schema and drift profile); with
    ``labels`` (``input``'s true values) it is also the reference for realized and estimated performance.

    ``model=None`` registers a model served elsewhere (a vendor's, a batch job's) from what it answered
    on ``input``: its ``predictions``, class ``probabilities`` and the true ``labels``. Drift, labels,
    realized and estimated performance and gates work for it; it has no file to load or serve.
    """
    session = get_session()
    session.settle()  # the version records the run's metrics, including what this stage autologged so far
    run_id = session.recording_run_id()
    stage = session.current_stage
    if model is None:
        return register_external(session.store, name, input=input, predictions=predictions,
                                 probabilities=probabilities, labels=labels, run_id=run_id,
                                 stage_id=stage.id if stage else None, description=description)
    if predictions is not None or probabilities is not None:
        raise InvalidInputError("predictions= and probabilities= describe a model registered without an object "
                                "(model=None); a fitted model's own are computed from input= and labels=")
    return register(session.store, model, name, input=input, format=format, run_id=run_id,
                    stage_id=stage.id if stage else None, description=description, labels=labels)


def load_model(ref: str, *, trust: bool = False) -> Any:
    """``churn`` (latest), ``churn@3`` or ``churn@production``; pickle/joblib files need ``trust=True``."""
    return load(get_session().store, ref, trust=trust)


def promote(name: str, to: str = "production", *, version: int | None = None, if_better: str | None = None,
            higher_is_better: bool | None = None, reason: str | None = None) -> PromotionResult:
    """Move alias ``to`` to a version (default latest) if its gates passed and, with ``if_better``, it wins."""
    session = get_session()
    return aliases.promote(session.store, name, to, version=version, if_better=if_better,
                           higher_is_better=higher_is_better, reason=reason,
                           run_id=session.active_run_id())


def rollback(name: str, alias: str = "production", *, reason: str | None = None) -> PromotionResult:
    """Move ``alias`` back to the version it pointed at before its latest move."""
    session = get_session()
    return aliases.rollback(session.store, name, alias, reason=reason, run_id=session.active_run_id())


def list_models() -> DataFrame:
    """One row per model: latest version, aliases, when it was last registered, as a DataFrame."""
    import pandas as pd

    rows = [{**row, "aliases": ", ".join(f"{a}→v{n}" for a, n in sorted(row["aliases"].items())),
             "updated": pd.Timestamp(row["updated"])} for row in model_summaries(get_session().store)]
    return pd.DataFrame(rows, columns=["name", "latest", "versions", "aliases", "updated", "flavour"])


def model_versions(name: str) -> DataFrame:
    """Every version of a model with its metrics (``metrics.*``), gates, aliases and source run."""
    import pandas as pd

    rows = []
    for v in versions_of(get_session().store, name):
        verdict = {None: "", True: "passed", False: "failed"}[v.gates_passed]  # not a run status: the gates'
        row = {"version": v.version, "created": v.created, "aliases": ", ".join(v.aliases), "gates": verdict,
               "format": v.format,
               "run_id": v.run_id}
        row.update({f"metrics.{k}": m for k, m in v.metrics.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def alias_history(name: str, alias: str | None = None) -> DataFrame:
    """The audit history of a model's aliases, newest first, as a DataFrame."""
    import pandas as pd

    return pd.DataFrame([c.to_dict() for c in history(get_session().store, name, alias)])

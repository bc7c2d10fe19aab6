"""Register the model a headless run kept: the child a sweep selected, without a kernel of its own.

Autolog keeps each fitted estimator bound to a variable as a skops file among its run's artifacts
(``models/VAR.skops``). Registering one goes the usual way (:func:`.versions.register` with the run's
id, so the version carries that run's metrics and gate results, and a failed gate keeps it from every
promotion); only types of the libraries estimators are made of are trusted when it is read back.
"""

from __future__ import annotations

from typing import Any

from ..display.html import fmt_number
from ..errors import InvalidInputError
from ..store import Store
from . import model_files
from .aliases import metric_direction
from .versions import ModelVersion, model_names, register, versions_of

MODEL_PREFIX, MODEL_SUFFIX = "models/", ".skops"


def kept_model(store: Store, run_id: str) -> tuple[str, Any]:
    """(variable name, model) of the one model run ``run_id`` kept; one clear error when none or several."""
    names = [a.name for a in store.list_artifacts(run_id)
             if a.name.startswith(MODEL_PREFIX) and a.name.endswith(MODEL_SUFFIX)]
    if not names:
        raise InvalidInputError(f"run {run_id[:8]} kept no model to register (autolog keeps a fitted "
                                "scikit-learn estimator bound to a variable as models/VAR.skops)")
    if len(names) > 1:
        raise InvalidInputError(f"run {run_id[:8]} kept several models ({', '.join(sorted(names))}); "
                                "register the one you mean from the notebook with mlops.register_model")
    import skops.io as sio  # lazy: pulls scikit-learn

    artifact = store.get_artifact(run_id, names[0])
    with store.artifacts.open(artifact.digest) as fh:
        data = fh.read()
    trusted = sorted(sio.get_untrusted_types(data=data))
    custom = model_files.custom_types(trusted)
    if custom:
        raise InvalidInputError(f"run {run_id[:8]}'s {names[0]} holds types of your own ({', '.join(custom)}); "
                                "register it from the notebook, where you can choose to trust them")
    var = names[0][len(MODEL_PREFIX):-len(MODEL_SUFFIX)]
    return var, model_files.load(data, "skops", trusted, label=f"{var} of run {run_id[:8]}")


def register_run_model(store: Store, run_id: str, name: str, *, if_better: str | None = None,
                       higher_is_better: bool | None = None) -> tuple[ModelVersion | None, str]:
    """Register the model run ``run_id`` kept as the next version of ``name``; with ``if_better``, only when
    the run beats ``name``'s latest version on that metric. (the version or None, one line saying what
    happened)."""
    metrics = store.latest_metrics([run_id])[run_id]
    if if_better is not None:
        if if_better not in metrics:
            raise InvalidInputError(f"run {run_id[:8]} has no metric {if_better!r} to compare on; its metrics: "
                                    f"{', '.join(sorted(metrics)) or 'none'}")
        latest = versions_of(store, name)[-1] if name in model_names(store) else None
        old = latest.metrics.get(if_better) if latest is not None else None
        if latest is not None and old is not None:
            higher = metric_direction(if_better, higher_is_better)
            new = metrics[if_better]
            if not (new > old if higher else new < old):
                return None, (f"not registered: run {run_id[:8]} {if_better}={fmt_number(new, 6)} does not "
                              f"beat {latest} {if_better}={fmt_number(old, 6)}")
    var, model = kept_model(store, run_id)
    version = register(store, model, name, run_id=run_id, label=var,
                       description=f"selected by a sweep: run {run_id[:8]}")
    gates = {None: "no gates", True: "gates passed", False: "gates FAILED (it cannot be promoted)"}
    return version, f"registered {version} from run {run_id[:8]} ({var}; {gates[version.gates_passed]})"

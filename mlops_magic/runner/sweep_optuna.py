"""``mlops sweep --optuna N``: an Optuna study chooses the points; each trial is one of the sweep's child runs.

Optuna is an optional extra (``pip install 'mlops-magic[optuna]'``); without it the option is refused in one
line before anything is recorded. The study lives in memory for the sweep: a trial is asked for, run as a
point through the same executors as every other point, and told the point's objective (the ``--select``
metric; a failed point, or one without the metric or failing the rule's ``where``, is told as failed).
With ``parallel`` N, N trials are asked for at a time. The seed seeds the sampler (TPE).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..entities import RunStatus
from ..errors import InvalidInputError
from ..registry.gates import Selection
from .request import RunResult
from .sweep_space import Dimension, count_points

INSTALL_HINT = "pip install 'mlops-magic[optuna]'"


def require_optuna() -> Any:
    """The ``optuna`` module, or one clear error saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise InvalidInputError(f"--optuna needs Optuna, which is not installed: {INSTALL_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our lines report the trials, not Optuna's
    return optuna


def suggest(trial: Any, dim: Dimension) -> Any:
    """The trial's value for one dimension: a list is categorical, a distribution is suggested as declared."""
    if dim.kind is None:
        return trial.suggest_categorical(dim.name, list(dim.values))
    if dim.kind == "int":
        return trial.suggest_int(dim.name, int(dim.low), int(dim.high))
    return trial.suggest_float(dim.name, dim.low, dim.high, log=dim.kind == "loguniform")


def drive(dims: list[Dimension], selection: Selection, trials: int, seed: int | None, batch: int,
          run: Callable[[list[dict[str, Any]]], list[RunResult]],
          metrics_of: Callable[[list[str]], dict[str, dict[str, float]]]) -> tuple[list[dict[str, Any]],
                                                                                  list[RunResult]]:
    """Run ``trials`` points chosen by a study maximising or minimising ``selection``'s metric, ``batch`` at a
    time through ``run``; (every point, every result), in the order they ran."""
    optuna = require_optuna()
    count_points(trials)
    study = optuna.create_study(direction="maximize" if selection.direction == "max" else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    points: list[dict[str, Any]] = []
    results: list[RunResult] = []
    while len(points) < trials:
        asked = [study.ask() for _ in range(min(batch, trials - len(points)))]
        chosen = [{d.name: suggest(t, d) for d in dims} for t in asked]
        done = run(chosen)
        metrics = metrics_of([r.run_id for r in done])
        for trial, result in zip(asked, done):
            candidate = {result.run_id: metrics.get(result.run_id, {})}
            picked = selection.pick(candidate) if result.status == RunStatus.SUCCEEDED else None
            if picked is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, picked[1])
        points += chosen
        results += done
    return points, results

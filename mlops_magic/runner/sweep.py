"""``mlops sweep``: one notebook over many parameter points, as a parent run with one child run per point.

The points execute through :func:`~mlops_magic.runner.run_notebooks` like any headless run (local
processes with ``parallel``, or a Dask cluster), each a run whose ``parent_run_id`` is the sweep and whose
trigger is ``sweep``. With ``cache`` the first point runs alone before the others start, so its stages
fill the stage cache once and every other point restores what it shares with it (a data stage that reads
no swept parameter) instead of computing it again in parallel.

The outcome: the parent ends ``succeeded`` when at least one point succeeded and, given a selection rule,
some succeeded point qualifies under it; it ends ``failed`` when every point failed or none qualifies, and
``killed`` on Ctrl-C (points already running are killed by their executor, the rest never start). The
rule's best child is recorded on the sweep (``store/sweeps.py``) and its objective logged as the parent's
metric, so ``mlops runs`` shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..display.html import fmt_number
from ..entities import RunStatus, Trigger
from ..errors import InvalidInputError, RunInterrupted
from ..registry.gates import Selection, parse_select
from ..registry.run_models import register_run_model
from ..store import Store
from ..store import sweeps as sweep_table
from . import check_kernel, run_notebooks
from .prepare import new_run_id, parameter_types, prepare
from .request import RunRequest, RunResult
from .sweep_optuna import drive, require_optuna
from .sweep_space import Dimension, count_points, grid, label, parse_dimension, random_points


@dataclass(frozen=True)
class SweepRequest:
    """A sweep as asked: the notebook, ``-p NAME SPEC`` pairs, how points are drawn, how one is chosen."""

    notebook: str
    specs: tuple[tuple[str, str], ...]
    random: int | None = None  # None: a grid; N: N random points
    optuna: int | None = None  # N: N trials of an Optuna study (the optional extra) optimising --select
    seed: int | None = None
    select: str | None = None
    register: str | None = None
    if_better: str | None = None
    cache: bool = False
    parallel: int = 1
    executor: Any = None
    timeout: float | None = None
    kernel: str | None = None
    name: str | None = None
    stages: tuple[str, ...] = ()  # setup cells plus only these stages, in every point (as `mlops run --stages`)


@dataclass(frozen=True)
class SweepPoint:
    params: dict[str, Any]
    result: RunResult
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepResult:
    sweep_id: str
    status: RunStatus
    points: list[SweepPoint]
    selection: Selection | None = None
    best: tuple[str, float] | None = None
    registered: str | None = None  # what --register did, as one line
    error: str | None = None

    @property
    def failed(self) -> list[SweepPoint]:
        return [p for p in self.points if p.result.status != RunStatus.SUCCEEDED]

    def summary(self) -> str:
        """Two or three lines for a terminal: the counts, the best point, what registering did."""
        ok = len(self.points) - len(self.failed)
        lines = [f"sweep {self.sweep_id[:8]} {self.status}: {ok} of {len(self.points)} points succeeded"
                 + (f" — {self.error}" if self.error else "")]
        if self.best and self.selection:
            point = next(p for p in self.points if p.result.run_id == self.best[0])
            lines.append(f"best ({self.selection}): run {self.best[0][:8]} {self.selection.metric}="
                         f"{fmt_number(self.best[1], 6)}  {label(point.params)}")
        if self.registered:
            lines.append(self.registered)
        return "\n".join(lines)


@dataclass(frozen=True)
class Plan:
    prep: Any  # the prepared notebook (a PreparedRun): its recorded path
    dims: list[Dimension]
    points: list[dict[str, Any]]  # grid and random: every point; optuna: none yet (the study asks)
    selection: Selection | None
    method: str
    count: int


def plan(req: SweepRequest, store: Store) -> Plan:
    """Check everything before anything is recorded: the notebook, the kernel, the specs, the rule;
    bad input raises one clear InvalidInputError."""
    selection = parse_select(req.select) if req.select else None
    if req.optuna is not None:
        if req.random is not None:
            raise InvalidInputError("use --random N or --optuna N, not both")
        if selection is None:
            raise InvalidInputError("--optuna needs --select: the metric the study maximises or minimises")
        require_optuna()
    if req.register and selection is None:
        raise InvalidInputError("--register needs --select: the rule that picks which point's model to register")
    if req.if_better and not req.register:
        raise InvalidInputError("--if-better applies to --register NAME")
    if not req.specs:
        raise InvalidInputError("a sweep needs at least one -p NAME VALUES (e.g. -p learning_rate 0.01,0.1)")
    names = [n for n, _ in req.specs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInputError(f"-p {twice[0]} is given twice; list all its values in one -p")
    prep = prepare(RunRequest(notebook=req.notebook, kernel=req.kernel, stages=req.stages), store.project_dir)
    check_kernel(prep.kernel)
    types = parameter_types(prep.nb, prep.kernel)
    dims: list[Dimension] = [parse_dimension(n, spec, types) for n, spec in req.specs]
    if req.optuna is not None:
        return Plan(prep, dims, [], selection, "optuna", count_points(req.optuna))
    points = grid(dims) if req.random is None else random_points(dims, req.random, req.seed)
    return Plan(prep, dims, points, selection, "grid" if req.random is None else "random", len(points))


def run_sweep(req: SweepRequest, store: Store, *, on_result: Callable[[RunResult], None] | None = None,
              warn: Callable[[str], None] | None = None) -> SweepResult:
    """Run the sweep ``req`` asks for and record it; returns its outcome (see the module's docstring)."""
    p = plan(req, store)
    sweep = store.create_run(notebook=p.prep.recorded_notebook, trigger=Trigger.SWEEP,
                             name=req.name or f"{p.method} sweep of {p.count} points")
    space = {n: s for n, s in req.specs}
    store.db.run_in_transaction(lambda tx: sweep_table.insert(
        tx, sweep.id, notebook=p.prep.recorded_notebook, method=p.method, space=space, points=p.count,
        seed=req.seed, select_rule=str(p.selection) if p.selection else None, created=sweep.started.timestamp()))
    started: list[dict[str, Any]] = []

    def run(points: list[dict[str, Any]]) -> list[RunResult]:
        requests = [RunRequest(notebook=req.notebook, params=point, trigger=Trigger.SWEEP, store_url=store.url,
                               parent_run_id=sweep.id, run_id=new_run_id(), timeout=req.timeout, kernel=req.kernel,
                               stages=req.stages,
                               name=f"{sweep.id[:8]} #{len(started) + i + 1} {label(point)}"[:200],
                               cache=True if req.cache else None) for i, point in enumerate(points)]
        results = execute(store, sweep.id, requests, req, on_result, warn, warm=not started)
        started.extend(points)
        return results

    if p.selection is not None and req.optuna is not None:
        points, results = drive(p.dims, p.selection, req.optuna, req.seed, req.parallel, run, store.latest_metrics)
    else:
        points, results = p.points, run(p.points)
    return finish(store, sweep.id, points, results, p.selection, req)


def execute(store: Store, sweep_id: str, requests: Sequence[RunRequest], req: SweepRequest,
            on_result: Callable[[RunResult], None] | None, warn: Callable[[str], None] | None, *,
            warm: bool = True) -> list[RunResult]:
    """The points' results, in order. With the cache the first point of a sweep (``warm``) runs alone, so it
    fills the cache the others restore from."""
    first = 1 if warm and req.cache and len(requests) > 1 else 0
    results: list[RunResult] = []
    try:
        for batch in (requests[:first], requests[first:]):
            if batch:
                results += run_notebooks(batch, store=store, parallel=req.parallel, executor=req.executor,
                                         on_result=on_result, warn=warn)
    except KeyboardInterrupt:
        store.finish_run(sweep_id, RunStatus.KILLED, error="interrupted (Ctrl-C): the points running were killed, "
                                                           "the others never started")
        raise RunInterrupted(sweep_id) from None
    except BaseException as exc:
        store.finish_run(sweep_id, RunStatus.FAILED, error=f"sweep stopped: {type(exc).__name__}: {exc}"[:500])
        raise
    return results


def finish(store: Store, sweep_id: str, points: list[dict[str, Any]], results: list[RunResult],
           selection: Selection | None, req: SweepRequest) -> SweepResult:
    """Select the best point, record the outcome, register if asked, end the parent run."""
    metrics = store.latest_metrics([r.run_id for r in results])
    done = [SweepPoint(p, r, metrics.get(r.run_id, {})) for p, r in zip(points, results)]
    succeeded = {p.result.run_id: p.metrics for p in done if p.result.status == RunStatus.SUCCEEDED}
    best = selection.pick(succeeded) if selection else None
    error = None
    if not succeeded:
        error = f"all {len(done)} points failed"
    elif selection and best is None:
        error = f"no succeeded point has a finite {selection.metric}" + (
            f" and passes {selection.where}" if selection.where else "")
    store.db.run_in_transaction(lambda tx: sweep_table.record_outcome(
        tx, sweep_id, best_run_id=best[0] if best else None, best_value=best[1] if best else None,
        failed=len(done) - len(succeeded)))
    if best and selection:
        store.log_metric(sweep_id, selection.metric, best[1])
    registered = None
    if best and req.register and selection:
        higher = selection.direction == "max" if req.if_better == selection.metric else None
        try:
            _, registered = register_run_model(store, best[0], req.register, if_better=req.if_better,
                                               higher_is_better=higher)
        except InvalidInputError as exc:
            registered = f"not registered: {exc}"
    status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
    store.finish_run(sweep_id, status, error=error)
    return SweepResult(sweep_id, status, done, selection, best, registered, error)

"""``mlops ci``: run the notebooks a pull request changed, compare each with its base, decide the check.

1. ``git`` says which files changed since the merge base of ``--base`` and HEAD; ``select`` keeps the
   notebooks whose code (per stage, parameters cell, setup cells) or recorded inputs changed.
2. Each is run headlessly through the runner (``run_notebooks``: executors, parallel kernels), trigger
   ``ci``, tagged with the branch, base and head; the run records the head commit as its code version.
   Under trigger ``ci`` the registry refuses alias moves (``registry/aliases.py``).
3. Its baseline is a recorded run from the base's code (``compare``); without one, ``--rerun-base``
   runs the base's notebook in a ``git worktree`` of the base commit, in the same batch.
4. The stage-aware diff (``explain.diff``) says what changed; tolerances (``--fail-on``) are held to
   the metric deltas when both runs had the same inputs (or ``--allow-changed-inputs``); the run's
   quality gates are read back. Any failed run, broken tolerance or failed gate fails the check.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..entities import Trigger
from ..errors import InvalidInputError
from ..explain.diff import RunDiff, diff_runs
from ..explain.notebooks import kept_notebook
from ..registry.aliases import REFUSED_TAG
from ..registry.gates import run_gates
from ..runner import RunRequest, RunResult, run_notebooks
from ..runner.prepare import recorded_path
from ..store import Store
from ..tracking.values import check_param_names
from .compare import (
    BASE_REF_TAG,
    BASE_TAG,
    BRANCH_TAG,
    HEAD_TAG,
    ROLE_TAG,
    Baseline,
    base_code,
    candidates,
    choose,
    data_inputs,
)
from .context import branch_name, job_url
from .git import Repo
from .outcome import SUCCEEDED, CiResult, Failure, NotebookOutcome
from .select import NotebookChange, read_json, select
from .tolerances import check, check_expressions

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRACEBACK_LINES = 12


@dataclass(frozen=True)
class CiOptions:
    base: str
    notebooks: tuple[str, ...] = ()  # fnmatch globs relative to the repository; none: every notebook
    params: dict[str, Any] = field(default_factory=dict)
    fail_on: tuple[str, ...] = ()
    rerun_base: bool = False
    allow_changed_inputs: bool = False
    executor: Any = None
    parallel: int = 1
    timeout: float | None = None
    kernel: str | None = None
    start: str | None = None  # a folder in the repository (default: the working directory)
    #: The stage cache seam: once ``RunRequest`` has ``cache`` (``mlops run --cache``), True runs only the
    #: changed stages and those after them, restoring the earlier ones. None leaves runs as they are.
    cache: bool | None = None


@dataclass
class _Planned:
    change: NotebookChange
    recorded: str  # the notebook's name in the store
    found: list[tuple[Any, str]] = field(default_factory=list)  # recorded baseline candidates
    head: RunResult | None = None
    base: RunResult | None = None


def run_ci(store: Store, options: CiOptions, *, say: Callable[[str], None] | None = None) -> CiResult:
    """Run the check; bad input (not a repository, unknown base, a tolerance that does not parse) raises
    :class:`InvalidInputError` before anything runs. ``say(line)`` hears what is about to run."""
    repo = Repo.find(options.start)
    fail_on = check_expressions(options.fail_on)
    check_param_names(options.params)
    head = repo.head()
    base = repo.merge_base(repo.commit(options.base), head)
    changes = repo.changes(base)
    selected = select(changes, options.notebooks, base_file=lambda p: repo.show(base, p),
                      head_file=lambda p: _read(repo.root / p),
                      all_notebooks=[p for p in repo.files() if p.endswith(".ipynb")],
                      inputs_of=lambda p: recorded_inputs(store, repo, p))
    plans = _plan(store, repo, base, [c for c in selected if c.runs])
    branch = branch_name(repo)
    _execute(store, repo, plans, options, say=say or (lambda line: None), name=f"ci {branch or head[:8]}",
             base=base)
    tags = {BRANCH_TAG: branch or "", BASE_TAG: base, BASE_REF_TAG: options.base, HEAD_TAG: head}
    for plan in plans:
        store.set_tags(plan.head.run_id, {**tags, ROLE_TAG: "head"})  # type: ignore[union-attr]
        if plan.base is not None:
            store.set_tags(plan.base.run_id, {**tags, ROLE_TAG: "base"})
    outcomes = [_outcome(store, repo, p, options, fail_on, base) for p in plans]
    outcomes += [NotebookOutcome(c) for c in selected if not c.runs]
    return CiResult(base_ref=options.base, base_commit=base, head_commit=head, branch=branch,
                    notebooks=outcomes, fail_on=fail_on, job_url=job_url())


def _plan(store: Store, repo: Repo, base: str, changes: list[NotebookChange]) -> list[_Planned]:
    """A plan per notebook to run, with the recorded runs that can be its baseline."""
    plans = [_Planned(c, recorded_path(repo.root / c.path, store.project_dir)) for c in changes]
    in_history = functools.cache(lambda commit: repo.is_ancestor(commit, base))
    for plan in plans:
        if plan.change.status != "added":
            before = plan.change.old_path or plan.change.path  # a renamed notebook's runs are under its old name
            old = read_json(repo.show(base, before), before)
            plan.found = candidates(store, recorded_path(repo.root / before, store.project_dir), base,
                                    base_code(old) if old else None, in_history)
    return plans


def _execute(store: Store, repo: Repo, plans: list[_Planned], options: CiOptions, *, say: Callable[[str], None],
             name: str, base: str) -> None:
    """Run every head notebook, and with ``--rerun-base`` the base's notebooks that have no recorded run
    (in a worktree of the base commit), in one runner batch: kernels start while others run."""
    rerun = [p for p in plans if options.rerun_base and not p.found and p.change.status != "added"]
    if plans:
        say(f"running {len(plans)} notebook{'s' if len(plans) != 1 else ''}"
            + (f" and {len(rerun)} at the base" if rerun else "") + ": "
            + "; ".join(f"{p.change.path} ({', '.join(p.change.reasons())})" for p in plans))
    with ExitStack() as stack:
        tree = stack.enter_context(repo.worktree(base)) if rerun else None
        requests = [_request(store, repo.root / p.change.path, options, name=name) for p in plans]
        if tree is not None:
            requests += [_request(store, tree / (p.change.old_path or p.change.path), options,
                                  name=f"ci base {base[:8]}", record_as=p.recorded) for p in rerun]
        results = run_notebooks(requests, store=store, parallel=options.parallel, executor=options.executor,
                                warn=say) if requests else []
    for plan, result in zip(plans, results):
        plan.head = result
    for plan, result in zip(rerun, results[len(plans):]):
        plan.base = result


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _request(store: Store, notebook: Path, options: CiOptions, *, name: str,
             record_as: str | None = None) -> RunRequest:
    return RunRequest(notebook=str(notebook), params=dict(options.params), trigger=Trigger.CI.value,
                      store_url=store.url, timeout=options.timeout, kernel=options.kernel, name=name,
                      record_as=record_as, **_cache_option(options.cache))


def _cache_option(cache: bool | None) -> dict[str, Any]:
    """The stage cache seam: ``RunRequest.cache`` arrives with the stage cache (``mlops run --cache``)."""
    if cache is None:
        return {}
    if "cache" not in {f.name for f in dataclasses.fields(RunRequest)}:
        raise InvalidInputError("this version of mlops-magic has no stage cache; run mlops ci without it")
    return {"cache": cache}


def recorded_inputs(store: Store, repo: Repo, notebook: str) -> list[str]:
    """The files the notebook's newest finished run read as inputs, relative to the repository."""
    recorded = recorded_path(repo.root / notebook, store.project_dir)
    runs = [r for r in store.list_runs(notebook=recorded, limit=20) if r.notebook == recorded and r.ended]
    if not runs:
        return []
    folder = (repo.root / notebook).parent
    out = []
    for fp in data_inputs(store, runs[0].id).values():
        path = (fp.schema or {}).get("path") if fp.kind in ("file", "files") else None
        if path:
            relative = repo.relative(folder / path) if not Path(path).is_absolute() else repo.relative(path)
            if relative is not None:
                out.append(relative)
    return out


def _outcome(store: Store, repo: Repo, plan: _Planned, options: CiOptions, fail_on: Sequence[str],
             base: str) -> NotebookOutcome:
    result = plan.head
    assert result is not None
    out = NotebookOutcome(plan.change, run_id=result.run_id, status=result.status, duration=result.duration,
                          executed=_shown_path(repo, result.output))
    if result.status != SUCCEEDED:
        out.failure = failure(store, result)
    found = list(plan.found)
    if plan.base is not None:
        found.append((store.get_run(plan.base.run_id), "run again at the base"))
    if plan.change.status == "added":
        out.baseline = Baseline(note="new in this pull request: no baseline")
    elif found:
        out.baseline = choose(store, found, result.run_id, dict(options.params))
    else:
        out.baseline = Baseline(note=f"no recorded run of {plan.change.path} from the base's code ({base[:8]}); "
                                     "pass --rerun-base to run the base's notebook too")
    reason = None
    if out.baseline.run is None:
        reason = "no baseline"
    else:
        out.diff = diff_runs(store, out.baseline.run.id, result.run_id)
        out.metrics = _metrics(out.diff)
        if not out.baseline.same_inputs and not options.allow_changed_inputs:
            reason = "inputs differ from the base's run; --allow-changed-inputs compares anyway"
        else:
            out.compared = True
    if result.status != SUCCEEDED:
        reason = reason or f"the run {result.status}"
    out.tolerances = [check(expr, {k: m["delta"] for k, m in out.metrics.items()}, reason=reason)
                      for expr in fail_on]
    out.gates = run_gates(store, result.run_id)
    try:
        out.refusals = list(json.loads(store.get_tag(result.run_id, REFUSED_TAG) or "[]"))
    except ValueError:
        out.refusals = []
    return out


def _metrics(diff: RunDiff) -> dict[str, dict[str, float | None]]:
    return {key: m for stage in diff.stages for key, m in stage.metrics.items()}


def _shown_path(repo: Repo, path: str | None) -> str | None:
    if not path:
        return None
    return repo.relative(path) or path


def failure(store: Store, result: RunResult) -> Failure:
    """The failing stage and cell, the error, and the tail of its traceback from the executed notebook."""
    text = result.error or result.status
    where, _, error = text.partition(" failed: ")
    if not error:
        where, error = "", text
    return Failure(where=where, error=error, traceback=_traceback(store, result.run_id))


def _traceback(store: Store, run_id: str) -> str:
    nb = kept_notebook(store, run_id)
    for cell in (nb or {}).get("cells", []):
        for out in cell.get("outputs") or []:
            if out.get("output_type") == "error":
                lines = [_ANSI.sub("", line) for tb in out.get("traceback") or [] for line in str(tb).split("\n")]
                lines = [line for line in lines if line.strip()]
                return "\n".join(lines[-TRACEBACK_LINES:])
    return ""

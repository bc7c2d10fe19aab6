"""Execute one prepared run: create it in the store, run it through papermill, map the outcome, finish it.

Outcomes are told apart: a cell error is ``failed`` (stage and cell named,
the partial notebook kept), a kernel that died is ``killed``, a run past its
``timeout`` is ``timed-out``; ``retries`` re-executes within the same run,
so stage attempts accumulate and the run keeps one id.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..entities import RETRYABLE_STATUSES, RunStatus
from ..errors import MlopsError, RunInterrupted
from ..report import write_run_report
from ..store import Store
from ..tracking.environment import environment, git_state
from ..tracking.stages import stage_of_cell
from .engine import import_papermill, register
from .kernels import KernelSlot
from .liblog import LibraryLog
from .notify import notify_all
from .prepare import PreparedRun
from .request import RunFailure, RunResult
from .system import sampling

SIGNATURE_TAG = "mlops.inputs_signature"
INPUTS_TAG = "mlops.inputs"


@dataclass
class Outcome:
    status: RunStatus
    error: str | None = None
    failure: RunFailure | None = None

    @property
    def gate_failed(self) -> bool:
        return self.failure is not None and self.failure.gate_failed


def runs_dir(store: Store) -> Path:
    """The local folder of headless runs' working copies (never in an object store: kernels need files)."""
    return store.work_dir / "runs"


def kernel_env(prep: PreparedRun, store: Store, input_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JPY_SESSION_NAME", "MLOPS_RUN_ID")}
    env.update(prep.env)
    env.update({
        "MLOPS_RUN_ID": prep.run_id,
        "MLOPS_STORE": store.url,
        "MLOPS_NOTEBOOK": prep.recorded_notebook,
        "MLOPS_NOTEBOOK_SOURCE": str(input_path),
    })
    if prep.request.cache is not None:
        env["MLOPS_CACHE"] = "1" if prep.request.cache else "0"
    return env


def write_input(prep: PreparedRun, store: Store) -> Path:
    folder = runs_dir(store) / prep.run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "input.ipynb"
    path.write_text(json.dumps(with_cell_ids(prep.nb), indent=1), encoding="utf-8")
    return path


def with_cell_ids(nb: dict[str, Any]) -> dict[str, Any]:
    """Give every cell an id (nbformat 4.5): the kernel finds ``mlops:KIND`` tags by cell id.

    Notebooks written before nbformat 4.5 (or by other tools) have none; without this their
    tag-form stages would run untracked.
    """
    if nb.get("nbformat") == 4 and int(nb.get("nbformat_minor", 0)) < 5:
        nb["nbformat_minor"] = 5
    seen: set[str] = set()
    for index, cell in enumerate(nb.get("cells", [])):
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen:
            cell_id = f"mlops-{index}"
            while cell_id in seen:
                cell_id += "x"
            cell["id"] = cell_id
        seen.add(cell_id)
    return nb


def launch_kernel(prep: PreparedRun, store: Store) -> KernelSlot:
    """Write the prepared notebook and start its kernel (it boots while something else runs)."""
    input_path = write_input(prep, store)
    slot = KernelSlot(prep.kernel, kernel_env(prep, store, input_path), prep.cwd,
                      runs_dir(store) / prep.run_id / "kernel.log", native=prep.native_kernel)
    return slot.launch()


def last_successful(store: Store, notebook: str) -> tuple[str, str, dict[str, Any]] | None:
    """(run id, signature, signature parts) of the notebook's latest succeeded headless run."""
    found = store.latest_tagged_run(notebook, SIGNATURE_TAG, status=RunStatus.SUCCEEDED)
    if found is None:
        return None
    run_id, signature = found
    try:
        parts = json.loads(store.get_tag(run_id, INPUTS_TAG) or "{}")
    except ValueError:
        parts = {}
    return run_id, signature, parts


def unchanged_since(store: Store, prep: PreparedRun) -> str | None:
    """The id of the last successful run with the same inputs signature, if there is one."""
    last = last_successful(store, prep.recorded_notebook)
    return last[0] if last and last[1] == prep.signature else None


def create_run(store: Store, prep: PreparedRun, status: RunStatus = RunStatus.RUNNING, error: str | None = None, *,
               executor: str | None = None, waiting: str | None = None) -> None:
    req = prep.request
    commit, dirty = git_state(prep.notebook_path.parent)
    store.create_run(
        run_id=prep.run_id, notebook=prep.recorded_notebook, trigger=req.trigger, name=req.name,
        params=req.params, code_version=commit, git_dirty=dirty, environment=environment(),
        parent_run_id=req.parent_run_id, schedule_id=req.schedule_id, status=status, error=error,
        executor=executor, waiting=waiting,
    )
    tags = {SIGNATURE_TAG: prep.signature, INPUTS_TAG: json.dumps(prep.signature_parts, sort_keys=True)}
    if req.stages:
        tags["mlops.stages"] = ",".join(req.stages)
    if req.from_stage:
        tags["mlops.from_stage"] = req.from_stage
    store.set_tags(prep.run_id, tags)


def skip_run(store: Store, prep: PreparedRun, previous: str) -> RunResult:
    reason = f"skipped: nothing changed since run {previous[:8]} (same code, parameters and watched inputs)"
    create_run(store, prep, status=RunStatus.SKIPPED, error=reason)
    return RunResult(run_id=prep.run_id, notebook=prep.recorded_notebook, status=RunStatus.SKIPPED, error=reason)


def run_prepared(prep: PreparedRun, store: Store, slot: KernelSlot | None = None, *,
                 executor: str | None = None) -> RunResult:
    """Create, execute (with retries) and finish one run; the kernel ``slot`` may be pre-started."""
    req = prep.request
    started = time.monotonic()
    if req.if_changed:
        previous = unchanged_since(store, prep)
        if previous:
            if slot is not None:
                slot.kill()
            return skip_run(store, prep, previous)
    if slot is None:
        slot = launch_kernel(prep, store)
    create_run(store, prep, executor=executor)
    return execute_created(prep, store, slot, started=started)


def _finish(store: Store, run_id: str, status: RunStatus, error: str | None) -> bool:
    store.finish_run(run_id, status, error)
    return True


def execute_created(prep: PreparedRun, store: Store, slot: KernelSlot | None, *, started: float,
                    first_attempt: int = 1, finish: Callable[[Store, str, RunStatus, str | None], bool] = _finish,
                    on_slot: Callable[[KernelSlot | None], None] | None = None,
                    stopped: Callable[[], str | None] | None = None) -> RunResult:
    """Execute a run that exists in the store (with retries from ``first_attempt``), then finish it.

    ``finish`` ends the run in the store (a cluster worker ends it only while it is still its own);
    ``on_slot`` is told each kernel in use (so a watcher can kill it); ``stopped`` answers why the run
    was stopped from outside (cancelled), which ends the retries.
    """
    req = prep.request
    folder = runs_dir(store) / prep.run_id
    output = folder / "output.ipynb"
    outcome = Outcome(RunStatus.FAILED, "not executed")
    attempts = first_attempt - 1
    try:
        for attempt in range(first_attempt, max(0, req.retries) + 2):
            attempts = attempt
            if slot is None:
                slot = launch_kernel(prep, store)
            if on_slot is not None:
                on_slot(slot)
            with sampling(store, prep.run_id, slot):  # what the kernel costs the machine: system.* series
                outcome = execute_once(prep, slot, folder / "input.ipynb", output)
            slot = None
            if on_slot is not None:
                on_slot(None)
            reason = stopped() if stopped is not None else None
            if reason:
                outcome = Outcome(RunStatus.KILLED, reason)
                break
            if outcome.status not in RETRYABLE_STATUSES or outcome.gate_failed or attempt > req.retries:
                break
            time.sleep(max(0.0, req.retry_delay) * (2 ** (attempt - 1)))
    except BaseException as exc:  # an interrupt or a runner bug must not leave the run 'running'
        if slot is not None:
            slot.kill()
        if isinstance(exc, KeyboardInterrupt):
            finish(store, prep.run_id, RunStatus.KILLED, f"interrupted (Ctrl-C){_where(prep, output)}")
            if not isinstance(exc, RunInterrupted):
                raise RunInterrupted(prep.run_id) from exc  # the CLI names the run it killed
        else:
            finish(store, prep.run_id, RunStatus.FAILED, f"runner stopped: {type(exc).__name__}: {exc}"[:2000])
        raise
    if attempts > 1:
        store.set_tags(prep.run_id, {"mlops.attempts": attempts})
    try:
        kept = keep_output(store, prep, output)
    except MlopsError as exc:  # the artifact store is unreachable or refuses us: the run says so, once
        kept = None
        if outcome.status == RunStatus.SUCCEEDED:
            outcome = Outcome(RunStatus.FAILED, f"the executed notebook could not be stored: {exc}"[:2000])
    finish(store, prep.run_id, outcome.status, outcome.error)
    report = None
    if req.report:
        try:
            report = str(write_run_report(store, prep.run_id))
        except Exception as exc:  # a report must never change the run's outcome
            report = f"(report failed: {exc})"
    result = RunResult(run_id=prep.run_id, notebook=prep.recorded_notebook, status=outcome.status,
                       error=outcome.error, output=kept, attempts=max(1, attempts),
                       duration=time.monotonic() - started, gate_failed=outcome.gate_failed, report=report,
                       failure=outcome.failure)
    if outcome.status != RunStatus.SUCCEEDED:
        notify_all(req.notify, result, store)
    return result


def keep_output(store: Store, prep: PreparedRun, output: Path) -> str | None:
    """Store the executed notebook as an artifact of the run and copy it to ``--output``."""
    if not output.exists():
        return None
    store.log_artifact(prep.run_id, output, name="executed.ipynb")
    dest = prep.request.output
    if not dest:
        return str(output)
    target = Path(dest)
    if target.suffix != ".ipynb":
        target = target / prep.notebook_path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(output, target)
    return str(target)


def execute_once(prep: PreparedRun, slot: KernelSlot, input_path: Path, output: Path) -> Outcome:
    """One attempt on one kernel; the kernel is dead when this returns."""
    import_papermill()
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError


    req = prep.request
    _quiet_papermill()
    capture = LibraryLog(output.parent / "runner.log")
    timed_out = threading.Event()
    watchdog = None
    if req.timeout:
        def expire() -> None:
            timed_out.set()
            slot.hard_kill()

        watchdog = threading.Timer(req.timeout, expire)
        watchdog.daemon = True
        watchdog.start()
    try:
        papermill.execute_notebook(
            str(input_path), str(output), parameters=dict(req.params) or None, engine_name=register(),
            km=slot.km, kernel_name=slot.kernel_name, progress_bar=req.progress, start_timeout=60,
        )
        return Outcome(RunStatus.SUCCEEDED)
    except PapermillExecutionError as exc:
        if timed_out.is_set():
            return Outcome(RunStatus.TIMED_OUT, f"timed out after {req.timeout:g}s{_where(prep, output)}")
        stage, cell, place = locate_cell(prep, output, exc.cell_index)
        message = f"{exc.ename}: {exc.evalue}".strip().splitlines()[0][:500] if exc.evalue else \
            (_stderr_tail(output, exc.cell_index) or exc.ename)
        return Outcome(RunStatus.FAILED, f"{place} failed: {message}",
                       RunFailure(stage=stage, cell_index=cell, ename=exc.ename, evalue=exc.evalue or message))
    except (DeadKernelError, RuntimeError) as exc:
        if timed_out.is_set():
            return Outcome(RunStatus.TIMED_OUT, f"timed out after {req.timeout:g}s{_where(prep, output)}")
        if isinstance(exc, RuntimeError) and "Kernel didn't respond" in str(exc):  # nbclient's start-up timeout
            tail = slot.log_tail(2).replace("\n", " | ")
            return Outcome(RunStatus.KILLED, f"the kernel did not start{': ' + tail if tail else ''}")
        if not isinstance(exc, DeadKernelError) and slot.alive():
            raise
        tail = slot.log_tail(1)
        return Outcome(RunStatus.KILLED, f"the kernel died{_where(prep, output)}"
                                         f"{' (' + tail[:200] + ')' if tail else ''}")
    finally:
        if watchdog is not None:
            watchdog.cancel()
        slot.kill()
        capture.close()


class _DropUnknownParameter:
    """papermill warns per unknown parameter; the runner already said so once, before running."""

    def filter(self, record: Any) -> bool:
        return not str(record.msg).startswith("Passed unknown parameter")


def _quiet_papermill() -> None:
    import logging

    logger = logging.getLogger("papermill")
    if not any(isinstance(f, _DropUnknownParameter) for f in logger.filters):
        logger.addFilter(_DropUnknownParameter())


def _executed_cells(output: Path) -> list[dict[str, Any]]:
    from papermill.execute import ERROR_MARKER_TAG

    try:
        nb = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [c for c in nb.get("cells", []) if ERROR_MARKER_TAG not in (c.get("metadata") or {}).get("tags", [])]


def _stderr_tail(output: Path, index: int) -> str | None:
    """The last stderr line of a cell that failed without an error output (e.g. an IPython UsageError)."""
    cells = _executed_cells(output)
    if not 0 <= index < len(cells):
        return None
    for out in reversed(cells[index].get("outputs", [])):
        if out.get("name") == "stderr":
            text = "".join(out.get("text", "")).strip()
            if text:
                return text.splitlines()[-1][:500]
    return None


def locate_cell(prep: PreparedRun, output: Path, index: int) -> tuple[str | None, int | None, str]:
    """(stage name or None, index in the user's notebook or None, 'stage train (cell 4)') of an index into
    the executed (parameterised) notebook."""
    cells = _executed_cells(output)
    if not 0 <= index < len(cells):
        return None, None, f"cell {index}"
    cell = cells[index]
    tags = (cell.get("metadata") or {}).get("tags") or []
    if "injected-parameters" in tags:
        return None, None, "the injected parameters cell"
    # papermill inserts an injected cell only when given parameters and the notebook has none yet (one
    # left by an earlier papermill run is replaced in place, and runs as it is without parameters)
    inserted = bool(prep.request.params) and not any(
        "injected-parameters" in ((c.get("metadata") or {}).get("tags") or []) for c in prep.nb.get("cells", []))
    injected_before = sum(1 for c in cells[:index]
                          if "injected-parameters" in ((c.get("metadata") or {}).get("tags") or [])) if inserted else 0
    prepared_index = index - injected_before
    original = prep.source_index[prepared_index] if prepared_index < len(prep.source_index) else prepared_index
    source = cell.get("source", "")
    spec = stage_of_cell("".join(source) if isinstance(source, list) else source, tags)
    if spec:
        return spec.name, original, f"stage {spec.name} (cell {original})"
    return None, original, f"setup cell {original}"


def _where(prep: PreparedRun, output: Path) -> str:
    """' in stage train (cell 4)': the last cell that started, for a kernel that died or timed out."""
    cells = _executed_cells(output)
    last = None
    for i, cell in enumerate(cells):
        if ((cell.get("metadata") or {}).get("papermill") or {}).get("start_time"):
            last = i
    return "" if last is None else " in " + locate_cell(prep, output, last)[2]



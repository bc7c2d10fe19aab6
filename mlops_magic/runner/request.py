"""What a headless run is asked to do (:class:`RunRequest`) and what came of it (:class:`RunResult`).

Both are plain, picklable values: an executor may carry them to another
process or machine; the store is the only state the two sides share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..entities import RunStatus, Trigger
from ..errors import ExecutionError, GateFailedError

#: CLI exit status per run status. ``2`` is a usage error (bad input, nothing run).
EXIT_CODES: dict[str, int] = {
    RunStatus.SUCCEEDED: 0,
    RunStatus.SKIPPED: 0,
    RunStatus.FAILED: 1,
    "gate-failed": 3,
    RunStatus.TIMED_OUT: 4,
    RunStatus.KILLED: 5,
}
EXIT_USAGE = 2


@dataclass(frozen=True)
class RunRequest:
    """One notebook to execute headlessly, with everything that decides how."""

    notebook: str
    params: dict[str, Any] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    from_stage: str | None = None
    trigger: str = Trigger.MANUAL
    store_url: str | None = None
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 2.0
    kernel: str | None = None
    cwd: str | None = None
    output: str | None = None
    if_changed: bool = False
    watch: tuple[str, ...] = ()
    schedule_id: str | None = None
    parent_run_id: str | None = None
    run_id: str | None = None
    name: str | None = None
    progress: bool = False
    notify: tuple[str, ...] = ()
    report: bool = False
    #: Cluster executors only: worker resources the run needs (``{"GPU": 1, "memory": 8 * 2**30}``) and
    #: how many seconds it may wait queued for a worker before it fails.
    resources: dict[str, float] = field(default_factory=dict)
    queue_timeout: float | None = None
    #: Record the run under this notebook path instead of ``notebook`` (``mlops reproduce`` executes the
    #: code kept with a run from a copy, but the new run belongs to the original notebook).
    record_as: str | None = None
    #: The stage cache for this run's kernel (``MLOPS_CACHE``): True caches every stage, False none (not even
    #: ``--cache`` stages: a reproduction recomputes), None leaves it to the stage headers and environment.
    cache: bool | None = None


@dataclass(frozen=True)
class RunFailure:
    """The cell that failed a run, as papermill's ``PapermillExecutionError`` names it: its stage (None for a
    setup cell), its index in the notebook as the user wrote it (None for the injected parameters cell),
    and the exception's class name and message as the kernel reported them."""

    stage: str | None
    cell_index: int | None
    ename: str
    evalue: str

    @property
    def gate_failed(self) -> bool:
        """A quality gate stopped the run. Only the name crosses the kernel boundary, so this is where it
        is read: ``%mlops gate`` and ``mlops.gate()`` both raise :class:`GateFailedError` itself."""
        return self.ename == GateFailedError.__name__


@dataclass(frozen=True)
class RunResult:
    run_id: str
    notebook: str
    status: RunStatus
    error: str | None = None
    output: str | None = None
    attempts: int = 1
    duration: float = 0.0  # seconds it ran (0 when it never started)
    gate_failed: bool = False
    report: str | None = None
    failure: RunFailure | None = None  # the failing cell, when a cell error failed the run
    waited: float = 0.0  # seconds it waited in an executor's queue before it started

    @property
    def exit_code(self) -> int:
        if self.gate_failed:
            return EXIT_CODES["gate-failed"]
        return EXIT_CODES.get(self.status, 1)

    def check(self) -> RunResult:
        """This result when the run succeeded (or was skipped); else raise :class:`ExecutionError` saying why,
        with the failing stage and cell."""
        if self.status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
            return self
        where = self.failure or RunFailure(None, None, "", "")
        why = self.error or "no reason given"
        raise ExecutionError(f"run {self.run_id[:8]} of {self.notebook} {self.status}: {why}"[:1000],
                             stage=where.stage, cell_index=where.cell_index)

    def line(self) -> str:
        """One line for a terminal: id, status, notebook, and why when it did not succeed."""
        text = f"{self.run_id[:8]}  {self.status:<9}  {self.notebook}  {self.times()}"
        if self.attempts > 1:
            text += f"  ({self.attempts} attempts)"
        if self.error:
            text += f"  — {self.error}"
        return text

    def times(self) -> str:
        """How long it ran, and how long it waited first when it waited: ``4.2s``, ``4.2s after waiting
        10.0s in the queue``, ``never started: waited 30.0s in the queue``."""
        if self.waited < 0.05:
            return f"{self.duration:.1f}s"
        if self.duration <= 0:
            return f"never started: waited {self.waited:.1f}s in the queue"
        return f"{self.duration:.1f}s after waiting {self.waited:.1f}s in the queue"

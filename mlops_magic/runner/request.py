"""What a headless run is asked to do (:class:`RunRequest`) and what came of it (:class:`RunResult`).

Both are plain, picklable values: an executor may carry them to another
process or machine; the store is the only state the two sides share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: CLI exit status per run status. ``2`` is a usage error (bad input, nothing run).
EXIT_CODES: dict[str, int] = {
    "succeeded": 0,
    "skipped": 0,
    "failed": 1,
    "gate-failed": 3,
    "timed-out": 4,
    "killed": 5,
}
EXIT_USAGE = 2


@dataclass(frozen=True)
class RunRequest:
    """One notebook to execute headlessly, with everything that decides how."""

    notebook: str
    params: dict[str, Any] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    from_stage: str | None = None
    trigger: str = "manual"
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
class RunResult:
    run_id: str
    notebook: str
    status: str
    error: str | None = None
    output: str | None = None
    attempts: int = 1
    duration: float = 0.0
    gate_failed: bool = False
    report: str | None = None

    @property
    def exit_code(self) -> int:
        if self.gate_failed:
            return EXIT_CODES["gate-failed"]
        return EXIT_CODES.get(self.status, 1)

    def line(self) -> str:
        """One line for a terminal: id, status, notebook, and why when it did not succeed."""
        text = f"{self.run_id[:8]}  {self.status:<9}  {self.notebook}  {self.duration:.1f}s"
        if self.attempts > 1:
            text += f"  ({self.attempts} attempts)"
        if self.error:
            text += f"  — {self.error}"
        return text

"""What ``mlops ci`` found: per notebook, the change, the head run, its baseline, the comparison and the
verdicts; for the whole pull request, the exit status. The Markdown report (``report.py``) and the JUnit
file (``junit.py``) are renderings of these values, so they cannot disagree with the exit status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..entities import RunStatus
from .compare import Baseline
from .select import NotebookChange
from .tolerances import ToleranceResult

if TYPE_CHECKING:
    from ..explain.diff import RunDiff
    from ..registry.gates import GateResult

EXIT_OK, EXIT_FAILED = 0, 1
SUCCEEDED = RunStatus.SUCCEEDED


@dataclass
class Failure:
    """Where a head run failed and with what: 'stage train (cell 4)', 'ValueError: boom', the traceback's tail."""

    where: str
    error: str
    traceback: str = ""

    def line(self) -> str:
        return f"{self.where} failed: {self.error}" if self.where else self.error


@dataclass
class NotebookOutcome:
    change: NotebookChange
    run_id: str | None = None
    status: str | None = None
    duration: float = 0.0
    executed: str | None = None  # the executed notebook (a path, relative to the repository when inside it)
    failure: Failure | None = None
    baseline: Baseline | None = None
    compared: bool = False  # metrics were held to the tolerances (a baseline on the same inputs, or allowed)
    diff: RunDiff | None = None
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)  # key → a (base), b (head), delta
    tolerances: list[ToleranceResult] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # alias moves the run asked for, refused under CI

    @property
    def ran(self) -> bool:
        return self.run_id is not None

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    @property
    def failed(self) -> bool:
        """The run did not succeed, a tolerance broke, or a quality gate (hard or soft) did not hold."""
        return self.ran and (self.status != SUCCEEDED or any(t.broken for t in self.tolerances)
                             or bool(self.failed_gates))

    def verdict(self) -> str:
        """One line: what came of this notebook."""
        if not self.ran:
            return "not run: " + ("removed" if self.change.status == "deleted" else "no code or input change")
        if self.failure is not None:
            return self.failure.line()
        bits = [t.line() for t in self.tolerances if t.broken]
        bits += [f"gate failed: {g.describe_failure()}" for g in self.failed_gates]
        if bits:
            return "; ".join(bits)
        if self.baseline is None or self.baseline.run is None:
            return f"{self.status}; {self.baseline.note if self.baseline else 'no baseline'}"
        if not self.compared:
            return f"{self.status}; inputs differ from the base's run, metrics not compared"
        held = [t for t in self.tolerances if t.verdict == "held"]
        return f"{self.status}; " + (f"{len(held)} tolerance{'s' if len(held) != 1 else ''} held" if held
                                     else "compared with the base")

    def to_dict(self) -> dict[str, Any]:
        return {"notebook": self.change.path, "change": self.change.to_dict(), "run_id": self.run_id,
                "status": self.status, "duration": self.duration, "executed": self.executed,
                "failure": self.failure.__dict__ if self.failure else None,
                "baseline": self.baseline.to_dict() if self.baseline else None, "compared": self.compared,
                "headline": self.diff.headline if self.diff else None, "metrics": self.metrics,
                "tolerances": [t.to_dict() for t in self.tolerances],
                "gates": [g.to_dict() for g in self.gates], "refusals": self.refusals,
                "failed": self.failed, "verdict": self.verdict()}  # not a run status: a JSON key


@dataclass
class CiResult:
    base_ref: str
    base_commit: str
    head_commit: str
    branch: str | None
    notebooks: list[NotebookOutcome]
    fail_on: list[str] = field(default_factory=list)
    job_url: str | None = None

    @property
    def ran(self) -> list[NotebookOutcome]:
        return [n for n in self.notebooks if n.ran]

    @property
    def failed(self) -> list[NotebookOutcome]:
        return [n for n in self.notebooks if n.failed]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def summary(self) -> str:
        """'2 notebooks run, 1 failed' or 'nothing to run: no notebook's code or inputs changed'."""
        if not self.ran:
            return "nothing to run: no notebook's stage code, parameters or inputs changed"
        text = f"{len(self.ran)} notebook{'s' if len(self.ran) != 1 else ''} run"
        return text + (f", {len(self.failed)} failed" if self.failed else ", all checks held")

    def lines(self) -> list[str]:
        """The terminal's account: one line per notebook, then the summary."""
        out = [f"base {self.base_commit[:8]} ({self.base_ref}) → head {self.head_commit[:8]}"
               + (f" ({self.branch})" if self.branch else "")]
        for n in self.notebooks:
            mark = "FAIL" if n.failed else ("ok" if n.ran else "-")
            run = f"  run {n.run_id[:8]}" if n.run_id else ""
            out.append(f"{mark:<4}  {n.change.path}: {'; '.join(n.change.reasons())}{run}  — {n.verdict()}")
        out.append(self.summary())
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"base_ref": self.base_ref, "base_commit": self.base_commit, "head_commit": self.head_commit,
                "branch": self.branch, "job_url": self.job_url, "fail_on": self.fail_on,
                "exit_code": self.exit_code, "summary": self.summary(),
                "notebooks": [n.to_dict() for n in self.notebooks]}

"""``--fail-on "auc < -0.01"``: how far a metric may move against the base before the check fails.

A tolerance is written in the quality gates' grammar (``registry/gates.py``: clauses ``METRIC OP
NUMBER`` joined by and/or, parentheses; parsed, never evaluated as code) over the metric *deltas*,
head minus base. It fails the check when it is true: ``auc < -0.01`` fails when auc dropped by more
than 0.01. A tolerance naming a metric one notebook does not log is not checked there (and says so);
it is not an error, since one ``--fail-on`` applies to every notebook of the pull request.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..display.html import fmt_number
from ..registry.gates import clauses, evaluate, parse_gate

HELD, BROKEN, NOT_CHECKED = "held", "broken", "not checked"


def check_expressions(expressions: Sequence[str]) -> list[str]:
    """Parse every ``--fail-on`` up front: a typo is a usage error before anything runs."""
    for text in expressions:
        parse_gate(text)
    return [t.strip() for t in expressions]


@dataclass
class ToleranceResult:
    expression: str
    verdict: str  # held | broken | not checked
    clauses: list[dict[str, Any]] = field(default_factory=list)  # clause, metric, delta, true
    reason: str = ""

    @property
    def broken(self) -> bool:
        return self.verdict == BROKEN

    def line(self) -> str:
        if self.verdict == NOT_CHECKED:
            return f"{self.expression}: not checked ({self.reason})"
        moves = ", ".join(f"{c['metric']} {fmt_number(c['delta'], sign=True)}" for c in self.clauses)
        return f"{self.expression}: {self.verdict} ({moves})"

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression, "verdict": self.verdict, "clauses": self.clauses,
                "reason": self.reason}


def check(expression: str, deltas: dict[str, float | None], *, reason: str | None = None) -> ToleranceResult:
    """Evaluate one tolerance on ``deltas`` (metric → head − base; None when a side lacks it).

    ``reason`` says why nothing can be compared (no baseline, inputs differ): not checked.
    """
    if reason:
        return ToleranceResult(expression, NOT_CHECKED, reason=reason)
    names = sorted({c.metric for c in clauses(parse_gate(expression))})
    missing = [n for n in names if deltas.get(n) is None]
    if missing:
        return ToleranceResult(expression, NOT_CHECKED,
                               reason=f"no {', '.join(missing)} on both sides to compare")
    known = {n: float(deltas[n]) for n in names}  # type: ignore[arg-type]
    if any(math.isnan(v) for v in known.values()):
        return ToleranceResult(expression, BROKEN, reason="a metric is NaN",
                               clauses=[{"metric": n, "delta": v} for n, v in known.items()])
    result = evaluate(expression, known)
    parts = [{"clause": c.clause, "metric": c.metric, "delta": c.value, "true": c.passed} for c in result.clauses]
    return ToleranceResult(expression, BROKEN if result.passed else HELD, parts)

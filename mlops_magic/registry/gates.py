"""Quality gates: ``accuracy >= 0.85 and (auc > 0.9 or f1 >= 0.8)`` over a run's metrics.

A gate is parsed by a tokenizer and a recursive-descent parser (never ``eval``):

    expr   := and ("or" and)*
    and    := atom ("and" atom)*
    atom   := "(" expr ")" | clause
    clause := METRIC OP NUMBER          OP: >= > <= < == !=

``METRIC`` is a name such as ``val_loss``, ``eval/auc`` or ``f1-macro``; a name with
spaces is written between backticks. Every clause is evaluated (no short
circuit) so each one's result is recorded, and a failure names its clauses.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..display.html import fmt_number
from ..entities import _Entity
from ..errors import GateFailedError, InvalidInputError
from ..store import registry as tables
from ..tracking.queries import cached_from
from ..tracking.session import get_session

OPERATORS = (">=", "<=", "==", "!=", ">", "<")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])"
    r"|(?P<op>>=|<=|==|!=|>|<)"
    r"|(?P<paren>[()])"
    r"|`(?P<quoted>[^`]+)`"
    r"|(?P<name>[A-Za-z_][\w./:-]*))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # num | op | paren | name | and | or | end
    text: str
    pos: int


@dataclass(frozen=True)
class Clause:
    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        name = self.metric if re.fullmatch(r"[A-Za-z_][\w./:-]*", self.metric) else f"`{self.metric}`"
        return f"{name} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    items: tuple[Node, ...]


Node = Clause | BoolOp


@dataclass(frozen=True)
class ClauseResult(_Entity):
    """One comparison of a gate: which metric, its value, the threshold, the verdict."""

    clause: str
    metric: str
    op: str
    threshold: float
    value: float
    passed: bool
    #: The run that computed the value, when a stage restored from the stage cache logged it (None: this run's).
    cached_from: str | None = None

    @property
    def value_text(self) -> str:
        """``0.9132`` or ``0.9132, cached from run 8b3a30a0``: a restored value never passes for a new one."""
        return fmt_number(self.value) + (f", cached from run {self.cached_from[:8]}" if self.cached_from else "")


@dataclass(frozen=True)
class GateResult(_Entity):
    """A gate evaluated on a run: the verdict and every clause's result."""

    expression: str
    passed: bool
    clauses: list[ClauseResult] = field(default_factory=list)
    soft: bool = False
    run_id: str | None = None
    stage_id: int | None = None

    @property
    def failed_clauses(self) -> list[ClauseResult]:
        return [c for c in self.clauses if not c.passed]

    def describe_failure(self) -> str:
        parts = [f"{c.clause} (got {c.metric} = {fmt_number(c.value, 6)}"
                 + (f", cached from run {c.cached_from[:8]})" if c.cached_from else ")") for c in self.failed_clauses]
        return "; ".join(parts) or self.expression

    def __repr__(self) -> str:
        marks = ", ".join(f"{'✔' if c.passed else '✘'} {c.clause} [{c.value_text}]" for c in self.clauses)
        return f"gate {'passed' if self.passed else 'FAILED'}: {marks}"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise _syntax(text, start, f"unexpected {text[start:start + 10]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        start = m.start(kind) - (1 if kind == "quoted" else 0)
        if kind == "name" and value.lower() in ("and", "or"):
            kind = value.lower()
        elif kind == "quoted":
            kind = "name"
        tokens.append(Token(kind, value, start))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _syntax(text: str, pos: int, what: str) -> InvalidInputError:
    return InvalidInputError(f"cannot parse gate {text!r} at column {pos + 1}: {what}; "
                             "write clauses like `accuracy >= 0.85` joined by and/or, with parentheses")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, expected: str) -> InvalidInputError:
        tok = self.peek()
        found = "the end" if tok.kind == "end" else repr(tok.text)
        return _syntax(self.text, tok.pos, f"expected {expected}, found {found}")

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise InvalidInputError("empty gate; write e.g. \"accuracy >= 0.85 and auc >= 0.9\"")
        node = self.expr()
        if self.peek().kind != "end":
            raise self.fail("'and', 'or' or the end")
        return node

    def expr(self) -> Node:
        return self._joined("or", self.conj)

    def conj(self) -> Node:
        return self._joined("and", self.atom)

    def _joined(self, op: str, sub: Any) -> Node:
        items = [sub()]
        while self.peek().kind == op:
            self.take()
            items.append(sub())
        return items[0] if len(items) == 1 else BoolOp(op, tuple(items))

    def atom(self) -> Node:
        tok = self.peek()
        if tok.kind == "paren" and tok.text == "(":
            self.take()
            node = self.expr()
            if not (self.peek().kind == "paren" and self.peek().text == ")"):
                raise self.fail("')'")
            self.take()
            return node
        if tok.kind != "name":
            raise self.fail("a metric name or '('")
        self.take()
        if self.peek().kind != "op":
            raise self.fail(f"an operator ({' '.join(OPERATORS)}) after {tok.text!r}")
        op = self.take().text
        if self.peek().kind != "num":
            raise self.fail(f"a number after {tok.text!r} {op}")
        return Clause(tok.text, op, float(self.take().text))


def parse_gate(text: str) -> Node:
    """The syntax tree of a gate; raises InvalidInputError naming the column that does not parse."""
    if not isinstance(text, str):
        raise InvalidInputError(f"a gate is a string, got {type(text).__name__}")
    return _Parser(text).parse()


def clauses(node: Node) -> list[Clause]:
    if isinstance(node, Clause):
        return [node]
    return [c for item in node.items for c in clauses(item)]


def _compare(value: float, op: str, threshold: float) -> bool:
    if math.isnan(value):
        return False  # a NaN metric never passes a gate, whatever the operator
    return {
        ">=": value >= threshold, ">": value > threshold, "<=": value <= threshold,
        "<": value < threshold, "==": value == threshold, "!=": value != threshold,
    }[op]


def _truth(node: Node, verdicts: dict[Clause, bool]) -> bool:
    if isinstance(node, Clause):
        return verdicts[node]
    results = [_truth(item, verdicts) for item in node.items]
    return all(results) if node.op == "and" else any(results)


def evaluate(text: str, metrics: dict[str, float], *, soft: bool = False,
             cached: dict[str, str] | None = None) -> GateResult:
    """Evaluate a gate against ``metrics``; a metric that is missing is an error that lists the known ones.
    ``cached``: metric → the run that computed it, for values a stage restored from the cache logged."""
    tree = parse_gate(text)
    parts = clauses(tree)
    missing = sorted({c.metric for c in parts if c.metric not in metrics})
    if missing:
        known = ", ".join(sorted(metrics)) or "none yet; log some with %mlops metric NAME=VALUE"
        raise InvalidInputError(f"gate names metric{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(repr(m) for m in missing)} that this run does not have; "
                                f"its metrics: {known}")
    verdicts = {c: _compare(float(metrics[c.metric]), c.op, c.threshold) for c in parts}
    results = [ClauseResult(str(c), c.metric, c.op, c.threshold, float(metrics[c.metric]), verdicts[c],
                            (cached or {}).get(c.metric)) for c in parts]
    return GateResult(text.strip(), _truth(tree, verdicts), results, soft)


# -- recording --------------------------------------------------------------------------------------
def record(store: Any, result: GateResult) -> None:
    clauses = [c.to_dict() for c in result.clauses]
    store.db.run_in_transaction(lambda tx: tables.insert_gate_result(
        tx, result.run_id, result.stage_id, result.expression, result.passed, result.soft, clauses, time.time()))


def run_gates(store: Any, run_id: str) -> list[GateResult]:
    """The run's gates, the latest result of each distinct expression (a re-evaluated gate replaces itself)."""
    latest: dict[str, GateResult] = {}
    for expression, passed, soft, clauses, stage_id in tables.gate_rows(store.db, run_id):
        latest[expression] = GateResult(expression, passed, [ClauseResult(**c) for c in clauses], soft, run_id,
                                        stage_id)
    return list(latest.values())


def gate(expression: str, soft: bool = False) -> GateResult:
    """Check the current run's latest metrics; records the result, raises GateFailedError unless ``soft``."""
    from dataclasses import replace


    session = get_session()
    session.settle()  # what this stage's code computed so far (autolog) is among the metrics gated
    run_id = session.recording_run_id()
    store = session.store
    latest = store.latest_metrics_with_stages(run_id)
    sources = cached_from(store, stage_ids=[sid for _, sid in latest.values() if sid is not None])
    cached = {k: sources[sid]["run_id"] for k, (_, sid) in latest.items() if sid in sources}
    stage = session.current_stage
    result = replace(evaluate(expression, {k: v for k, (v, _) in latest.items()}, soft=soft, cached=cached),
                     run_id=run_id, stage_id=stage.id if stage else None)
    record(store, result)
    if not result.passed and not soft:
        raise GateFailedError(f"gate failed: {result.describe_failure()}")
    if not result.passed:
        print(f"soft gate failed (the run goes on, promotion is refused): {result.describe_failure()}")
    return result


__all__ = ["ClauseResult", "GateResult", "evaluate", "gate", "parse_gate", "run_gates"]

"""Aliases: promotion behind gates and champion-vs-challenger, rollback, and their audit history.

Every decision is one transaction: the alias is re-read, the comparison made
and the alias moved together with its audit row, so two concurrent promotions
cannot both compare against the same champion. Refused challengers are
recorded too (``moved = 0``), so the history explains why nothing changed.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..display.html import fmt_number
from ..entities import Trigger, _Entity, utc_from_ts
from ..errors import ConflictError, GateFailedError, InvalidInputError, NotFoundError
from ..store import Store
from ..store import registry as tables
from .versions import (
    ModelVersion,
    check_alias,
    check_model_name,
    get_version,
    require_model,
    resolve_version_number,
    versions_of,
)

HIGHER_IS_BETTER = {"accuracy", "acc", "auc", "roc", "f1", "precision", "recall", "r2", "ap", "map", "ndcg",
                    "score", "balanced", "iou", "dice"}
LOWER_IS_BETTER = {"loss", "error", "err", "rmse", "mae", "mse", "logloss", "mape", "brier", "perplexity"}
#: The run tag that lists the alias moves a run asked for and was refused (JSON list of sentences).
REFUSED_TAG = "mlops.aliases_refused"


@dataclass(frozen=True)
class AliasChange(_Entity):
    """One audit row: an alias moved (or a challenger was refused), when, by which run, and why."""

    model: str
    alias: str
    action: str  # promote | rollback | refused | import (from MLflow) | package (a packaged copy)
    from_version: int | None
    to_version: int | None
    moved: bool
    created: datetime
    run_id: str | None = None
    reason: str | None = None
    comparison: dict[str, Any] | None = None
    user: str | None = None  # who made the change (MLOPS_USER, JUPYTERHUB_USER or the OS user)

    def __str__(self) -> str:
        if not self.moved:
            where = f"at v{self.from_version}" if self.from_version is not None else "unset"
            return f"{self.model}@{self.alias} stays {where}: {self.reason or self.action}"
        origin = f"v{self.from_version}" if self.from_version else "nothing"
        return f"{self.model}@{self.alias}: {origin} → v{self.to_version} ({self.action})"


@dataclass(frozen=True)
class PromotionResult(_Entity):
    promoted: bool
    change: AliasChange
    comparison: dict[str, Any] | None = field(default=None)

    def __repr__(self) -> str:
        return str(self.change)


def metric_direction(metric: str, higher_is_better: bool | None = None) -> bool:
    """True when larger is better; inferred from common names, else the caller must say."""
    if higher_is_better is not None:
        return higher_is_better
    words = set(re.split(r"[^a-z0-9]+", metric.lower())) | {metric.lower()}
    higher, lower = bool(words & HIGHER_IS_BETTER), bool(words & LOWER_IS_BETTER)
    if higher != lower:
        return higher
    raise InvalidInputError(f"cannot tell whether a higher {metric!r} is better; add --higher-is-better or "
                            "--lower-is-better (higher_is_better=True/False)")


def _gate_refusal(mv: ModelVersion) -> str | None:
    failed = [g for g in mv.gates if not g["passed"]]
    if not failed:
        return None
    clauses = [c for g in failed for c in g["clauses"] if not c["passed"]]
    text = "; ".join(f"{c['clause']} (got {fmt_number(c['value'], 6)})" for c in clauses) or failed[0]["expression"]
    return f"{mv} failed its quality gate: {text}; it cannot be promoted"


def _frozen(store: Store, run_id: str | None) -> str | None:
    """Why this run may not move an alias, or None. Runs made by ``mlops ci`` test a change before it is
    merged: a notebook that promotes must not ship a pull request's model, so its promotion is refused
    (a note, not a failure: the run goes on). The fact is the run's trigger in the store, so it holds on
    every executor and for the magic and the Python API alike."""
    if run_id is None:
        return None
    try:
        run = store.get_run(run_id)
    except NotFoundError:
        return None
    return "runs made by `mlops ci` never move an alias" if run.trigger == Trigger.CI else None


def _refuse(store: Store, run_id: str, name: str, alias: str, to_version: int | None, why: str) -> PromotionResult:
    """A refusal kept with the run (tag :data:`REFUSED_TAG`) for its report; the alias history is left to
    real moves and real refusals."""
    current = tables.alias_version(store.db, name, alias)
    change = AliasChange(name, alias, "refused", current, to_version, False, utc_from_ts(time.time()),  # type: ignore[arg-type]
                         run_id, why)
    try:
        before = json.loads(store.get_tag(run_id, REFUSED_TAG) or "[]")
    except ValueError:
        before = []
    store.set_tags(run_id, {REFUSED_TAG: json.dumps([*before, str(change)])})
    return PromotionResult(False, change, None)


def _compare(challenger: ModelVersion, champion: ModelVersion, metric: str, higher: bool) -> dict[str, Any]:
    if metric not in champion.metrics:
        raise ConflictError(f"the champion {champion} has no metric {metric!r}, so it cannot be compared; "
                            "promote without --if-better to replace it anyway")
    new, old = float(challenger.metrics[metric]), float(champion.metrics[metric])
    better = not math.isnan(new) and (math.isnan(old) or (new > old if higher else new < old))
    return {"metric": metric, "higher_is_better": higher, "challenger": challenger.version,
            "challenger_value": new, "champion": champion.version, "champion_value": old, "better": better}


def promote(store: Store, name: str, to: str, *, version: int | None = None, if_better: str | None = None,
            higher_is_better: bool | None = None, reason: str | None = None,
            run_id: str | None = None) -> PromotionResult:
    """Point alias ``to`` at a version (default: the latest) unless a gate or the champion says no."""
    check_model_name(name)
    check_alias(to)
    ref = f"{name}@{version}" if version is not None else name
    challenger = get_version(store, ref)
    refusal = _gate_refusal(challenger)
    if refusal:
        raise GateFailedError(refusal)
    frozen = _frozen(store, run_id)
    if frozen and run_id is not None:
        return _refuse(store, run_id, name, to, challenger.version, frozen)
    higher = metric_direction(if_better, higher_is_better) if if_better else None
    if if_better and if_better not in challenger.metrics:
        raise InvalidInputError(f"{challenger} has no metric {if_better!r} to compare on; its metrics: "
                                f"{', '.join(sorted(challenger.metrics)) or 'none'}")

    def decide(tx: Any) -> tuple[bool, int | None, dict[str, Any] | None]:
        current = tables.alias_version(tx, name, to)
        if current == challenger.version:
            return False, current, None
        comparison = None
        if if_better and current is not None and higher is not None:
            champion = get_version(store, f"{name}@{current}")
            comparison = _compare(challenger, champion, if_better, higher)
        moved = comparison is None or comparison["better"]
        action = "promote" if moved else "refused"
        why = reason
        if not moved and comparison is not None:
            sign = ">" if higher else "<"
            why = (f"challenger v{challenger.version} {if_better}={fmt_number(comparison['challenger_value'], 6)} "
                   f"is not {sign} champion v{current} {if_better}={fmt_number(comparison['champion_value'], 6)}")
        tables.record_alias_change(tx, name, to, action, current, challenger.version, moved=moved, run_id=run_id,
                                   reason=why, comparison=comparison, created=time.time())
        return moved, current, comparison

    moved, current, comparison = store.db.run_in_transaction(decide)
    if current == challenger.version and not moved:
        change = AliasChange(name, to, "unchanged", current, current, False, utc_from_ts(time.time()),  # type: ignore[arg-type]
                             run_id, f"already at v{current}")
        return PromotionResult(False, change, None)
    return PromotionResult(moved, history(store, name, to, limit=1)[0], comparison)


def rollback(store: Store, name: str, alias: str, *, reason: str | None = None,
             run_id: str | None = None) -> PromotionResult:
    """Move ``alias`` back to the version it held before its latest move (repeatable, like a stack)."""
    check_model_name(name)
    check_alias(alias)
    resolve_version_number(store, f"{name}@{alias}")  # clear error for an unknown model or alias
    frozen = _frozen(store, run_id)
    if frozen and run_id is not None:
        return _refuse(store, run_id, name, alias, None, frozen)

    def move(tx: Any) -> None:
        stack: list[int] = []
        for action, to_version in tables.alias_moves(tx, name, alias):
            if action == "rollback":
                if stack:
                    stack.pop()
            else:
                stack.append(to_version)
        current = tables.alias_version(tx, name, alias)
        if len(stack) < 2:
            raise ConflictError(f"{name}@{alias} (v{current}) has no earlier version in its history to roll "
                                f"back to; see `mlops models history {name}`")
        target = stack[-2]
        tables.record_alias_change(tx, name, alias, "rollback", current, target, moved=True, run_id=run_id,
                                   reason=reason, comparison=None, created=time.time())

    store.db.run_in_transaction(move)
    return PromotionResult(True, history(store, name, alias, limit=1)[0], None)


def history(store: Store, name: str, alias: str | None = None, *, limit: int | None = None) -> list[AliasChange]:
    """The audit history of a model's aliases, newest first."""
    check_model_name(name)
    require_model(store, name)
    return [AliasChange(r[0], r[1], r[2], r[3], r[4], bool(r[5]), utc_from_ts(r[6]),  # type: ignore[arg-type]
                        r[7], r[8], json.loads(r[9]) if r[9] else None, r[10])
            for r in tables.alias_history_rows(store.db, name, alias, limit=limit)]


def model_detail(store: Store, name: str) -> dict[str, Any]:
    """A model's versions (metrics, gates, aliases, source run) and its alias history, JSON-ready."""
    return {"name": name, "versions": [v.to_dict() for v in versions_of(store, name)],
            "history": [c.to_dict() for c in history(store, name)]}

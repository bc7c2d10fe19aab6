"""The stage observer: patches on when a stage starts, off when it ends, and what was seen written.

``stage_started`` wraps what the libraries already imported offer (scikit-learn estimators and metric
functions, XGBoost/LightGBM training, pyplot) and watches imports so a library the stage imports is
wrapped as it arrives; names of the notebook bound to wrapped functions (``from sklearn.metrics import
accuracy_score`` in a setup cell) are rebound for the stage. ``stage_finished`` undoes all of it before
anything else, on success, error, interrupt and kernel exit alike, then writes (:mod:`.flush`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from ..tracking.session import Session
from ..tracking.stage_hooks import KernelExit, StageContext
from . import NAME, boosting, control, figures, flush, metrics, sklearn
from .naming import Namer
from .patching import ImportWatcher, Patches, close_scope, open_scope, scope_open
from .recorder import Recorder

#: Top-level packages whose import during a stage wraps what they bring.
WATCHED = ("sklearn", "xgboost", "lightgbm", "matplotlib")


@dataclass
class _Active:
    rec: Recorder
    patches: Patches
    watcher: ImportWatcher
    namespace: dict[str, Any]
    rebound: list[tuple[str, Any, Any]]


class AutologObserver:
    """Records what a stage's code does with the libraries it uses; see :mod:`mlops_magic.autolog`."""

    name = NAME

    def __init__(self, session: Session) -> None:
        self.session = session
        self._namers: dict[str, Namer] = {}

    def stage_started(self, ctx: StageContext) -> None:
        settings = control.settings(self.session.store.project_dir, ctx.options)
        if not settings.enabled or scope_open():
            return  # off, or a stage inside a stage: the outer one records
        scope = open_scope()
        rec = Recorder(scope, settings.libraries, settings.training_score, figures.open_figures())
        scope.rec = rec
        namespace = ctx.namespace if ctx.namespace is not None else vars(sys.modules["__main__"])
        active = _Active(rec, Patches(), ImportWatcher(WATCHED, lambda _: None), namespace, [])
        try:
            active.watcher.on_loaded = lambda _top: self._apply(active, quiet=True)
            self._apply(active, quiet=False)
            active.watcher.install()
        except BaseException:
            _undo(active)
            close_scope(scope)
            raise
        ctx.state[NAME] = active

    def _apply(self, active: _Active, *, quiet: bool) -> None:
        """Wrap what is imported now (again after each watched import: only what is new gets wrapped)."""
        try:
            sklearn.apply(active.patches)
            metrics.apply(active.patches, active.rec)
            boosting.apply(active.patches, active.rec)
            figures.apply(active.patches, active.rec)
            active.rebound += active.patches.rebind(active.namespace)
        except Exception as exc:
            if not quiet:
                raise
            active.rec.failed("wrapping", exc)  # inside the user's import: never let it fail

    def stage_settle(self, ctx: StageContext) -> None:
        """Write what the stage recorded so far: a gate or a registration in the stage reads it next."""
        active: _Active | None = ctx.state.get(NAME)
        if active is not None:
            notes = self._write(ctx, active, None, final=False)
            if notes:
                ctx.report(NAME, "; ".join(notes)[:1000])

    def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None:
        active: _Active | None = ctx.state.pop(NAME, None)
        if active is None:
            return
        rec = active.rec
        try:
            if not isinstance(error, KernelExit):
                figures.collect_new(rec, rec.figures_before)
        except Exception as exc:
            rec.failed("figures", exc)
        finally:
            _undo(active)
            close_scope(rec.scope)
        notes = self._write(ctx, active, error, final=True)
        if notes:
            ctx.report(NAME, "; ".join(notes)[:1000])

    def _write(self, ctx: StageContext, active: _Active, error: BaseException | None, *, final: bool) -> list[str]:
        rec, stage = active.rec, ctx.stage
        notes: list[str] = []
        if not (rec.fits or rec.calls or rec.figures):  # the stage used none of the libraries: nothing to write
            return self._failures(rec, notes)
        store = self.session.store
        names = flush.estimators_by_name(active.namespace, rec.fits)
        namer = self._namers.setdefault(stage.run_id, Namer())
        try:
            batch = flush.collect(rec, stage, namer, names)
            kept = flush.write(store, stage, batch)
            if kept:
                notes.append("kept the values you logged for " + ", ".join(kept[:10])
                             + (f" and {len(kept) - 10} more" if len(kept) > 10 else "")
                             + " (autolog measured other values)")
            if final and error is None:
                notes += flush.save_models(store, stage, rec, names)
        except Exception as exc:
            rec.failed("recording", exc)
        return self._failures(rec, notes)

    @staticmethod
    def _failures(rec: Recorder, notes: list[str]) -> list[str]:
        """``notes`` and one line for what autolog could not record since the last write."""
        if rec.failures:
            notes.append("not recorded: " + rec.failures[0]
                         + (f" (and {len(rec.failures) - 1} more)" if len(rec.failures) > 1 else ""))
            rec.failures.clear()
        return notes


def _undo(active: _Active) -> None:
    """Watcher out, names back, wrappers off: whatever happened, nothing of ours outlives the stage."""
    active.watcher.remove()
    active.patches.unbind(active.namespace, active.rebound)
    active.rebound.clear()
    active.patches.restore()


def ensure_registered(session: Session) -> None:
    """Hang autolog on ``session``'s stages (once; a second call changes nothing)."""
    if NAME not in session.observers.names():
        session.add_observer(AutologObserver(session))


__all__ = ["AutologObserver", "ensure_registered"]

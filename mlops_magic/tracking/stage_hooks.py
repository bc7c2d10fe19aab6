"""What else happens around a stage: observers the session calls when a stage starts and when it ends.

A stage cell, a ``with mlops.stage(...)`` block and a headless stage all go through
:meth:`Session.begin_stage` / :meth:`Session.end_stage`; observers registered with the session are
called there, so whatever hangs on a stage (autolog patches that live exactly as long as the stage,
the stage cache saving what the stage made) works the same for every face, and neither the session
nor the IPython hooks need to know about them.

Rules every observer can rely on:

- ``stage_started`` runs after the stage's row exists and before the stage's code; ``stage_finished``
  runs after the code, before the stage's status is written, on success, on error, on
  ``KeyboardInterrupt`` and when the kernel exits mid-stage (``error`` is then a :class:`KernelExit`).
  Observers are finished in the reverse order they were started.
- An observer that raises never fails the user's code and never stops another observer: the failure is
  reported as one line naming the observer, once per stage.
- :attr:`StageContext.state` is per stage execution scratch space for observers (keyed by their name).
- An observer that buffers what the stage does may also define ``stage_settle(ctx)``: write what it
  holds so far. :meth:`Session.settle` calls it before the stage reads the run's own records (a gate,
  a model registration), so those see what the stage has done up to that line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..entities import StageRun


class KernelExit(BaseException):
    """The error an observer sees when the interpreter exits while a stage is still running."""


@dataclass
class StageContext:
    """One execution of a stage's code, as observers see it."""

    stage: StageRun
    #: The code the stage runs (a stage cell's body, header excluded), when it is known.
    code: str | None = None
    #: The namespace the code runs in (a notebook's ``user_ns``), when there is one.
    namespace: dict[str, Any] | None = None
    #: The stage header's options (``--cache``, ``--no-autolog``, ...), as parsed by the face.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Scratch space for observers, one entry per observer name.
    state: dict[str, Any] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)

    def report(self, observer: str, message: str) -> None:
        """One line for the user about ``observer`` in this stage, at most once."""
        if observer in self._reported:
            return
        self._reported.add(observer)
        print(f"mlops: {observer}: {message}", file=sys.stdout)


class StageObserver(Protocol):
    """Something that happens around every stage (see the module docstring for the contract)."""

    name: str

    def stage_started(self, ctx: StageContext) -> None: ...

    def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None: ...


class LazyObserver:
    """An observer made when a stage first needs it: ``%load_ext`` registers one without importing what it
    needs (autolog's wrappers), and the first stage pays that import once."""

    def __init__(self, name: str, make: Callable[[], StageObserver],
                 wanted: Callable[[StageContext], bool] | None = None) -> None:
        self.name = name
        self._make = make
        self._wanted = wanted  # None: every stage; else the stages the observer would act on at all
        self._made: StageObserver | None = None

    def observer(self) -> StageObserver:
        if self._made is None:
            self._made = self._make()
        return self._made

    def _for(self, ctx: StageContext) -> StageObserver | None:
        """The observer for this stage: made now if the stage wants it; None while it is not made and
        the stage would be left alone by it anyway."""
        if self._made is None and self._wanted is not None and not self._wanted(ctx):
            return None
        return self.observer()

    def stage_started(self, ctx: StageContext) -> None:
        made = self._for(ctx)
        if made is not None:
            made.stage_started(ctx)

    def stage_settle(self, ctx: StageContext) -> None:
        settle = getattr(self._made, "stage_settle", None)  # nothing to settle before it started
        if settle is not None:
            settle(ctx)

    def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None:
        if self._made is not None:  # it started this stage, or it was not made and did nothing
            self._made.stage_finished(ctx, error)


class Observers:
    """The session's observers, called in order on start and in reverse on finish, each failure contained."""

    def __init__(self) -> None:
        self._items: list[StageObserver] = []

    def add(self, observer: StageObserver, *, first: bool = False) -> None:
        """Register ``observer`` (``first``: before the others); one with the same name is replaced
        (loading an extension twice)."""
        others = [o for o in self._items if o.name != observer.name]
        self._items = [observer, *others] if first else [*others, observer]

    def remove(self, name: str) -> None:
        self._items = [o for o in self._items if o.name != name]

    def names(self) -> list[str]:
        return [o.name for o in self._items]

    def __bool__(self) -> bool:
        return bool(self._items)

    def started(self, ctx: StageContext) -> None:
        done: list[StageObserver] = []
        for observer in list(self._items):
            try:
                observer.stage_started(ctx)
            except Exception as exc:
                ctx.report(observer.name, f"not applied to stage {ctx.stage.name}: {_one_line(exc)}")
                continue
            done.append(observer)
        ctx.state["_started"] = done

    def settle(self, ctx: StageContext) -> None:
        for observer in ctx.state.get("_started", []):
            settle = getattr(observer, "stage_settle", None)
            if settle is None:
                continue
            try:
                settle(ctx)
            except Exception as exc:
                ctx.report(observer.name, f"failed to record before a read in stage {ctx.stage.name}: "
                                          f"{_one_line(exc)}")

    def finished(self, ctx: StageContext, error: BaseException | None) -> None:
        for observer in reversed(ctx.state.pop("_started", [])):
            try:
                observer.stage_finished(ctx, error)
            except Exception as exc:
                ctx.report(observer.name, f"failed at the end of stage {ctx.stage.name}: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

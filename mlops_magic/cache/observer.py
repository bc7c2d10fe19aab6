"""The stage cache as a stage observer: look the key up when a stage starts, save an entry when it ends.

On ``stage_started`` of a stage whose options ask for the cache (``--cache``, or every stage under
``MLOPS_CACHE=1``; the face decides), the key is computed from the stage's code and namespace. On a hit
the entry's files are written, its variables put in the namespace, the source stage's records copied
and the restore recorded; the face then skips the stage's code (``state.hit``). On a miss the face
captures the cell's outputs into ``state.outputs``, and on a successful ``stage_finished`` the entry is
saved: the variables the stage bound, rebound, deleted or changed in place, its declared output files
and those outputs. Whatever goes wrong is one line in ``state.lines`` and the stage simply runs (or is
simply not saved): the cache never fails a stage.
"""

from __future__ import annotations

import glob
import io
import os
import re
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..display.html import fmt_duration
from ..errors import MlopsError
from ..tracking.session import Session
from ..tracking.stage_hooks import StageContext
from . import NAME
from .codecs import Unstorable, kind_of
from .entries import EntryError, Restored, drop, load_entry, save_entry, touch
from .fingerprints import Digester, Unseeable
from .key import StageKey, stage_key
from .records import copy_records, record_restore

#: The lines the cache prints into a stage's output (``STAGE: cached from run …``), which a diff of two
#: runs' outputs leaves out: they say how the output came about, not what the stage showed.
CACHE_LINE = re.compile(r"^[^\n]{1,250}?: (cached from run [0-9a-f]{8} \(|not cached: |--cache: |"
                        r"cache entry [0-9a-f]{12} is unusable|cannot restore from the cache)")
#: Names the cache never saves or restores: IPython's own (history, the shell) and private ones.
_SHELL = ("In", "Out", "exit", "quit", "get_ipython")


@dataclass
class CacheState:
    """The cache's decision for one stage execution; the face reads it and fills :attr:`outputs`."""

    key: StageKey | None = None
    hit: Restored | None = None
    capture: bool = False  # a miss that may be saved: the face records the cell's outputs
    outputs: list[dict[str, Any]] = field(default_factory=list)
    #: name → fingerprint (``to_dict()``) of the frames and arrays the face fingerprinted after the stage
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # for the face to print, in order
    started: float = 0.0
    snapshot: dict[str, int] = field(default_factory=dict)


class StageCache:
    """The observer (``session.add_observer(StageCache(session))``); ``to_python`` turns cell syntax into
    Python for the key's analysis (IPython's ``transform_cell``)."""

    name = NAME

    def __init__(self, session: Session, to_python: Callable[[str], str] | None = None) -> None:
        self.session = session
        self.to_python = to_python
        self.producers: dict[str, tuple[int, str]] = {}  # variable -> (object id, key) of the stage that made it

    # -- start: key, lookup, restore ---------------------------------------------------------------------
    def stage_started(self, ctx: StageContext) -> None:
        if not ctx.options.get("cache") or ctx.namespace is None or ctx.code is None:
            return
        state = CacheState(started=time.perf_counter())
        ctx.state[NAME] = state
        label = ctx.stage.name
        key = stage_key(ctx.code, ctx.namespace, inputs=list(ctx.options.get("inputs") or ()),
                        outputs=list(ctx.options.get("outputs") or ()), to_python=self.to_python,
                        requested_params=self.session.requested_params(), cwd=os.getcwd(),
                        producers=self.producers)
        if key.facts.empty:  # comments only (a problem stage's notes): nothing to save or restore
            del ctx.state[NAME]
            return
        state.key = key
        state.lines += [f"{label}: --cache: {w}" for w in key.warnings]
        if key.digest is None:
            state.lines.append(f"{label}: not cached: {key.reason}")
            return
        store = self.session.store
        try:
            restored = load_entry(store, key.digest)
        except EntryError as exc:
            state.lines.append(f"{label}: cache entry {key.digest[:12]} is unusable ({exc}); running the stage")
            drop(store, [key.digest])
            restored = None
        if restored is not None:
            try:
                self._restore(ctx, state, restored)
                return
            except OSError as exc:  # an output file that cannot be written back
                state.lines.append(f"{label}: cannot restore from the cache ({exc}); running the stage")
        state.capture = True
        state.snapshot = _snapshot(ctx.namespace)
        state.started = time.perf_counter()

    def _restore(self, ctx: StageContext, state: CacheState, restored: Restored) -> None:
        """Put the entry's files and variables in place; the face then skips the code. What the stage
        recorded is copied, and the restore recorded, when the stage ends (:meth:`_restored`)."""
        assert ctx.namespace is not None
        for path, data in restored.files.items():
            _write_atomically(Path(path), data)
        ctx.namespace.update(restored.values)
        for name in restored.deleted:
            ctx.namespace.pop(name, None)
        state.hit = restored

    def _restored(self, ctx: StageContext, state: CacheState, restored: Restored) -> None:
        """A restored stage ends: it gets its source stage's records, and the time it took in all (with the
        imports and definitions its cell ran again) is what it is recorded as having taken."""
        names = [*restored.values, *restored.files]
        copy_records(self.session, restored.run_id, restored.stage_id, ctx.stage, skip_outputs=restored.values)
        touch(self.session.store, restored.key)
        for name, value in restored.values.items():
            self.producers[name] = (id(value), restored.key)
        seconds = time.perf_counter() - state.started
        record_restore(self.session, ctx.stage, key=restored.key, source_run=restored.run_id,
                       source_stage=restored.stage_id, source_seconds=restored.seconds, restore_seconds=seconds,
                       restored=names)
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        what = f"restored {shown}" if names else "nothing to restore"
        state.lines.append(f"{ctx.stage.name}: cached from run {restored.run_id[:8]} ({what}: "
                           f"{fmt_duration(seconds)} instead of {fmt_duration(restored.seconds)})")

    # -- finish: save -------------------------------------------------------------------------------------
    def stage_finished(self, ctx: StageContext, error: BaseException | None) -> None:
        state = ctx.state.get(NAME)
        if not isinstance(state, CacheState) or error is not None or ctx.namespace is None:
            return
        if state.hit is not None:
            self._restored(ctx, state, state.hit)
            return
        if not state.capture:
            return
        seconds = time.perf_counter() - state.started
        key = state.key
        assert key is not None and key.digest is not None
        label = ctx.stage.name
        try:
            values, deleted = self._produced(ctx.namespace, state)
            files = _output_files(list(ctx.options.get("outputs") or ()))
            fingerprints = _fingerprints(values, state.fingerprints)
            saved = save_entry(self.session.store, key.digest, values=values, deleted=deleted, files=files,
                               cwd=Path.cwd(), outputs=state.outputs, fingerprints=fingerprints,
                               run_id=ctx.stage.run_id, stage_id=ctx.stage.id, stage=label,
                               notebook=self.session.store.get_run(ctx.stage.run_id).notebook, seconds=seconds)
        except (Unstorable, Unseeable) as exc:
            state.lines.append(f"{label}: not cached: {exc}")
            return
        except (MlopsError, OSError) as exc:
            state.lines.append(f"{label}: not cached: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            return
        if saved.note:
            state.lines.append(f"{label}: not cached: {saved.note}" if not saved.saved else f"{label}: {saved.note}")
        for name, value in values.items():
            self.producers[name] = (id(value), key.digest)

    def _produced(self, namespace: dict[str, Any], state: CacheState) -> tuple[dict[str, Any], list[str]]:
        """The variables the stage bound or rebound, those it read and changed in place, and those it deleted."""
        assert state.key is not None
        before = state.snapshot
        now = {k: v for k, v in namespace.items() if _kept(k)}
        replayed = state.key.facts.replayed
        changed = {k for k, v in now.items() if before.get(k) != id(v)}
        digester = Digester(namespace)
        for name, digest in state.key.reads.items():
            if name in now and name not in changed and _mutable(now[name]):
                try:
                    if digester.digest(name, now[name]) != digest:
                        changed.add(name)  # edited in place (df["x"] = …, model.fit(…)): saved like a new value
                except Unseeable:
                    changed.add(name)
        values = {}
        deleted = sorted(k for k in before if k not in now)
        for name in sorted(changed):
            value = now[name]
            if isinstance(value, io.IOBase) and value.closed:  # `with open(...) as f`: nothing left to keep
                deleted.append(name)  # a restore leaves the name unbound rather than stale
                continue
            if name in replayed and isinstance(value, (types.ModuleType, types.FunctionType, type)):
                continue  # an import, def or class statement: re-run on a restore
            if isinstance(value, (types.ModuleType, types.FunctionType, type)):
                raise Unstorable(f"{name} is a {type(value).__name__} the cell does not make with a plain import, "
                                 "def or class statement, so a restore could not rebuild it")
            values[name] = value
        return values, sorted(deleted)


def _snapshot(namespace: dict[str, Any]) -> dict[str, int]:
    return {k: id(v) for k, v in namespace.items() if _kept(k)}


def _kept(name: str) -> bool:
    return not name.startswith("_") and name not in _SHELL


def _mutable(value: Any) -> bool:
    return not isinstance(value, (str, bytes, int, float, complex, bool, tuple, frozenset, type(None),
                                  types.ModuleType, types.FunctionType, type))


def _fingerprints(values: dict[str, Any], known: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The fingerprints of the frames and arrays among ``values``: those the face took already, else now."""
    from ..tracking.fingerprint import fingerprint  # lazy: pulls numpy only for frames and arrays

    out = {}
    for name, value in values.items():
        if kind_of(value) in ("frame", "series", "array"):
            out[name] = known.get(name) or fingerprint(value, name=name, role="output").to_dict()
    return out


def _output_files(patterns: list[str]) -> list[Path]:
    """The files the stage declared it writes (``--outputs PATH``); one that is missing is not cacheable."""
    files: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if any(c in pattern for c in "*?[") else [pattern]
        found = [Path(m) for m in matches if os.path.isfile(m)]
        if not found:
            raise Unstorable(f"its output {pattern} was not written")
        files += found
    return files


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.mlops-restore-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)

"""A stage cell's output fingerprints, off the cell's path: hashed by one worker thread after the cell.

A stage cell fingerprints the DataFrames and arrays it produced. Hashing 1,000,000 x 12 floats reads
96 MB (about 3 ms at memory speed, more on a busy machine); done inline it delays the cell's reply by that
much. Here the cell hands the values to a single worker thread and returns; the worker hashes them
(xxhash releases the GIL) and writes each fingerprint to the store as it lands.

**What may wait** is only a value whose contents cannot change before the worker reads them:

- a pandas DataFrame or Series under copy-on-write (always in pandas 3; in pandas 2 when
  ``pd.options.mode.copy_on_write`` is on), hashed through a shallow copy taken on the cell's path
  (microseconds): whatever writes the original later through pandas (the next cell, a widget callback),
  pandas copies the data first, so the copy keeps the values the cell ended with. Not frames with
  ``object`` columns, whose elements may be mutable Python objects.
- a numpy array that is read-only all the way down (every array it is a view of is read-only too).

Anything else (a writable array, pandas 2 without copy-on-write, ``object`` columns) is hashed inline,
as before. One gap remains, documented in docs/architecture.md: a frame built with ``copy=False`` over
an array the user keeps, written through that array by another thread in the milliseconds before the
hash lands (pandas cannot see writes through the array; the next *cell* is not a risk, as a pandas
write goes through copy-on-write and any read of the store waits, below).

**When it lands**: the session's store waits for every pending fingerprint before anything uses it
(:meth:`Session.store <mlops_magic.tracking.session.Session.store>` calls :meth:`OutputFingerprints.flush`),
so ``%mlops show``, gates, ``register_model``, lineage, the stage cache, the next stage, the end of the
run and the kernel's exit (``close_implicit_run``) all see them. A headless run the runner started is
hashed inline: the runner kills its kernel as soon as the notebook is saved.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..entities import Fingerprint, StageRun
from ..errors import MlopsError
from .fingerprint import column_arrays, fingerprint

if TYPE_CHECKING:
    from ..store import Store

#: Outputs bigger than this are not fingerprinted automatically (``%mlops fingerprint VAR`` still does
#: it): hashing runs at memory speed for numbers but ~0.1 µs per string, and it must stay cheap next to
#: the cell even off its path (a later read waits for it). ``MLOPS_FINGERPRINT_MAX_BYTES`` overrides the
#: byte limit; it is read when used, not at import (a cluster worker's warm kernel imports this module
#: before its run's environment is set).
AUTO_FINGERPRINT_MAX_BYTES = 1 << 30
AUTO_FINGERPRINT_MAX_OBJECTS = 5_000_000


def auto_fingerprint_max_bytes() -> int:
    text = os.environ.get("MLOPS_FINGERPRINT_MAX_BYTES", "").strip()
    return int(text) if text.isdigit() else AUTO_FINGERPRINT_MAX_BYTES


class Pending:
    """One output's fingerprint, computed now or by the worker: :meth:`result` waits for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._done = threading.Event()
        self._value: Fingerprint | None = None

    def set(self, value: Fingerprint | None) -> None:
        self._value = value
        self._done.set()

    def result(self, timeout: float | None = None) -> Fingerprint | None:
        """The fingerprint, or None when the value was too big or could not be hashed."""
        self._done.wait(timeout)
        return self._value


class OutputFingerprints:
    """The session's worker: jobs run in order on one daemon thread, started on first use."""

    #: A read waits at most this long for the worker (a fingerprint still lands later).
    FLUSH_TIMEOUT = 600.0

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._jobs: list[Callable[[], None]] = []
        self.pending = 0  # jobs submitted and not finished: read without the lock on every store access
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def record(self, store: Store, stage: StageRun, outputs: Sequence[tuple[str, Any]], *, defer: bool = True,
               known: Mapping[str, Fingerprint] | None = None) -> list[Pending]:
        """Fingerprint ``outputs`` (name, value) of ``stage`` into ``store``: later when safe and ``defer``.

        ``known`` fingerprints (a restored stage's, recorded when its values were saved) are written as
        they are.
        """
        handles, later = [], []
        for name, value in outputs:
            handle = Pending(name)
            handles.append(handle)
            if known and name in known:
                handle.set(known[name])
                _write(store, stage, handle.result())
                continue
            try:
                snapshot = frozen(value) if defer else None
            except Exception:  # an exotic object must not fail the user's cell: hash it now, or not at all
                snapshot = None
            if snapshot is not None:
                later.append((handle, snapshot))  # the worker checks its size too
            elif _cheap(value):
                _compute(store, stage, handle, value)
            else:
                handle.set(None)
        if later:
            def job() -> None:
                for handle, value in later:
                    if _cheap(value):
                        _compute(store, stage, handle, value)
                    else:
                        handle.set(None)

            self._submit(job)
        return handles

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every fingerprint submitted so far is in the store; False if ``timeout`` passed first."""
        if not self.pending or threading.current_thread() is self._thread:
            return True
        if os.getpid() != self._pid:
            self._forget()
            return True
        with self._lock:
            return self._lock.wait_for(lambda: self.pending == 0, self.FLUSH_TIMEOUT if timeout is None else timeout)

    def later(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the worker after what was submitted before (a stage cell's status write, which
        must land before its fingerprints); it reports its own failures."""
        self._submit(job)

    def _submit(self, job: Callable[[], None]) -> None:
        if os.getpid() != self._pid:
            self._forget()
        with self._lock:
            self._jobs.append(job)
            self.pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mlops-output-fingerprints", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._jobs))
                job = self._jobs.pop(0)
            try:
                job()
            except BaseException:  # a job reports its own failures; the worker must outlive any
                pass
            finally:
                del job  # the values it hashed are freed now, not when the next job comes
                with self._lock:
                    self.pending -= 1
                    self._lock.notify_all()

    def _forget(self) -> None:
        """In a forked child: the worker thread did not survive the fork (its lock may even be held), and
        the parent owns its jobs."""
        self._lock = threading.Condition()
        self._jobs, self.pending, self._thread, self._pid = [], 0, None, os.getpid()


def _cheap(value: Any) -> bool:
    try:
        return cheap_to_fingerprint(value)
    except Exception:  # an exotic object: not fingerprinted automatically
        return False


def _compute(store: Store, stage: StageRun, handle: Pending, value: Any) -> None:
    try:
        fp = fingerprint(value, name=handle.name, role="output")
    except Exception:  # an exotic dtype must not fail the user's cell
        fp = None
    handle.set(fp)
    _write(store, stage, fp)


def _write(store: Store, stage: StageRun, fp: Fingerprint | None) -> None:
    if fp is None:
        return
    try:
        store.log_fingerprint(stage.run_id, fp, stage_id=stage.id)
    except MlopsError as exc:
        print(f"mlops: output fingerprint {fp.name} of stage {stage.name} not recorded: {exc}", file=sys.stderr)


def frozen(value: Any) -> Any | None:
    """A view of ``value`` whose contents cannot change until it is dropped, or None when only hashing
    it now is safe (see the module's docstring)."""
    module = type(value).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if not _copy_on_write(pd):
            return None
        if isinstance(value, pd.DataFrame):
            if any(array.dtype == object for array, _ in _stored_arrays(value)):  # df.dtypes costs a Series
                return None
        elif not isinstance(value, pd.Series) or value.dtype == object:
            return None
        return value.copy(deep=False)
    if module == "numpy":
        import numpy as np

        base = value
        while isinstance(base, np.ndarray):
            if base.flags.writeable or base.dtype.hasobject:
                return None
            if base.base is None:
                return value
            base = base.base
        return value if isinstance(base, bytes) else None
    return None


def _copy_on_write(pd: Any) -> bool:
    major = int(pd.__version__.split(".")[0])
    return major >= 3 or pd.options.mode.copy_on_write is True


def cheap_to_fingerprint(value: Any) -> bool:
    """Whether hashing ``value`` after every stage costs little next to the cell itself.

    Sizes as ``memory_usage(index=True, deep=False)`` counts them, from the columns' arrays: building
    that Series costs about a millisecond, longer than the rest of a stage's bookkeeping.
    """
    if hasattr(value, "columns"):  # a DataFrame
        arrays = _stored_arrays(value)
        nbytes = sum(int(a.nbytes) for a, _ in arrays) + int(value.index.nbytes)
        kinds = [(getattr(a.dtype, "kind", "O"), columns) for a, columns in arrays]
    else:
        nbytes = int(value.nbytes)
        kinds = [(getattr(value.dtype, "kind", "O"), 1)]
    if nbytes > auto_fingerprint_max_bytes():
        return False
    columns = sum(n for k, n in kinds if k not in "biufcmM")
    return columns * (len(value) if getattr(value, "ndim", 1) else 1) <= AUTO_FINGERPRINT_MAX_OBJECTS


def _stored_arrays(df: Any) -> list[tuple[Any, int]]:
    """(array, columns it holds) for the arrays a DataFrame stores: its blocks (one 2-D array for many
    columns of a dtype; a stage asks this of every frame it made, so not one view per column), else
    each column's array when the frame has no blocks to ask (another pandas)."""
    try:
        blocks = df._mgr.blocks
        found = [(b.values, b.shape[0] if getattr(b.values, "ndim", 1) == 2 else 1) for b in blocks]
        if sum(n for _, n in found) == df.shape[1]:
            return found
    except Exception:  # pandas internals moved: the public way
        pass
    return [(array, 1) for array in column_arrays(df)]

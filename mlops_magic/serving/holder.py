"""The model ``mlops serve`` answers with, swapped atomically when its alias moves, and the sample of
answered requests it keeps for monitoring.

The served version lives in one attribute of :class:`ModelHolder`. Each request reads it once, so a
swap (the alias moved) lets in-flight requests finish on the old model while new ones get the new one:
nothing is dropped or mixed. :class:`AliasWatcher`, a background thread, polls the store (one indexed
query a second), loads a new version off the event loop, then swaps; it also flushes the buffered
samples to the store for monitor stages (:func:`mlops_magic.registry.versions.served_inputs`).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import MlopsError
from ..registry.versions import get_version, load, parse_ref, resolve_version_number

log = logging.getLogger("mlops_magic.serving.app")


@dataclass(frozen=True)
class Served:
    version: Any  # registry.ModelVersion
    model: Any
    loaded: float


@dataclass
class Sample:
    """One answered request kept for monitoring: what came in, what went out, under which ids.

    ``probabilities`` are there when the request itself asked for them (an Open Inference Protocol
    client reading ``predict_proba``); otherwise they are computed at flush, off the request path.
    """

    served: Served
    prepared: Any  # serving.inputs.Prepared
    predictions: list[Any]
    request_ids: list[str]
    probabilities: list[list[float] | None] | None = None


class ModelHolder:
    """The model a reference points at now; refreshed by polling, swapped atomically.

    It also keeps a sample of what was answered, in memory, for the poller thread to write: the
    request path only appends to a bounded buffer (a full buffer drops the sample and counts it, it
    never blocks a request); class probabilities not computed by the request are computed at flush,
    in one batch per version.
    """

    def __init__(self, store: Any, ref: str, *, trust: bool = False, sample: float = 1.0,
                 max_buffer_rows: int = 10_000, keep: int = 100_000) -> None:
        self.store, self.ref, self.trust, self.sample = store, ref, trust, sample
        self.follows = not isinstance(parse_ref(ref)[1], int)  # a pinned version never moves
        self.current = self._load(ref)
        self._failed: int | None = None
        self._buffer: list[Sample] = []
        self._buffered_rows = 0
        self._max_rows = max_buffer_rows
        self._lock = threading.Lock()
        self.keep = keep
        self.requests = 0
        self.logged = 0  # rows written to the store
        self.dropped = 0  # rows not kept because the buffer was full (the store was slow)

    def _load(self, ref: str) -> Served:
        version = get_version(self.store, ref)
        model = load(self.store, f"{version.name}@{version.version}", trust=self.trust)
        return Served(version, model, time.time())

    def refresh(self) -> bool:
        """Swap in the version the reference points at now; True when it changed."""

        if not self.follows:
            return False
        name, number = resolve_version_number(self.store, self.ref)
        if number == self.current.version.version or number == self._failed:
            return False
        try:
            fresh = self._load(f"{name}@{number}")
        except MlopsError as exc:
            self._failed = number
            log.error("keeping %s: cannot load %s v%s: %s", self.current.version, name, number, exc)
            return False
        old, self.current = self.current.version, fresh
        log.warning("%s moved: now serving %s (was %s)", self.ref, fresh.version, old)
        return True

    def remember(self, sample: Sample) -> None:
        """Keep a sample of an answered request in memory (``--sample`` of them); the poller writes them."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        rows = sample.prepared.rows
        with self._lock:
            if self._buffered_rows + rows > self._max_rows:
                self.dropped += rows
                return
            self._buffer.append(sample)
            self._buffered_rows += rows

    def flush(self) -> int:
        """Write the buffered samples: inputs, predictions, class probabilities, request ids."""
        with self._lock:
            batch, self._buffer, self._buffered_rows = self._buffer, [], 0
        by_version: dict[int, list[Sample]] = {}
        for sample in batch:
            by_version.setdefault(sample.served.version.version, []).append(sample)
        written = 0
        for version, samples in by_version.items():
            try:
                written += self._write(version, samples)
            except Exception as exc:  # one bad sample must not cost the others: write them one by one
                log.warning("could not record %d served samples together (%s); recording them one by one",
                            len(samples), type(exc).__name__)
                for sample in samples:
                    try:
                        written += self._write(version, [sample])
                    except Exception as one:  # the sample itself is not logged: it may be what is wrong
                        self.dropped += sample.prepared.rows
                        log.warning("dropped a served sample of %d rows the store refused: %s",
                                    sample.prepared.rows, type(one).__name__)
        self.logged += written
        return written

    def _write(self, version: int, samples: list[Sample]) -> int:
        """Record these samples of one version in one transaction; how many rows."""
        from ..monitoring.served import record_served  # lazy: pulls numpy

        records = [r for s in samples for r in s.prepared.records()]
        probabilities = _probabilities(samples)
        answered = [(rid, pred) for s in samples for rid, pred in zip(s.request_ids, s.predictions)]
        outputs: list[tuple[str | None, Any, Any]] = [
            (rid, pred, probabilities[i] if probabilities else None) for i, (rid, pred) in enumerate(answered)]
        record_served(self.store, self.current.version.name, version, records, self.keep, outputs=outputs)
        return len(records)


class AliasWatcher(threading.Thread):
    """Re-resolves the served alias every ``interval`` seconds and swaps the model when it moved."""

    def __init__(self, holder: ModelHolder, interval: float) -> None:
        super().__init__(name="mlops-serve-poller", daemon=True)
        self.holder, self.interval, self.stop = holder, interval, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.tick()
        self.tick()

    def tick(self) -> None:
        try:
            self.holder.refresh()
        except Exception as exc:  # a store hiccup must not stop serving the current model
            log.error("could not check %s: %s", self.holder.ref, exc)
        try:
            self.holder.flush()
        except Exception as exc:
            log.error("could not record served inputs: %s", exc)


def _probabilities(samples: list[Sample]) -> list[list[float] | None] | None:
    """Class probabilities of every row of these samples (one version): those the requests computed,
    the others in one predict_proba call."""
    model = samples[0].served.model
    if not hasattr(model, "predict_proba"):
        return None
    missing = [s for s in samples if s.probabilities is None]
    computed = _predict_proba(model, [s.prepared.frame for s in missing]) if missing else []
    if computed is None:
        return None
    fill = iter(computed)
    out: list[list[float] | None] = []
    for sample in samples:
        out.extend(sample.probabilities if sample.probabilities is not None else next(fill))
    return out


def _predict_proba(model: Any, frames: list[Any]) -> list[list[list[float] | None]] | None:
    """The rows' class probabilities, one list per frame, from one predict_proba over all of them."""
    try:
        if hasattr(frames[0], "columns"):
            import pandas as pd

            joined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        else:
            import numpy as np

            joined = np.vstack(frames)
        rows = floats_of(model.predict_proba(joined))
    except Exception as exc:  # probabilities are for monitoring: never lose the sample over them
        log.warning("could not compute class probabilities for monitoring: %s", exc)
        return None
    if len(rows) != len(joined):  # they would be paired with the wrong rows
        log.warning("could not compute class probabilities for monitoring: predict_proba returned %d rows "
                    "for %d", len(rows), len(joined))
        return None
    out, start = [], 0
    for frame in frames:
        out.append(rows[start:start + len(frame)])
        start += len(frame)
    return out


def floats_of(proba: Any) -> list[list[float] | None]:
    """Class probabilities as lists of Python floats (``tolist`` does it in C for a float array); a row
    holding NaN or infinity is None, so estimated performance never averages one in."""
    if getattr(proba, "dtype", None) is not None and proba.dtype.kind == "f":
        import numpy as np

        if np.isfinite(proba).all():
            return proba.tolist()
    rows = [[float(p) for p in row] for row in proba]
    return [row if all(map(math.isfinite, row)) else None for row in rows]

"""``mlops serve churn@production``: a model behind HTTP on Starlette + Uvicorn (extra ``[serve]``).

The served version lives in one attribute of :class:`ModelHolder`. Each request
reads it once, so a swap (the alias moved) lets in-flight requests finish on
the old model while new ones get the new one: nothing is dropped or mixed. A
background thread polls the store (one indexed query a second), loads a new
version off the event loop, then swaps; it also flushes a sample of served
inputs to the store for monitor stages (:func:`mlops_magic.registry.versions.served_inputs`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError, MlopsError
from ..monitoring.request_ids import header_value, request_ids
from ..registry.versions import get_version, load, parse_ref, resolve_version_number
from ..store import open_store
from .body import parse_body
from .inputs import label_pairs, prepare, request_ids_of

log = logging.getLogger("mlops_magic.serving.app")
INLINE_ROWS = 256  # smaller batches predict on the event loop: a thread hop costs more than they do
MAX_BODY = 8 * 1024 * 1024  # bytes of a /predict body; larger ones are a 413 before being read whole


class BodyTooLarge(Exception):
    pass


async def read_body(request: Any, limit: int) -> bytes:
    """The request body, refused (BodyTooLarge) as soon as it passes ``limit`` bytes: by its declared
    Content-Length before reading anything, else while streaming it in."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _require_starlette() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise MlopsError('serving needs Starlette and Uvicorn: pip install "mlops-magic[serve]"') from None


@dataclass(frozen=True)
class Served:
    version: Any  # registry.ModelVersion
    model: Any
    loaded: float


@dataclass
class Sample:
    """One answered request kept for monitoring: what came in, what went out, under which ids."""

    served: Served
    prepared: Any  # serving.inputs.Prepared
    predictions: list[Any]
    request_ids: list[str]


class ModelHolder:
    """The model a reference points at now; refreshed by polling, swapped atomically.

    It also keeps a sample of what was answered, in memory, for the poller thread to write: the
    request path only appends to a bounded buffer (a full buffer drops the sample and counts it, it
    never blocks a request); class probabilities are computed at flush, in one batch per version.
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


def _probabilities(samples: list[Sample]) -> list[list[float]] | None:
    """Class probabilities of every row of these samples (one version), in one predict_proba call."""
    model = samples[0].served.model
    if not hasattr(model, "predict_proba"):
        return None
    frames = [s.prepared.frame for s in samples]
    try:
        if hasattr(frames[0], "columns"):
            import pandas as pd

            joined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        else:
            import numpy as np

            joined = np.vstack(frames)
        return [[float(p) for p in row] for row in model.predict_proba(joined)]
    except Exception as exc:  # probabilities are for monitoring: never lose the sample over them
        log.warning("could not compute class probabilities for monitoring: %s", exc)
        return None


def _jsonable(values: Any) -> list[Any]:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def create_app(ref: str, *, store: Any = None, poll_interval: float = 1.0, sample: float = 1.0,
               trust: bool = False, max_body: int = MAX_BODY, keep: int = 100_000,
               id_column: str = "request_id") -> Any:
    """The Starlette app serving ``ref``; loads the model now so a bad reference fails before listening."""
    _require_starlette()
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route


    holder = ModelHolder(store or open_store(), ref, trust=trust, sample=sample, keep=keep)
    poller = AliasWatcher(holder, poll_interval)

    def error(status: int, message: str) -> Response:
        return JSONResponse({"error": message}, status_code=status)

    async def predict(request: Request) -> Response:
        served = holder.current  # read once: a swap mid-request cannot mix two versions
        holder.requests += 1
        try:
            payload = parse_body(await read_body(request, max_body))
        except BodyTooLarge:
            return error(413, f"the body is larger than {max_body} bytes (mlops serve --max-body); "
                              "send fewer rows per request")
        except InvalidInputError as exc:
            return error(400, str(exc))
        try:
            prepared = prepare(payload, served.version.input_schema, id_column=id_column)
            ids = request_ids_of(request.headers.get("x-request-id"), prepared)
        except InvalidInputError as exc:
            return error(422, str(exc))
        except Exception as exc:  # a body shape nobody foresaw is still the client's, in one line
            log.warning("unreadable request body: %s: %s", type(exc).__name__, exc)
            return error(422, f"cannot read the request body ({type(exc).__name__}); send "
                              '{"records": [{"col": value, ...}, ...]}')
        try:
            if prepared.rows <= INLINE_ROWS:
                out = served.model.predict(prepared.frame)
            else:
                out = await run_in_threadpool(served.model.predict, prepared.frame)
        except Exception as exc:
            return error(500, f"{served.version} failed to predict: {type(exc).__name__}: {exc}")
        predictions = _jsonable(out)
        body: dict[str, Any] = {"predictions": predictions, "request_ids": ids,
                                "model": served.version.name, "version": served.version.version}
        if prepared.ignored:
            body["ignored_columns"] = prepared.ignored
        try:
            reply = JSONResponse(body, headers={"X-Request-Id": header_value(ids[0])} if len(ids) == 1 else None)
        except (TypeError, ValueError) as exc:  # NaN/inf (JSON has none) or an object predict() returned
            return error(500, f"{served.version} returned predictions JSON cannot carry "
                              f"({type(exc).__name__}: {str(exc)[:200]}); check the inputs' range")
        holder.remember(Sample(served, prepared, predictions, ids))  # only what was answered is kept
        return reply

    async def health(request: Request) -> Response:
        v = holder.current.version
        return JSONResponse({"status": "ok", "model": v.name, "version": v.version})

    async def metadata(request: Request) -> Response:
        served = holder.current
        info = served.version.to_dict()
        info.update(ref=holder.ref, follows_alias=holder.follows, requests=holder.requests,
                    loaded=served.loaded, logged_rows=holder.logged, dropped_rows=holder.dropped)
        info.pop("trusted_types", None)
        return JSONResponse(info)

    async def labels(request: Request) -> Response:
        """``{"labels": [{"request_id": ..., "label": ...}, ...]}`` or ``{"ids": [...], "labels": [...]}``."""
        from ..monitoring.performance import log_labels  # lazy: pulls numpy

        try:
            payload = parse_body(await read_body(request, max_body))
        except BodyTooLarge:
            return error(413, f"the body is larger than {max_body} bytes (mlops serve --max-body)")
        except InvalidInputError as exc:
            return error(400, str(exc))
        ids, values = label_pairs(payload)
        if ids is None:
            return error(422, 'send {"labels": [{"request_id": "...", "label": ...}, ...]} '
                              'or {"ids": [...], "labels": [...]}')
        try:  # the request-id rule first: on the event loop, cheap, and nothing is stored when it fails
            ids = request_ids(ids)
        except InvalidInputError as exc:
            return error(422, str(exc))
        try:
            result = await run_in_threadpool(log_labels, holder.store, holder.current.version.name, ids, values)
        except MlopsError as exc:
            return error(exc.status if 400 <= exc.status < 500 else 422, str(exc))
        return JSONResponse({"stored": result.stored, "replaced": result.replaced, "unknown": result.unknown,
                             "unknown_examples": result.unknown_examples})

    async def lifespan(app: Any) -> Any:
        poller.start()
        yield
        poller.stop.set()
        poller.join(timeout=10)

    from contextlib import asynccontextmanager

    app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health),
                            Route("/metadata", metadata), Route("/labels", labels, methods=["POST"])],
                    lifespan=asynccontextmanager(lifespan))
    app.state.holder = holder
    return app


def serve(ref: str, *, host: str = "127.0.0.1", port: int = 8080, poll_interval: float = 1.0,
          sample: float = 1.0, trust: bool = False, store: Any = None, announce: Any = print,
          max_body: int = MAX_BODY, keep: int = 100_000) -> None:
    """Serve ``ref`` until interrupted (blocking); ``announce`` gets the one line that says what is served."""
    _require_starlette()
    import uvicorn

    app = create_app(ref, store=store, poll_interval=poll_interval, sample=sample, trust=trust,
                     max_body=max_body, keep=keep)
    v = app.state.holder.current.version
    announce(f"serving {v} ({ref}) on http://{host}:{port}  POST /predict · POST /labels · GET /health · GET /metadata")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

"""``mlops serve churn@production``: a model behind HTTP on Starlette + Uvicorn (extra ``[serve]``).

Three surfaces answer the same model:

- ``/predict`` (mlops-magic's own JSON), ``/labels``, ``/health``, ``/metadata``;
- the Open Inference Protocol v2 (KServe, Triton, Seldon): ``/v2/health/live``, ``/v2/health/ready``,
  ``/v2``, ``/v2/models/{name}[/versions/{v}]`` (metadata), ``.../ready`` and ``.../infer``
  (:mod:`serving.oip`);
- MLflow's scoring server: ``/ping``, ``/version``, ``/invocations`` (:mod:`serving.mlflow_scoring`).

A prediction request of any of them takes one path (:mod:`serving.answer`): read its body (refused
past ``max_body`` bytes), check the rows against the version's input schema, give each row a request
id, predict, answer, and keep a sample for monitoring. The model is held by
:class:`serving.holder.ModelHolder`, which follows the alias and swaps versions atomically.
"""

from __future__ import annotations

import logging
from typing import Any

from .._version import __version__
from ..errors import InvalidInputError, MlopsError, NotFoundError
from ..monitoring.request_ids import request_ids
from ..store import open_store
from . import oip
from .answer import Answer, Call, Reply, Surface, answer, json_reply, to_json
from .answer import keep as keep_sample
from .body import parse_body
from .holder import AliasWatcher, ModelHolder, Sample, Served
from .inputs import label_pairs
from .mlflow_scoring import MlflowScoring

__all__ = ["BodyTooLarge", "ModelHolder", "Sample", "Served", "create_app", "read_body", "serve"]

log = logging.getLogger("mlops_magic.serving.app")
MAX_BODY = 8 * 1024 * 1024  # bytes of a request body; larger ones are a 413 before being read whole
_FORMS = '{"records": [{"col": value, ...}, ...]}'


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


class Native:
    """``POST /predict``: records, columns or instances in; predictions, request ids, the version out."""

    forms = _FORMS

    def read(self, body: bytes, headers: Any, served: Served) -> Call:
        return Call(parse_body(body), header_id=headers.get("x-request-id"))

    def reply(self, done: Answer, call: Call) -> Reply:
        body: dict[str, Any] = {"predictions": done.predictions_list(), "request_ids": done.ids,
                                "model": done.served.version.name, "version": done.served.version.version}
        if done.prepared.ignored:
            body["ignored_columns"] = done.prepared.ignored
        return Reply(to_json(body, done.served), headers=done.echo())

    def error(self, status: int, message: str) -> Reply:
        return json_reply({"error": message}, status)


def create_app(ref: str, *, store: Any = None, poll_interval: float = 1.0, sample: float = 1.0,
               trust: bool = False, max_body: int = MAX_BODY, keep: int = 100_000,
               id_column: str = "request_id") -> Any:
    """The Starlette app serving ``ref``; loads the model now so a bad reference fails before listening."""
    _require_starlette()
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    holder = ModelHolder(store or open_store(), ref, trust=trust, sample=sample, keep=keep)
    poller = AliasWatcher(holder, poll_interval)
    native, mlflow = Native(), MlflowScoring()
    too_large = f"the body is larger than {max_body} bytes (mlops serve --max-body); send fewer rows per request"

    def respond(reply: Reply) -> Response:
        return Response(reply.body, reply.status, headers=reply.headers, media_type=reply.media_type)

    async def handle(request: Request, surface: Surface) -> Response:
        """The one path of a prediction request, whichever surface it came in (``serving.answer``)."""
        served = holder.current  # read once: a swap mid-request cannot mix two versions
        holder.requests += 1
        try:
            body = await read_body(request, max_body)
            try:
                call = surface.read(body, request.headers, served)
            except MlopsError:
                raise
            except Exception as exc:  # a body nobody foresaw is still the client's, in one line
                log.warning("unreadable request body: %s: %s", type(exc).__name__, exc)
                raise InvalidInputError(f"cannot read the request body ({type(exc).__name__}); "
                                        f"send {surface.forms}") from None
            done = await answer(served, call, id_column=id_column, forms=surface.forms)
            reply = surface.reply(done, call)
        except BodyTooLarge:
            return respond(surface.error(413, too_large))
        except MlopsError as exc:
            return respond(surface.error(exc.status, str(exc)))
        keep_sample(holder, done)  # only what was answered is kept
        return respond(reply)

    async def predict(request: Request) -> Response:
        return await handle(request, native)

    async def invocations(request: Request) -> Response:
        return await handle(request, mlflow)

    async def infer(request: Request) -> Response:
        return await handle(request, oip.OpenInference(request.path_params["name"],
                                                       request.path_params.get("version")))

    def served_as(request: Request) -> Served:
        return oip.resolve(holder.current, request.path_params["name"], request.path_params.get("version"))

    async def model_metadata(request: Request) -> Response:
        try:
            return JSONResponse(oip.model_metadata(served_as(request)))
        except NotFoundError as exc:
            return respond(oip.error(404, str(exc)))

    async def model_ready(request: Request) -> Response:
        try:
            return JSONResponse({"name": served_as(request).version.name, "ready": True})
        except NotFoundError as exc:
            return respond(oip.error(404, str(exc)))

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
            return respond(native.error(413, f"the body is larger than {max_body} bytes (mlops serve --max-body)"))
        except InvalidInputError as exc:
            return respond(native.error(400, str(exc)))
        ids, values = label_pairs(payload)
        if ids is None:
            return respond(native.error(422, 'send {"labels": [{"request_id": "...", "label": ...}, ...]} '
                                             'or {"ids": [...], "labels": [...]}'))
        try:  # the request-id rule first: on the event loop, cheap, and nothing is stored when it fails
            ids = request_ids(ids)
        except InvalidInputError as exc:
            return respond(native.error(422, str(exc)))
        try:
            result = await run_in_threadpool(log_labels, holder.store, holder.current.version.name, ids, values)
        except MlopsError as exc:
            return respond(native.error(exc.status if 400 <= exc.status < 500 else 422, str(exc)))
        return JSONResponse({"stored": result.stored, "replaced": result.replaced, "unknown": result.unknown,
                             "unknown_examples": result.unknown_examples})

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:  # the model loaded before the server listened
        return JSONResponse({"ready": True})

    async def server_metadata(request: Request) -> Response:
        return JSONResponse(oip.server_metadata(__version__))

    async def ping(request: Request) -> Response:  # MLflow's: a 200 with an empty line once the model loaded
        return Response("\n", media_type="application/json")

    async def version(request: Request) -> Response:
        return Response(__version__, media_type="text/plain")

    async def no_route(request: Request, exc: Any) -> Response:
        """An unknown path or method is one JSON line too (OIP clients read ``error``)."""
        what = "no such route" if exc.status_code == 404 else f"{request.method} is not allowed here"
        return respond(json_reply({"error": f"{what}: {request.url.path[:200]!r}; see GET /metadata and "
                                            "the routes in docs/models.md"}, exc.status_code))

    async def lifespan(app: Any) -> Any:
        poller.start()
        yield
        poller.stop.set()
        poller.join(timeout=10)

    def get(path: str, endpoint: Any) -> Any:
        return Route(path, endpoint, methods=["GET"])

    def post(path: str, endpoint: Any) -> Any:
        return Route(path, endpoint, methods=["POST"])

    routes = [
        post("/predict", predict), post("/labels", labels), get("/health", health), get("/metadata", metadata),
        get("/v2/health/live", live), get("/v2/health/ready", ready), get("/v2", server_metadata),
        get("/v2/models/{name}", model_metadata), get("/v2/models/{name}/versions/{version}", model_metadata),
        get("/v2/models/{name}/ready", model_ready), get("/v2/models/{name}/versions/{version}/ready", model_ready),
        post("/v2/models/{name}/infer", infer), post("/v2/models/{name}/versions/{version}/infer", infer),
        get("/ping", ping), get("/version", version), post("/invocations", invocations),
    ]
    app = Starlette(routes=routes, lifespan=asynccontextmanager(lifespan),
                    exception_handlers={404: no_route, 405: no_route})
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
    announce(f"serving {v} ({ref}) on http://{host}:{port}  POST /predict · POST /labels · GET /health · "
             f"GET /metadata · Open Inference Protocol v2: POST /v2/models/{v.name}/infer · MLflow: POST /invocations")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

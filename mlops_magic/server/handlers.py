"""REST API v1 handlers: parse the request, call the core, answer JSON.

No query logic lives here: every answer comes from the same core functions the
CLI and the magics use (``mlops_magic.tracking.queries``, the store, the registry, the
scheduler, the runner). Every method is ``@tornado.web.authenticated``; the
test suite asserts that every route refuses a request without the token.
The OpenAPI description of these routes is ``labextension/openapi.yaml``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.escape
import tornado.web

from .._version import __version__
from ..alerts import deliver_soon
from ..entities import RUN_STATUSES, STAGE_KINDS, TRIGGERS, StageStatus
from ..errors import InvalidInputError
from ..store.runs import filter_values
from ..tracking import queries
from .base import MlopsHandler, maps_errors
from .paths import check_relative_glob, to_api_path
from .stores import StoreOutsideRootError

MAX_PAGE = 500


class InfoHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self) -> None:
        """Which store ``?at=NOTEBOOK`` reads (its folder's nearest ``.mlops/``), and the API's enums."""
        folder = self.store_folder
        store = self.existing_store_at(folder)
        hint = None
        if store is None:
            try:
                self.store_location(folder)
            except StoreOutsideRootError as exc:  # say why the runs a kernel records here do not show
                hint = str(exc)
            if hint is None:
                where = self.api_path(folder)
                place = "the server root" if where == "" else f"{where}/" if where else "the notebook's folder"
                hint = f"no store yet: the first stage run creates .mlops/ in {place}"
        project = store.project_dir if store is not None else None
        self.reply({"version": __version__, "api": "v1",
                    "store": store.display_url if store is not None else None,
                    "project": self.api_path(project) if project is not None else None,
                    "hint": hint, "enums": ENUMS})


ENUMS = {"run_status": list(RUN_STATUSES), "stage_status": [s.value for s in StageStatus],
         "stage_kinds": list(STAGE_KINDS), "triggers": list(TRIGGERS)}
"""The words the API answers with, served so the lab's filters and forms never drift from Python."""


class RunsHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self) -> None:
        limit = self.int_arg("limit", 50, 1, MAX_PAGE)
        offset = self.int_arg("offset", 0, 0, 10**9)
        notebook = self.str_arg("notebook")
        store = self.store_or_none
        if store is None:  # no store yet: nothing ran; still check the filters the client sent
            filter_values(self.str_arg("status"), self.str_arg("trigger"))
            self.reply({"runs": [], "total": 0, "limit": limit, "offset": offset, "next_offset": None})
            return
        key = queries.notebook_key(store, self.notebook_path(notebook)) if notebook else None
        page = queries.runs_page(store, notebook=key, status=self.str_arg("status"),
                                  trigger=self.str_arg("trigger"), user=self.str_arg("user"), limit=limit,
                                  offset=offset)
        for run in page["runs"]:
            self.add_api_path(run, store)
        self.reply(page)

    def add_api_path(self, run: dict[str, Any], store: Any) -> None:
        """``notebook_path``: the run's notebook as a path Lab can open, or null when outside the root."""
        file = queries.notebook_file(store, run.get("notebook"))
        run["notebook_path"] = to_api_path(self.root_dir, file) if file else None


class RunHandler(RunsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self, run_id: str) -> None:
        store = self.store
        detail = queries.run_detail(store, run_id)
        self.add_api_path(detail, store)
        for artifact in detail.get("artifacts", []):
            artifact.pop("path", None)  # a store-internal file; download through the artifacts route
        self.reply(detail)


class MetricHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self, run_id: str, key: str) -> None:
        self.reply(queries.metric_points(self.store, run_id, key))


class StagesHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self, run_id: str) -> None:
        store = self.store
        run_id = store.resolve_run_id(run_id)
        self.reply({"run_id": run_id, "stages": queries.stage_records(store, store.list_stages(run_id)),
                    "lifecycle": queries.run_lifecycle(store, run_id).to_dict()})


class ArtifactHandler(MlopsHandler):
    """Download one artifact of a run. The file is found by content digest inside the
    store (the store refuses anything that is not a plain digest), never by a client path."""

    @tornado.web.authenticated
    @maps_errors
    async def get(self, run_id: str, name: str) -> None:
        store = self.store
        artifact = store.get_artifact(store.resolve_run_id(run_id), name)
        quoted = tornado.escape.url_escape(name, plus=False)
        loop = asyncio.get_running_loop()
        # through the store's artifact seam (a folder or a bucket), in chunks read off the event loop; the
        # client never sees where the bytes live
        fh = await loop.run_in_executor(None, store.artifacts.open, artifact.digest)
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quoted}")
        self.set_header("X-Content-Type-Options", "nosniff")
        # APIHandler.finish would label every body JSON; a download is bytes.
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(artifact.size))
        with fh:
            while chunk := await loop.run_in_executor(None, fh.read, 1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish(set_content_type="application/octet-stream")


class ReportHandler(MlopsHandler):
    """A run's self-contained HTML report (the same page as ``mlops report RUN --html``).

    The page embeds the executed notebook, whose outputs nobody vetted: it is served sandboxed
    (a unique origin, no scripts), so nothing in it can act on the Jupyter session.
    """

    SANDBOX = ("sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
               "font-src data:; frame-ancestors 'self'")

    @tornado.web.authenticated
    @maps_errors
    def get(self, run_id: str) -> None:
        from ..report import run_report  # lazy: jupyter server start-up

        html = run_report(self.store, run_id, "html")
        self.set_header("Content-Security-Policy", self.SANDBOX)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(html, set_content_type="text/html; charset=utf-8")


# -- models and aliases (mlops_magic.registry.versions) -------------------------------------------------
class ModelsHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self) -> None:
        from ..monitoring.health import model_health  # lazy: pulls numpy
        from ..registry.versions import model_summaries  # lazy: jupyter server start-up

        store = self.store_or_none
        models = model_summaries(store) if store is not None else []
        self.reply({"models": [{**m, "health": model_health(store, m["name"])} for m in models]})


class ModelHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self, name: str) -> None:
        from ..monitoring.health import model_health  # lazy: pulls numpy
        from ..registry.aliases import model_detail  # lazy: jupyter server start-up

        self.reply({**model_detail(self.store, name), "health": model_health(self.store, name)})


class AliasHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def put(self, name: str, alias: str) -> None:
        """Promote: point ``alias`` at a version; a failed gate answers 409 and moves nothing."""
        from ..registry import aliases  # lazy: jupyter server start-up

        body = self.json_body()
        version = body.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise InvalidInputError('"version" must be an integer (omit it to promote the latest version)')
        if_better = body.get("if_better")
        if if_better is not None and not isinstance(if_better, str):
            raise InvalidInputError('"if_better" must be a metric name, e.g. "accuracy"')
        result = aliases.promote(self.store, name, alias, version=version, if_better=if_better,
                                 reason=_optional_str(body, "reason"))
        deliver_soon(self.store)  # the promotion's alert, off the request's path
        self.reply(result.to_dict())


class RollbackHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def post(self, name: str, alias: str) -> None:
        from ..registry import aliases  # lazy: jupyter server start-up

        reason = _optional_str(self.json_body(), "reason")
        result = aliases.rollback(self.store, name, alias, reason=reason)
        deliver_soon(self.store)  # the rollback's alert, off the request's path
        self.reply(result.to_dict())


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f'"{key}" must be a string')
    return value


# -- schedules (mlops_magic.scheduling) --------------------------------------------------------
class SchedulesHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self) -> None:
        from ..scheduling import overview as views  # lazy: jupyter server start-up

        notebook = self.str_arg("notebook")
        store = self.store_or_none
        rows = views.list_schedules_view(store, self.notebook_path(notebook) if notebook else None,
                                         locate=self.api_path) if store is not None else []
        self.reply({"schedules": rows})

    @tornado.web.authenticated
    @maps_errors
    def post(self) -> None:
        """Add a schedule; ``notebook`` and ``after`` are API paths, ``on_change`` globs stay under the root."""
        from ..scheduling import overview as views  # lazy: jupyter server start-up

        body = self.json_body()
        notebook = self.notebook_path(body.pop("notebook", None))
        after = body.get("after")
        if not (after is None or (isinstance(after, str) and not after.strip())):  # "" is no "after"
            body["after"] = str(self.notebook_path(after, '"after"'))
        if isinstance(body.get("on_change"), list):
            for pattern in body["on_change"]:
                check_relative_glob(pattern)
        self.reply(views.create_schedule_view(self.store_for_writing, notebook, body, locate=self.api_path),
                   status=201)


class ScheduleHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self, schedule_id: str) -> None:
        from ..scheduling import overview as views  # lazy: jupyter server start-up

        self.reply(views.get_schedule_view(self.store, schedule_id, locate=self.api_path))

    @tornado.web.authenticated
    @maps_errors
    def patch(self, schedule_id: str) -> None:
        """``{"paused": true}`` pauses, ``{"paused": false}`` resumes."""
        from ..scheduling import overview as views  # lazy: jupyter server start-up

        self.reply(views.update_schedule_view(self.store, schedule_id, self.json_body(), locate=self.api_path))

    @tornado.web.authenticated
    @maps_errors
    def delete(self, schedule_id: str) -> None:
        from ..scheduling import remove_schedule  # lazy: jupyter server start-up

        remove_schedule(self.store, schedule_id)
        self.set_status(204)
        self.finish()


# -- run now (mlops_magic.runner) --------------------------------------------------------------
class RunNowHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def post(self) -> None:
        from ..runner import submit_notebook  # lazy: jupyter server start-up

        body = self.json_body()
        notebook = self.notebook_path(body.get("path"))
        params = body.get("params") or {}
        stages = body.get("stages") or []
        if not isinstance(params, dict):
            raise InvalidInputError('"params" must be an object of name: value')
        if not (isinstance(stages, list) and all(isinstance(s, str) for s in stages)):
            raise InvalidInputError('"stages" must be a list of stage kinds or names, e.g. ["train"]')
        run_id = submit_notebook(self.store_for_writing, notebook, params=params, stages=stages)
        self.reply({"id": run_id, "status": "starting", "notebook_path": to_api_path(self.root_dir, notebook)},
                   status=202)


# -- explain (mlops_magic.explain) ------------------------------------------------------------
class DiffHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self) -> None:
        """``?a=RUN&b=RUN``: the stage-aware diff of two runs (the JSON of ``mlops diff --format json``)."""
        from ..explain.diff import diff_runs  # lazy: jupyter server start-up

        a, b = self.str_arg("a"), self.str_arg("b")
        if not a or not b:
            raise InvalidInputError("give both runs: ?a=RUN&b=RUN")
        self.reply(diff_runs(self.store, a, b).to_dict())


_RUN = r"(?P<run_id>[^/]+)"
ROUTES: list[tuple[str, type[MlopsHandler]]] = [
    (r"info", InfoHandler),
    (r"runs", RunsHandler),
    (rf"runs/{_RUN}", RunHandler),
    (rf"runs/{_RUN}/stages", StagesHandler),
    (rf"runs/{_RUN}/metrics/(?P<key>.+)", MetricHandler),
    (rf"runs/{_RUN}/artifacts/(?P<name>.+)", ArtifactHandler),
    (rf"runs/{_RUN}/report", ReportHandler),
    (r"models", ModelsHandler),
    (r"models/(?P<name>[^/]+)", ModelHandler),
    (r"models/(?P<name>[^/]+)/aliases/(?P<alias>[^/]+)", AliasHandler),
    (r"models/(?P<name>[^/]+)/aliases/(?P<alias>[^/]+)/rollback", RollbackHandler),
    (r"schedules", SchedulesHandler),
    (r"schedules/(?P<schedule_id>[^/]+)", ScheduleHandler),
    (r"run-now", RunNowHandler),
    (r"diff", DiffHandler),
]

"""What every mlops-magic handler shares: JSON errors, argument parsing, the store.

Errors are translated here and only here: an :class:`MlopsError` becomes a JSON
reply with the error's own HTTP status (404 for a missing run, 409 for a failed
gate...), never a blanket 500. See ``errors.py`` for the statuses.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from ..errors import InvalidInputError, MlopsError, NotFoundError, StoreError
from ..serving.body import parse_body
from .paths import resolve_in_root, to_api_path
from .stores import StoreOutsideRootError, find_location

F = TypeVar("F", bound=Callable[..., Any])


class ApiError(HTTPError):
    """An HTTP error whose JSON body names the mlops error type and its message."""

    def __init__(self, status: int, message: str, error: str) -> None:
        # log_message goes through %-formatting when tornado logs it: escape it.
        super().__init__(status, message.replace("%", "%%"))
        self.message = message
        self.error = error


def maps_errors(method: F) -> F:
    """Turn an :class:`MlopsError` raised by the core into :class:`ApiError` with its status."""

    @functools.wraps(method)
    async def wrapper(self: MlopsHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        except MlopsError as exc:
            raise ApiError(exc.status, str(exc), type(exc).__name__) from exc

    return wrapper  # type: ignore[return-value]


class MlopsHandler(APIHandler):
    """Base for every route under ``/mlops/api/v1/``; subclasses decorate each method
    with ``@tornado.web.authenticated`` and ``@maps_errors``."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message, "error": exc.error, "status": status_code}))
            return
        super().write_error(status_code, **kwargs)

    # -- context -------------------------------------------------------------------------------
    @property
    def root_dir(self) -> Path:
        return Path(self.settings.get("mlops_root_dir") or self.settings["server_root_dir"]).resolve()

    @property
    def store_folder(self) -> Path:
        """Where the store is looked for: the folder of ``?at=NOTEBOOK`` (the notebook the client shows),
        else the server root. A kernel finds its store from its notebook's folder; so does the panel."""
        target = resolve_in_root(self.root_dir, self.get_query_argument("at", None), must_exist=False,
                                 allow_root=True, what="?at=")
        return target if target.is_dir() else target.parent

    def store_location(self, folder: Path) -> Any:
        """The location of the store a kernel in ``folder`` would use (None when it would create one);
        :class:`~.stores.StoreOutsideRootError` when that store lies outside the root and is not allowed."""
        return find_location(folder, self.root_dir, self.settings.get("mlops_allowed_stores", frozenset()),
                             self.settings.get("mlops_store_url"))

    @property
    def store_or_none(self) -> Any:
        """The store reads use, or None when there is none yet for :attr:`store_folder`."""
        return self.existing_store_at(self.store_folder)

    def existing_store_at(self, folder: Path) -> Any:
        """The store a kernel in ``folder`` would use, or None when it would have to create one (looking
        at a notebook never creates a ``.mlops/`` folder) or when that store lies outside the root."""
        from ..store import open_location  # lazy: jupyter server start-up

        try:
            location = self.store_location(folder)
            return open_location(location) if location is not None else None
        except StoreOutsideRootError:
            return None
        except StoreError:
            return None

    @property
    def store(self) -> Any:
        """The existing store for :attr:`store_folder`; a 404 naming the folder when there is none."""
        folder = self.store_folder
        self.store_location(folder)  # a store outside the root: a 403 saying so, not "no store yet"
        store = self.existing_store_at(folder)
        if store is None:
            raise NotFoundError(f"no mlops store for {self.api_path(folder) or '/'} yet: "
                                "the first stage run or `mlops init` creates one")
        return store

    @property
    def store_for_writing(self) -> Any:
        """The store a write goes to, created where a kernel of that notebook would create it; a store
        outside the root that is not allowed is a 403, never a second store created beside it."""
        from ..store import open_location, open_store  # lazy: jupyter server start-up

        folder = self.store_folder
        location = self.store_location(folder)
        return open_location(location) if location is not None else open_store(None, start=folder)

    def notebook_path(self, api_path: object, what: str = "a notebook path") -> Path:
        """The existing notebook file an API path from the client names (the one path rule of ``paths``)."""
        return resolve_in_root(self.root_dir, api_path, what=what)

    def api_path(self, path: Path) -> str | None:
        """``path`` as a Jupyter API path Lab can open, or ``None`` when it lies outside the root."""
        return to_api_path(self.root_dir, path)

    # -- input ---------------------------------------------------------------------------------
    def int_arg(self, name: str, default: int, lo: int, hi: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInputError(
                f"{name} must be an integer between {lo} and {hi}, not {raw[:40]!r}") from None
        if not lo <= value <= hi:
            raise InvalidInputError(f"{name} must be between {lo} and {hi}, not {value}")
        return value

    def str_arg(self, name: str) -> str | None:
        raw = self.get_query_argument(name, None)
        return raw.strip() or None if raw is not None else None

    def json_body(self, *, allow_surrogates: bool = False) -> dict[str, Any]:
        """The request's JSON object, read by the one body reader both servers share (``serving.body``)."""
        if not self.request.body:
            return {}
        body = parse_body(self.request.body, allow_surrogates=allow_surrogates)
        if not isinstance(body, dict):
            raise InvalidInputError("the request body must be a JSON object")
        return body

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=str))


AsyncMethod = Callable[..., Awaitable[None]]

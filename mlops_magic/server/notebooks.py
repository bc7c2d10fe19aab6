"""The notebook-facing routes: a notebook's lifecycle (saved or as open in Lab), and a rename Lab did.

Both take notebook paths from the client, checked by the one path rule (``paths.py``); the lifecycle
work (reading and parsing a notebook) runs off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.web

from ..errors import InvalidInputError, NotFoundError
from ..tracking import queries
from .base import MlopsHandler, maps_errors
from .paths import resolve_in_root, to_api_path


class LifecycleHandler(MlopsHandler):
    """A notebook's stage cells with their latest attempts. ``GET ?path=`` reads the saved file;
    ``POST {path, cells}`` takes the document as open in Lab (saved or not), which is what the user sees.

    Reading a notebook and parsing its cells is done off the event loop: a huge notebook or request
    then slows its own answer only, never the rest of the Jupyter server."""

    @tornado.web.authenticated
    @maps_errors
    async def get(self) -> None:
        await self.answer(self.notebook_path(self.get_query_argument("path", None)), None)

    @tornado.web.authenticated
    @maps_errors
    async def post(self) -> None:
        # cells may hold any text the editor holds, lone surrogates included; the path may not
        body = await asyncio.to_thread(self.json_body, allow_surrogates=True)
        notebook = self.notebook_path(body.get("path"))
        cells = await asyncio.to_thread(open_cells, body.get("cells"))
        await self.answer(notebook, {"cells": cells})

    async def answer(self, notebook: Any, content: dict[str, Any] | None) -> None:
        store = self.existing_store_at(notebook.parent)
        view = await asyncio.to_thread(queries.notebook_lifecycle, store, notebook, content)
        view["path"] = to_api_path(self.root_dir, notebook)
        self.reply(view)


MAX_CELLS = 10_000


def open_cells(cells: Any) -> list[dict[str, Any]]:
    """The open document's cells from a client, checked into the shape of a notebook file's cells."""
    if not isinstance(cells, list):
        raise InvalidInputError('"cells" must be a list of {cell_type, source, tags?, id?}')
    if len(cells) > MAX_CELLS:
        raise InvalidInputError(f'"cells" has {len(cells)} cells; at most {MAX_CELLS} are read')
    out = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), str):
            raise InvalidInputError(f"cell {i} must be an object with a string \"source\"")
        tags = cell.get("tags") or []
        if not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise InvalidInputError(f'cell {i}: "tags" must be a list of strings')
        cell_id = cell.get("id")
        out.append({"cell_type": str(cell.get("cell_type", "code")), "source": cell.get("source", ""),
                    "metadata": {"tags": tags}, "id": cell_id if isinstance(cell_id, str) else None})
    return out


class RenameHandler(MlopsHandler):
    """Lab renamed or moved a notebook (or a folder): its runs, schedules and kernel follow it."""

    @tornado.web.authenticated
    @maps_errors
    def post(self) -> None:
        from ..scheduling.renames import rename_notebook  # lazy: jupyter server start-up

        body = self.json_body()
        old_api, new_api = body.get("from"), body.get("to")
        # the root itself is refused: renaming "." would re-point every run and schedule of the store
        old = resolve_in_root(self.root_dir, old_api, must_exist=False, what='"from"')
        new = resolve_in_root(self.root_dir, new_api, must_exist=False, what='"to"')
        if not new.exists():
            raise NotFoundError(f"no such file or folder under the server root: {str(new_api)[:200]}")
        store = self.existing_store_at(new if new.is_dir() else new.parent)
        moved = rename_notebook(store, old, new) if store is not None else {"runs": 0, "schedules": 0}
        self.reply({"from": to_api_path(self.root_dir, old), "to": to_api_path(self.root_dir, new), **moved})


ROUTES: list[tuple[str, type[MlopsHandler]]] = [
    (r"lifecycle", LifecycleHandler),
    (r"notebooks/rename", RenameHandler),
]

"""Which store a folder under the server root may use: by default none outside the root.

A kernel finds its store by walking up from its notebook's folder to the nearest ``.mlops/`` (or
``MLOPS_STORE``). The server must not follow that walk out of the folder it serves: a ``.mlops/``
*above* the root (a home folder's) or reached through a symlink (``root/.mlops -> /elsewhere``) or
named by a project's ``config.json`` (another file, a PostgreSQL server) would let the lab read and
write a store the server was never given. So a store is used when

- the server's own environment names it (``MLOPS_STORE`` when ``jupyter lab`` started): its operator
  chose it; or
- its files resolve inside the root (the SQLite database and the artifacts folder, symlinks followed);
  or
- ``c.MlopsExtension.allowed_stores`` lists it (a folder holding ``.mlops/``, or a store URL).

A store found outside the root otherwise counts as no store for reads (the lab says why), and a write
(a schedule, Run now) is refused with 403 instead of creating a second store beside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets import List, Unicode
from traitlets.config import Configurable

from ..errors import InvalidInputError, MlopsError
from ..store.location import StoreLocation, find_project_dir, parse_store_url, resolve_location


class MlopsExtension(Configurable):
    """Settings of the mlops-magic server extension (``c.MlopsExtension.…`` in ``jupyter_server_config.py``)."""

    allowed_stores = List(Unicode(), default_value=[], help=(
        "Stores outside the server root the lab may read and write: project folders (holding .mlops/) "
        "or store URLs (sqlite:///…/mlops.db, postgresql://…). By default the lab uses only stores whose "
        "files lie under the root, or the one MLOPS_STORE named when the server started.")).tag(config=True)


class StoreOutsideRootError(MlopsError):
    """The store a folder would use lies outside the server root and is not allowed."""

    status = 403


def allowed_urls(entries: list[str]) -> frozenset[str]:
    """The locations ``allowed_stores`` names, as store URLs (a folder is its ``.mlops/`` database)."""
    urls = set()
    for entry in entries:
        try:
            urls.add(parse_store_url(entry).url)
        except InvalidInputError as exc:
            raise InvalidInputError(f"c.MlopsExtension.allowed_stores: {exc}") from None
    return frozenset(urls)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def find_location(folder: Path, root: Path, allowed: frozenset[str], named: str | None) -> StoreLocation | None:
    """The store ``folder`` (under ``root``) uses, or None when it has none yet.

    Raises :class:`StoreOutsideRootError` when the store it would use lies outside ``root`` and neither
    ``named`` (the server's own ``MLOPS_STORE``) nor ``allowed`` names it.
    """
    url = named or os.environ.get("MLOPS_STORE")
    if url:
        return parse_store_url(url)
    project = find_project_dir(folder)
    if project is None:
        return None
    location = resolve_location(None, start=folder)
    if location.url in allowed:
        return location
    # artifacts in an object store are no path on this machine: only folders are held to the root
    files = [f for f in (location.artifacts_root, location.db_path) if f is not None]
    if location.conninfo is None and _inside(project, root) and all(_inside(f, root) for f in files):
        return location
    raise StoreOutsideRootError(
        f"the store of this folder ({location.display_url}) lies outside the server root; the lab uses it "
        "only when c.MlopsExtension.allowed_stores lists it (see docs/lab.md)")


def settings_for(serverapp: Any) -> dict[str, Any]:
    """The tornado settings the handlers read, from the server's config (``c.MlopsExtension``)."""
    extension = MlopsExtension(parent=serverapp)
    return {"mlops_allowed_stores": allowed_urls(list(extension.allowed_stores))}

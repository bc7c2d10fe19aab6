"""``init``: make a folder an mlops project, optionally pointing its store elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from . import Store, open_store
from .location import PROJECT_DIRNAME, find_project_dir, parse_store_url, read_project_config, write_project_config


def init_project(path: str | os.PathLike[str] | None = None, store_url: str | None = None, *,
                 executor: str | None = None) -> tuple[Store, str]:
    """Create ``PATH/.mlops/`` (and the store it names); returns the store and a one-line report.

    ``executor`` (a URL the runner checked) becomes the project's default executor for headless runs.
    """
    project = Path(path or os.getcwd()).resolve()
    folder = project / PROJECT_DIRNAME
    existed = folder.is_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {folder}: {exc.strerror or exc}; choose a writable folder") from None
    if store_url:
        location = parse_store_url(store_url, base=project)
        write_project_config(project, {**read_project_config(project), "store": location.url})
        store = open_store(location.url)
    else:
        store = open_store(str(project))
    if executor:
        write_project_config(project, {**read_project_config(project), "executor": executor})
    verb = "Using existing" if existed else "Initialised"
    message = f"{verb} mlops project at {folder} (store {store.display_url})"
    if executor:
        message += f"; headless runs go to {executor}"
    if os.environ.get("MLOPS_STORE") and not store_url:
        message += f"; note: MLOPS_STORE={os.environ['MLOPS_STORE']} takes precedence in this environment"
    return store, message


def project_of(store: Store | None) -> Path | None:
    """The project folder whose ``.mlops/config.json`` applies: the store's, else the one holding its
    ``.mlops/mlops.db`` (a store opened by its sqlite URL, as the widgets do), else the nearest one above the
    working directory."""
    if store is not None and store.project_dir is not None:
        return store.project_dir
    path = getattr(store.db, "path", None) if store is not None else None
    if path is not None and Path(path).parent.name == PROJECT_DIRNAME:
        return Path(path).parent.parent
    return find_project_dir()


def project_config(store: Store | None) -> dict[str, object]:
    """The applicable ``.mlops/config.json`` (empty when there is no project)."""
    project = project_of(store)
    return read_project_config(project) if project is not None else {}

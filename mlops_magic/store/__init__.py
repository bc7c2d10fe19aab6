"""The store: where runs, stages, metrics, models and schedules are kept.

``open_store()`` resolves a location (see :mod:`.location`) and returns a
:class:`Store`; one per location and process is cached so every face shares it.
"""

from __future__ import annotations

import os
import threading

from ..errors import StoreError
from .artifact_files import ArtifactStore, LocalArtifactStore
from .db import Database, SQLiteDatabase, Transaction
from .facade import Store
from .location import StoreLocation, find_project_dir, resolve_location
from .postgres import PostgresDatabase

_cache: dict[tuple[str, str, int], Store] = {}
_cache_lock = threading.Lock()


def open_store(url: str | None = None, *, start: str | os.PathLike[str] | None = None,
               create: bool = True) -> Store:
    """The store for ``url`` (or the resolved default), creating ``.mlops/`` on first use."""
    return open_location(resolve_location(url, start=start), create=create)


def open_location(location: StoreLocation, *, create: bool = True) -> Store:
    """The store at ``location`` as resolved (its project folder included, which a bare URL does not
    carry: notebooks are recorded relative to it), shared by every caller in this process."""
    # A forked child must not share its parent's connection; the same database named by URL (no project
    # folder) and found from a folder (notebooks recorded relative to it) are two stores to their callers.
    key = (location.url, str(location.project_dir), os.getpid())
    with _cache_lock:
        store = _cache.get(key)
        if store is None:
            store = _open(location, create=create)
            _cache[key] = store
        return store


def open_existing_store(url: str | None = None, *, start: str | os.PathLike[str] | None = None) -> Store:
    """The store ``url`` (or ``MLOPS_STORE``, or the nearest project's) names; never a new ``.mlops/``.

    Every read of every face (``mlops runs``, ``mlops schedule list``, the lab's panels) opens its store
    through here, so looking never leaves a project folder behind where it was typed.
    """
    if not url and not os.environ.get("MLOPS_STORE") and find_project_dir(start) is None:
        raise StoreError(f"no mlops project here: no .mlops/ folder in {os.path.abspath(start or os.getcwd())} "
                         "or above; run `mlops init` or set MLOPS_STORE")
    return open_store(url, start=start)


def _open(location: StoreLocation, *, create: bool) -> Store:
    db: Database
    if location.conninfo is not None:
        db = PostgresDatabase(location.url, conninfo=location.conninfo, create=create)
    elif location.db_path is not None:
        db = SQLiteDatabase(location.db_path, create=create)
    else:  # pragma: no cover - parse_store_url gives one or the other
        raise StoreError(f"unsupported store {location.display_url}")
    return Store(db, artifact_store(location), location.project_dir, url=location.url, work_dir=location.work_dir)


def artifact_store(location: StoreLocation) -> ArtifactStore:
    """The artifact bytes of ``location``: a folder, or an object store (imported only when named)."""
    if location.artifacts_root is None:
        from .object_storage import ObjectArtifactStore  # lazy: imports fsspec's machinery only when used

        return ObjectArtifactStore(location.artifacts)
    files = LocalArtifactStore(location.artifacts_root)
    files.clean_stale_uploads()  # uploads a killed process left behind
    return files


def clear_cache() -> None:
    """Forget cached stores (tests and `init` use this after moving the default)."""
    with _cache_lock:
        for store in _cache.values():
            try:
                store.close()
            except Exception:
                pass
        _cache.clear()


__all__ = ["ArtifactStore", "Database", "LocalArtifactStore", "SQLiteDatabase", "Store", "StoreLocation", "Transaction",
           "clear_cache", "find_project_dir", "open_existing_store", "open_location", "open_store", "resolve_location"]

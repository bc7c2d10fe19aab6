"""Cache entries in the store: saved as content-addressed artifacts, read back checked, evicted by age of use.

An entry is a manifest (variables as trees pointing at objects, deleted names, output files, the cell's
outputs, the fingerprints of the frames it restores) and the objects it names, all written through
``store.artifacts`` (so they follow the store to PostgreSQL and to any artifact backend) and listed in
``cache_objects``. Reading checks every object against its SHA-256 address: a truncated or edited file
is an :class:`EntryError`, which the observer turns into one line and a normal run of the stage.

The total size is capped (``MLOPS_CACHE_MAX_BYTES``, else ``cache_max_bytes`` in ``.mlops/config.json``,
else 10 GiB); saving an entry evicts the least recently used ones until the cache fits.
"""

from __future__ import annotations

import functools
import hashlib
import json
import mmap
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from ..errors import InvalidInputError
from ..store import Store
from ..store import cache as tables
from ..store.location import read_project_config
from .codecs import Unstorable, decode, encode, frame, unframe

DEFAULT_MAX_BYTES = 10 * 2**30
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_POWERS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12,
           "tb": 10**12, "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
           "ti": 2**40, "tib": 2**40}


class EntryError(Exception):
    """An entry whose manifest or objects are missing or do not match their digests."""


@dataclass
class Restored:
    """What an entry gives back, ready to put in place."""

    key: str
    run_id: str
    stage_id: int
    stage: str
    seconds: float
    values: dict[str, Any] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Saved:
    saved: bool
    size: int = 0
    note: str | None = None  # why it was not saved, or that another process saved it first


def max_bytes(store: Store) -> int:
    """The cache's size cap: ``MLOPS_CACHE_MAX_BYTES``, else the project's ``cache_max_bytes``, else 10 GiB."""
    text = os.environ.get("MLOPS_CACHE_MAX_BYTES", "").strip()
    if not text and store.project_dir is not None:
        text = str(read_project_config(store.project_dir).get("cache_max_bytes") or "").strip()
    return parse_size(text) if text else DEFAULT_MAX_BYTES


def parse_size(text: str) -> int:
    """``500MB``, ``10GiB``, ``1e9``: bytes."""
    match = _SIZE.match(text)
    if not match:
        raise InvalidInputError(f"cache size {text!r}: write a number of bytes, e.g. 500MB or 10GiB")
    return int(float(match.group(1)) * _POWERS[(match.group(2) or "").lower()])


# -- saving -------------------------------------------------------------------------------------------------
def save_entry(store: Store, key: str, *, values: dict[str, Any], deleted: list[str], files: list[Path],
               cwd: Path, outputs: list[dict[str, Any]], fingerprints: dict[str, dict[str, Any]], run_id: str,
               stage_id: int, stage: str, notebook: str | None, seconds: float) -> Saved:
    """Store an entry for ``key``; raises :class:`Unstorable` (one line naming the value) for what cannot be.
    ``fingerprints``: name → the fingerprint of each frame or array among ``values`` (the round-trip check
    compares the restored value's with it)."""
    known = {id(values[n]): fp["digest"] for n, fp in fingerprints.items() if n in values}
    objects: list[bytes] = []
    spans: list[tuple[str, Any, int, int]] = []  # (name, tree, first object, end)
    for name, value in values.items():
        encoded = encode(value, name, known)
        spans.append((name, encoded.tree, len(objects), len(objects) + len(encoded.objects)))
        objects += encoded.objects
    paths = [_relative(path, cwd) for path in files]
    objects += [frame("file", path.read_bytes()) for path in files]
    digests = [store.artifacts.put_bytes(data) for data in objects]
    refs = [{"digest": d, "check": xxhash.xxh3_128(data).hexdigest()} for (d, _), data in zip(digests, objects,
                                                                                              strict=True)]
    manifest = {"version": 1, "key": key,
                "variables": [{"name": n, "tree": t, "objects": refs[a:b]} for n, t, a, b in spans],
                "deleted": sorted(deleted),
                "files": [{"path": p, "object": refs[len(refs) - len(paths) + i]} for i, p in enumerate(paths)],
                "outputs": outputs, "fingerprints": fingerprints}
    manifest_digest, manifest_size = store.artifacts.put_bytes(frame("manifest", json.dumps(manifest).encode()))
    used = sorted({d for d, _ in digests} | {manifest_digest})
    size = manifest_size + sum(dict(digests).values())  # an object two variables share counts once
    cap = max_bytes(store)
    if size > cap:
        _forget(store, used)
        return Saved(False, size, f"its outputs ({_size(size)}) exceed the cache's cap of {_size(cap)} "
                                  "(MLOPS_CACHE_MAX_BYTES)")
    row = {"key": key, "manifest": manifest_digest, "size": size, "run_id": run_id, "stage_id": stage_id,
           "stage": stage, "notebook": notebook, "seconds": seconds, "created": time.time()}
    if not store.db.run_in_transaction(lambda tx: tables.insert_entry(tx, row, used)):
        _forget(store, used)  # another process stored this key first: theirs stands, ours goes
        return Saved(False, size, "another run stored the same entry first")
    evict(store, cap, keep=key)
    return Saved(True, size)


def _relative(path: Path, cwd: Path) -> str:
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _forget(store: Store, digests: list[str]) -> None:
    """Remove objects this process wrote that no entry uses."""
    for digest in digests:
        if not tables.object_in_use(store.db, digest):
            store.artifacts.remove(digest)


def _size(n: float) -> str:
    from ..display.html import fmt_size  # lazy: display is only needed for this one message

    return fmt_size(n)


# -- reading ------------------------------------------------------------------------------------------------
def load_entry(store: Store, key: str) -> Restored | None:
    """The entry of ``key`` with its values rebuilt; None when there is none; :class:`EntryError` when broken."""
    row = tables.entry(store.db, key)
    if row is None:
        return None
    codec, payload = read_object(store, row["manifest"], sha256=True)
    try:
        manifest = json.loads(bytes(payload))
    except ValueError as exc:
        raise EntryError(f"its manifest is not JSON ({exc})") from None
    if codec != "manifest" or manifest.get("key") != key:
        raise EntryError("its manifest belongs to another entry")
    out = Restored(key=key, run_id=row["run_id"], stage_id=int(row["stage_id"]), stage=row["stage"],
                   seconds=float(row["seconds"]), deleted=list(manifest.get("deleted") or []),
                   outputs=list(manifest.get("outputs") or []), fingerprints=dict(manifest.get("fingerprints") or {}))
    for variable in manifest["variables"]:
        try:
            objects: list[dict[str, str]] = variable["objects"]
            out.values[variable["name"]] = decode(variable["tree"], functools.partial(_nth, store, objects),
                                                  variable["name"])
        except EntryError:
            raise
        except Exception as exc:  # a file that decodes wrongly although its digest matched: a codec changed
            raise EntryError(f"{variable['name']} cannot be read back ({type(exc).__name__}: {exc})") from None
    for item in manifest.get("files") or []:
        codec, payload = read_object(store, item["object"]["digest"], check=item["object"]["check"])
        out.files[item["path"]] = bytes(payload)
    return out


def _nth(store: Store, refs: list[dict[str, str]], i: int) -> tuple[str, memoryview]:
    return read_object(store, refs[i]["digest"], check=refs[i]["check"])


def read_object(store: Store, digest: str, *, check: str | None = None, sha256: bool = False) -> tuple[str, memoryview]:
    """(codec, payload) of one object, after checking its bytes: against its SHA-256 address (the manifest,
    whose digest the database holds), or against the xxh3-128 ``check`` the manifest holds for it (the
    objects: as safe against a changed or truncated file, at a tenth of the cost on a million-row frame).
    A large object is memory-mapped, so a frame's bytes are not copied before Arrow reads them."""
    try:
        with store.artifacts.open(digest) as fh:
            try:
                data: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError, AttributeError):  # not a plain file (or empty): read it
                data = fh.read()
    except Exception as exc:
        raise EntryError(f"object {digest[:12]} is missing ({type(exc).__name__})") from None
    found = hashlib.sha256(data).hexdigest() if sha256 else xxhash.xxh3_128(data).hexdigest()
    if found != (digest if sha256 else check):
        raise EntryError(f"object {digest[:12]} does not match its digest (the file was changed or truncated)")
    try:
        return unframe(data)
    except ValueError:
        raise EntryError(f"object {digest[:12]} is not a cache object") from None


def touch(store: Store, key: str) -> None:
    store.db.run_in_transaction(lambda tx: tables.touch_entry(tx, key, time.time()))


# -- eviction and listing -----------------------------------------------------------------------------------
def evict(store: Store, cap: int, keep: str | None = None) -> list[str]:
    """Drop least recently used entries until the cache holds at most ``cap`` bytes; returns their keys."""
    total = tables.total_size(store.db)
    victims = []
    for key, size in tables.least_recently_used(store.db):
        if total <= cap:
            break
        if key != keep:
            victims.append(key)
            total -= size
    if victims:
        drop(store, victims)
    return victims


def drop(store: Store, keys: list[str]) -> None:
    """Remove entries and the object files no other entry uses."""
    freed = store.db.run_in_transaction(lambda tx: tables.delete_entries(tx, keys))
    for digest in freed:
        store.artifacts.remove(digest)


def list_entries(store: Store, *, older_than: float | None = None) -> list[dict[str, Any]]:
    """Entries, most recently used first (``older_than`` seconds: only those unused for that long)."""
    before = time.time() - older_than if older_than is not None else None
    return [{"key": r["key"], "stage": r["stage"], "notebook": r["notebook"], "run_id": r["run_id"],
             "stage_id": int(r["stage_id"]), "size": int(r["size"]), "seconds": float(r["seconds"]),
             "created": float(r["created"]), "last_used": float(r["last_used"]), "hits": int(r["hits"])}
            for r in tables.entry_rows(store.db, used_before=before)]


def clear(store: Store, *, older_than: float | None = None) -> tuple[int, int]:
    """Remove every entry (or those unused for ``older_than`` seconds); (entries, bytes) removed."""
    entries = list_entries(store, older_than=older_than)
    if entries:
        drop(store, [e["key"] for e in entries])
    return len(entries), sum(e["size"] for e in entries)


__all__ = ["EntryError", "Restored", "Saved", "Unstorable", "clear", "evict", "list_entries", "load_entry",
           "max_bytes", "save_entry"]

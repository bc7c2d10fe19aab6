"""Artifacts in an object store (``s3://``, ``gs://``, ``az://``) through fsspec.

The layout is the local one (``<prefix>/objects/ab/<sha256>``). A put learns the digest first (a file
is hashed where it lies; a stream is hashed while it is spooled to a local temp file, so memory stays
bounded whatever the size), skips the upload when the object is already there, and then puts the
object at its final key. A PUT, or the completion of a multipart upload, is atomic on S3, GCS and Azure
blobs: nobody ever sees half an object under a digest, and no temp key is needed. The backend uploads
large files in parts (s3fs: multipart, parts sent concurrently). After the upload the source is checked
unchanged and the object's size compared, so a file rewritten while it was uploaded is never recorded
under a digest its bytes do not have. Downloads (:meth:`local_copy`) are hashed and compared with the
digest before anyone reads them.

Credentials come only from each backend's own chain (environment, config files, instance roles, and
for S3-compatible servers ``AWS_ENDPOINT_URL``); nothing here reads, stores or prints one, and error
messages are scrubbed of any credential value the environment holds. The backend (s3fs, gcsfs, adlfs)
is imported when such a store is first used; when it is missing the error names the pip command.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from ..errors import NotFoundError, StoreError, StoreUnavailable
from .artifact_files import (
    REFRESH_AFTER,
    STALE_AFTER,
    ArtifactStore,
    StoredObject,
    check_digest,
    hash_file,
    hash_stream,
    object_key,
)
from .object_backends import CHAINS, backend_extra, modified_of, refused, require_backend, scrub

T = TypeVar("T")

READ_BLOCK = 8 << 20  # bytes per ranged read of open(): large enough to stream at bandwidth
#: Parts of a large upload or download, and how many move at once: memory in flight is their product
#: (64 MiB), whatever the artifact's size. ``MLOPS_ARTIFACT_PART_MB`` / ``MLOPS_ARTIFACT_CONCURRENCY`` tune them.
PART_MB, CONCURRENCY = 16, 4
#: Objects up to this size are read into memory and sent in one PUT (the bytes hashed are the bytes sent).
SINGLE_PUT = 8 << 20


class ObjectArtifactStore(ArtifactStore):
    """Artifacts under ``url`` (``s3://bucket/prefix``) in any fsspec object store."""

    def __init__(self, url: str) -> None:
        require_backend(url)
        self.url = url.rstrip("/")
        self.extra = backend_extra(url)
        self._fs: Any = None
        self._root = ""
        self._pid = os.getpid()

    @property
    def fs(self) -> Any:
        """The fsspec filesystem, made on first use (importing the backend then, not at store open) and again
        in a forked child (an async filesystem's event loop does not survive a fork)."""
        if self._fs is None or self._pid != os.getpid():
            import fsspec

            fs, root = fsspec.core.url_to_fs(self.url, skip_instance_cache=self._fs is not None, **self._options())
            self._fs, self._root, self._pid = fs, root.rstrip("/"), os.getpid()
        return self._fs

    def _key(self, digest: str) -> str:
        self.fs  # noqa: B018 - sets _root
        return f"{self._root}/{object_key(digest)}"

    def _options(self) -> dict[str, Any]:
        """s3fs waits 15 s for an answer by default; completing a multipart upload of gigabytes can take
        longer on a loaded server, so reads wait ``MLOPS_ARTIFACT_TIMEOUT`` (60 s, botocore's own default)."""
        if self.extra != "s3":
            return {}
        return {"config_kwargs": {"read_timeout": float(os.environ.get("MLOPS_ARTIFACT_TIMEOUT", "60"))}}

    def _parts(self) -> dict[str, int]:
        """s3fs's multipart knobs (parts moved concurrently); other backends choose their own."""
        if self.extra != "s3":
            return {}
        part = int(os.environ.get("MLOPS_ARTIFACT_PART_MB", PART_MB)) << 20
        return {"chunksize": max(5 << 20, part),
                "max_concurrency": max(1, int(os.environ.get("MLOPS_ARTIFACT_CONCURRENCY", CONCURRENCY)))}

    def location(self, digest: str) -> str:
        return f"{self.url}/{object_key(digest)}"

    # -- errors and retries --------------------------------------------------------------------------
    def _fail(self, what: str, exc: BaseException, attempts: int) -> StoreError:
        detail = scrub(f"{type(exc).__name__}: {exc}".strip().splitlines()[0])[:240]
        if refused(exc):
            return StoreUnavailable(f"the artifact store {self.url} refused the credentials while {what} ({detail}); "
                                    f"give them the way the storage's own tools read them: {CHAINS[self.extra]}")
        tried = f", after {attempts} attempts" if attempts > 1 else ""
        return StoreUnavailable(f"the artifact store {self.url} failed while {what} ({detail}{tried})")

    def _retrying(self, what: str, call: Callable[[], T], *, writing: bool = False) -> T:
        """``call()``, again with jittered exponential backoff while the failure may pass (unreachable, slow,
        a 5xx); at once for a refused credential. Every call wrapped is idempotent: a put of content-addressed
        bytes, a read, a delete. A read's FileNotFoundError is the answer (the object is not there); a
        write's is a failure like any other (s3fs says so when aborting an upload the server lost)."""
        attempts = max(1, int(os.environ.get("MLOPS_ARTIFACT_ATTEMPTS", "3")))
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except (NotFoundError, StoreError):
                raise
            except FileNotFoundError as exc:
                if not writing:
                    raise
                if attempt == attempts:
                    raise self._fail(what, exc, attempt) from None
                time.sleep(0.5 * 2 ** (attempt - 1) * random.uniform(0.8, 1.2))
            except Exception as exc:
                if refused(exc) or attempt == attempts:
                    raise self._fail(what, exc, attempt) from None
                time.sleep(0.5 * 2 ** (attempt - 1) * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- writes --------------------------------------------------------------------------------------
    def put_file(self, source: str | os.PathLike[str]) -> tuple[str, int]:
        src = Path(source)
        if not src.is_file():
            raise NotFoundError(f"no such file to log as an artifact: {src}")
        before = src.stat()
        if before.st_size <= SINGLE_PUT:  # read once: the bytes hashed are the bytes sent
            return self.put_bytes(src.read_bytes())
        digest, size = hash_file(src)
        self._upload(src, digest, size, before)
        return digest, size

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        head = stream.read(SINGLE_PUT + 1)
        if len(head) <= SINGLE_PUT:  # the whole stream was small
            return self.put_bytes(head)
        fd, name = tempfile.mkstemp(prefix="mlops-upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = hash_stream(cast(BinaryIO, _Joined(head, stream)), out)
            self._upload(Path(name), digest, size, os.stat(name))
        finally:
            with contextlib.suppress(OSError):
                os.unlink(name)
        return digest, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import hashlib

        digest, size = hashlib.sha256(data).hexdigest(), len(data)
        key = self._key(digest)
        # a small object is simply put again (one request, as cheap as asking whether it is there, and it
        # restarts retention's grace period); a large one is looked for first
        if size <= SINGLE_PUT or not self._has(key, size):
            self._retrying("storing an artifact", lambda: self.fs.pipe_file(key, data), writing=True)
        return digest, size

    def _stored_size(self, key: str) -> int | None:
        """The size of the object at ``key`` as the server has it now, None when there is none."""
        self.fs.invalidate_cache(key)
        try:
            return int(self.fs.info(key)["size"])
        except FileNotFoundError:
            return None

    def _has(self, key: str, size: int) -> bool:
        """Whether the object is stored whole and was written recently; one older than REFRESH_AFTER counts
        as absent, so it is written again and retention's grace period starts again (see retention.py)."""
        def look() -> bool:
            try:
                info = self.fs.info(key)
            except FileNotFoundError:
                return False
            return int(info["size"]) == size and time.time() - modified_of(info, time.time()) < REFRESH_AFTER

        return self._retrying("looking for an artifact", look)

    def _upload(self, path: Path, digest: str, size: int, before: os.stat_result) -> None:
        key = self._key(digest)
        if self._has(key, size):
            return
        tries = 0

        def attempt() -> None:
            nonlocal tries
            tries += 1
            if tries > 1 and self._stored_size(key) == size:  # the last attempt completed after all
                return
            self.fs.put_file(str(path), key, **self._parts())

        self._retrying("storing an artifact", attempt, writing=True)
        after = path.stat()
        stored = self._retrying("checking a stored artifact", lambda: self._stored_size(key))
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or stored != size:
            self._retrying("removing a bad upload", lambda: self.fs.rm_file(key), writing=True)
            raise StoreError(f"{path} changed while it was being stored in {self.url}; log it again once it is "
                             "written")

    # -- reads ---------------------------------------------------------------------------------------
    def _missing(self, digest: str) -> NotFoundError:
        return NotFoundError(f"artifact {digest[:12]} is missing from {self.url}")

    def open(self, digest: str) -> BinaryIO:
        key = self._key(digest)
        try:
            return self._retrying("reading an artifact",
                                  lambda: self.fs.open(key, "rb", block_size=READ_BLOCK, cache_type="readahead"))
        except FileNotFoundError:
            raise self._missing(digest) from None

    def exists(self, digest: str) -> bool:
        key = self._key(digest)

        def look() -> bool:
            try:
                self.fs.info(key)
                return True
            except FileNotFoundError:
                return False

        return self._retrying("looking for an artifact", look)

    @contextlib.contextmanager
    def local_copy(self, digest: str) -> Iterator[Path]:
        key = self._key(digest)
        folder = tempfile.mkdtemp(prefix="mlops-artifact-")
        path = Path(folder) / digest
        try:
            try:
                self._retrying("reading an artifact", lambda: self.fs.get_file(key, str(path), **self._parts()))
            except FileNotFoundError:
                raise self._missing(digest) from None
            if hash_file(path)[0] != digest:
                raise StoreError(f"artifact {digest[:12]} in {self.url} is corrupt: its bytes do not match its digest")
            yield path
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- retention -----------------------------------------------------------------------------------
    def objects(self) -> Iterator[StoredObject]:
        base = f"{self.fs and self._root}/objects"

        def listing() -> dict[str, Any]:
            try:
                return dict(self.fs.find(base, detail=True))
            except FileNotFoundError:
                return {}

        found = self._retrying("listing artifacts", listing)
        self.fs.invalidate_cache()  # a listing must not answer later existence checks from its cache
        now = time.time()
        for key, info in found.items():
            name = key.rstrip("/").rsplit("/", 1)[-1]
            try:
                check_digest(name)
            except Exception:
                continue
            yield StoredObject(name, int(info.get("size") or 0), modified_of(info, now))

    def delete(self, digests: list[str], *, written_before: float | None = None) -> int:
        keys = [self._key(d) for d in digests]
        if written_before is not None:  # look again, one listing per shard (objects/ab/), just before removing
            shards: dict[str, set[str]] = {}
            for key in keys:
                shards.setdefault(key.rsplit("/", 1)[0], set()).add(key)
            keys = []
            for shard, wanted in shards.items():
                listing = self._retrying("listing artifacts", lambda shard=shard: self.fs.ls(  # type: ignore[misc]
                    shard, detail=True, refresh=True))
                now = time.time()
                keys += [i["name"] for i in listing if i["name"] in wanted and modified_of(i, now) < written_before]
        else:  # only those there: the count says what was removed
            keys = [k for k, d in zip(keys, digests) if self.exists(d)]
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            self._retrying("removing artifacts", lambda batch=batch: self.fs.rm(batch))  # type: ignore[misc]
        self.fs.invalidate_cache()
        return len(keys)

    def clean_stale_uploads(self, now: float | None = None) -> list[str]:
        """Abort S3 multipart uploads under this prefix older than a day (a writer killed mid-upload leaves
        its parts, invisible and billed). Other backends expire theirs themselves. Never raises."""
        if self.extra != "s3":
            return []
        now = time.time() if now is None else now
        bucket, _, prefix = self._root.partition("/")
        aborted = []
        try:
            for upload in self.fs.list_multipart_uploads(bucket):
                key, started = str(upload.get("Key", "")), upload.get("Initiated")
                if not key.startswith(f"{prefix}/objects/".lstrip("/")) or not isinstance(started, datetime):
                    continue
                if now - started.timestamp() > STALE_AFTER:
                    self.fs.abort_mpu(bucket, key, upload["UploadId"])
                    aborted.append(key)
        except Exception:
            return aborted
        return aborted


class _Joined(io.RawIOBase):
    """``head`` then the rest of ``stream``: a stream whose first bytes were already read."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head, self._stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head.nbytes:
            n = self._head.nbytes if size < 0 else min(size, self._head.nbytes)
            out, self._head = bytes(self._head[:n]), self._head[n:]
            return out
        return self._stream.read(size)

"""Artifact bytes: one seam, :class:`ArtifactStore`, over a local folder or an object store.

Every writer and reader of artifact bytes (runs' artifacts, executed notebooks, model files, the stage
cache, the server's downloads) goes through this interface and never builds a path of its own, so the
same code runs on a laptop folder and on ``s3://``/``gs://``/``az://`` (:mod:`.object_storage`).

Bytes are content-addressed: a file's SHA-256 is its name (``objects/ab/<digest>``), so the same bytes
are stored once, and an object under its final name is always whole (the local folder writes a temp
file and renames it; an object store puts the object at its final key only once its digest is known,
which is atomic there). A reader that needs a file on disk (skops, nbformat, papermill) asks for
:meth:`ArtifactStore.local_copy`, never for a path into the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidInputError, NotFoundError, StoreError
from .processes import pid_alive

CHUNK = 1 << 20
UPLOAD_PREFIX = "upload-"
STALE_AFTER = 24 * 3600  # seconds: a temp file this old belongs to no live upload
#: A put that finds its object already stored and older than this writes it again (a local file's time is
#: touched), so retention's grace period, measured on an object's last write, covers re-used objects too.
REFRESH_AFTER = 3600


def check_digest(digest: str) -> str:
    """``digest`` when it is a plain SHA-256 hex digest; anything else (a path, ``..``) is refused."""
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidInputError(f"not an artifact digest: {str(digest)[:80]!r}")
    return digest


def object_key(digest: str) -> str:
    """``objects/ab/<digest>``: where ``digest`` lives under a store's root, local or remote."""
    return f"objects/{digest[:2]}/{check_digest(digest)}"


def hash_stream(stream: BinaryIO, out: BinaryIO | None = None) -> tuple[str, int]:
    """(sha256 hex digest, size) of ``stream`` read to its end in 1 MiB chunks, copied to ``out`` if given."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    return digest.hexdigest(), size


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    with open(path, "rb") as fh:
        return hash_stream(fh)


@dataclass(frozen=True)
class StoredObject:
    """One object of an artifact store, as listed for retention: its digest, size and last write."""

    digest: str
    size: int
    modified: float  # seconds since the epoch


class ArtifactStore(ABC):
    """Where artifact bytes live. Puts answer ``(sha256 hex digest, size)``; reads take that digest."""

    #: Where the bytes live, fit to show: a folder path or an object URL (never a credential).
    url: str

    @abstractmethod
    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store what ``stream`` holds, read in chunks (bounded memory whatever its size)."""

    def put_file(self, source: str | os.PathLike[str]) -> tuple[str, int]:
        """Copy the file ``source`` into the store."""
        src = Path(source)
        if not src.is_file():
            raise NotFoundError(f"no such file to log as an artifact: {src}")
        with src.open("rb") as fh:
            return self.put_stream(fh)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self.put_stream(io.BytesIO(data))

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """The bytes of ``digest`` as a file object read in chunks; NotFoundError when absent."""

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as fh:
            return fh.read()

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether the store holds ``digest`` (whole: a half-written object has no final name)."""

    @abstractmethod
    def local_copy(self, digest: str) -> contextlib.AbstractContextManager[Path]:
        """A file on this machine holding ``digest``'s bytes, checked against the digest, for readers that
        need a path (skops, nbformat, papermill). Read it, never change it; it is gone after the block."""

    @abstractmethod
    def location(self, digest: str) -> str:
        """Where ``digest`` lives (a path or an object URL), to show people; read it through :meth:`open`."""

    @abstractmethod
    def objects(self) -> Iterator[StoredObject]:
        """Every object the store holds (for retention's sweep)."""

    @abstractmethod
    def delete(self, digests: list[str], *, written_before: float | None = None) -> int:
        """Remove these objects (those already gone are skipped); how many were removed. With
        ``written_before``, each object's last write is looked at again just before it goes, and one
        written (or re-used) since is left alone: retention's guard against a concurrent writer."""

    def remove(self, digest: str) -> bool:
        """Delete one object (a cache evicting bytes only it names); whether it was there."""
        return self.exists(digest) and self.delete([digest]) == 1

    def clean_stale_uploads(self, now: float | None = None) -> list[str]:
        """Remove what uploads that will never finish left behind; never raises."""
        return []


def _upload_prefix() -> str:
    """``upload-HOST-PID-``: whoever finds the file later can tell whether its writer still runs."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
    return f"{UPLOAD_PREFIX}{host}-{os.getpid()}-"


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a folder every writer sees: ``objects/ab/<digest>``, uploads in ``tmp/`` then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def clean_stale_uploads(self, now: float | None = None) -> list[str]:
        """Remove temp files left by uploads that will never finish (a writer killed mid-copy).

        A temp file is stale when it is older than a day, or when its name says it was written on this
        host by a process that no longer exists. Never raises: opening a store must not fail on this.
        """
        tmp_dir = self.root / "tmp"
        try:
            entries = list(os.scandir(tmp_dir))
        except OSError:
            return []
        now = time.time() if now is None else now
        host = _upload_prefix().split("-")[1]
        removed = []
        for entry in entries:
            if not entry.name.startswith(UPLOAD_PREFIX):
                continue
            try:
                old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
                parts = entry.name[len(UPLOAD_PREFIX):].split("-")
                orphan = (len(parts) >= 3 and parts[0] == host and parts[1].isdigit()
                          and int(parts[1]) != os.getpid() and not pid_alive(int(parts[1])))
                if old or orphan:
                    os.unlink(entry.path)
                    removed.append(entry.name)
            except OSError:
                continue
        return removed

    def path_for(self, digest: str) -> Path:
        """The file holding ``digest``; refuses anything that is not a plain hex digest."""
        return self.root / object_key(digest)

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        tmp_dir = self.root / "tmp"
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=_upload_prefix())
            try:
                with os.fdopen(fd, "wb") as out:
                    digest, size = hash_stream(stream, out)
                    out.flush()
                    os.fsync(out.fileno())
                final = self.path_for(digest)
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.exists():
                    os.unlink(tmp_name)
                    with contextlib.suppress(OSError):  # re-used now: retention's grace period starts again
                        os.utime(final)
                else:
                    os.replace(tmp_name, final)
            except BaseException:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write artifact files under {self.root}: {exc.strerror or exc}") from None
        return digest, size

    def open(self, digest: str) -> BinaryIO:
        path = self.path_for(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"artifact {digest[:12]} is missing from {self.root}") from None

    def exists(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    @contextlib.contextmanager
    def local_copy(self, digest: str) -> Iterator[Path]:
        path = self.path_for(digest)  # already a local file, renamed into place whole: no copy needed
        if not path.is_file():
            raise NotFoundError(f"artifact {digest[:12]} is missing from {self.root}")
        yield path

    def location(self, digest: str) -> str:
        return str(self.path_for(digest))

    def objects(self) -> Iterator[StoredObject]:
        base = self.root / "objects"
        try:
            folders = [e for e in os.scandir(base) if e.is_dir() and len(e.name) == 2]
        except OSError:
            return
        for folder in folders:
            try:
                entries = list(os.scandir(folder.path))
            except OSError:
                continue
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                    check_digest(entry.name)
                except (OSError, InvalidInputError):
                    continue
                yield StoredObject(entry.name, st.st_size, st.st_mtime)

    def delete(self, digests: list[str], *, written_before: float | None = None) -> int:
        removed = 0
        for digest in digests:
            path = self.path_for(digest)
            try:
                if written_before is not None and path.stat().st_mtime >= written_before:
                    continue
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreError(f"cannot remove artifact files under {self.root}: {exc.strerror or exc}") from None
        return removed

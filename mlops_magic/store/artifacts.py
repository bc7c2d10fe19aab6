"""Artifacts: content-addressed files, written atomically, and the ``artifacts`` table naming them per run.

A file's bytes decide its name (``objects/ab/<sha256>``), so logging the same
file twice stores it once, and a half-written file never has a final name: it
is written to a temporary file in the same folder and renamed into place. A
row of ``artifacts`` gives a run's artifact its name; logging the same name
again points it at the new bytes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from ..entities import Artifact, utc_from_ts
from ..errors import InvalidInputError, NotFoundError, StoreError
from .db import Reader, Transaction
from .processes import pid_alive

_CHUNK = 1 << 20
UPLOAD_PREFIX = "upload-"
STALE_AFTER = 24 * 3600  # seconds: a temp file this old belongs to no live upload


def _upload_prefix() -> str:
    """``upload-HOST-PID-``: whoever finds the file later can tell whether its writer still runs."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
    return f"{UPLOAD_PREFIX}{host}-{os.getpid()}-"


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

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
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise InvalidInputError(f"not an artifact digest: {digest[:80]!r}")
        return self.root / "objects" / digest[:2] / digest

    def put_file(self, source: str | os.PathLike[str]) -> tuple[str, int]:
        """Copy ``source`` into the store; returns (sha256 hex digest, size in bytes)."""
        src = Path(source)
        if not src.is_file():
            raise NotFoundError(f"no such file to log as an artifact: {src}")
        with src.open("rb") as fh:
            return self.put_stream(fh)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import io

        return self.put_stream(io.BytesIO(data))

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        tmp_dir = self.root / "tmp"
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            size = 0
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=_upload_prefix())
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                final = self.path_for(digest.hexdigest())
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.exists():
                    os.unlink(tmp_name)
                else:
                    os.replace(tmp_name, final)
            except BaseException:
                if os.path.exists(tmp_name):
                    os.unlink(tmp_name)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write artifact files under {self.root}: {exc.strerror or exc}") from None
        return digest.hexdigest(), size

    def remove(self, digest: str) -> bool:
        """Delete the file holding ``digest`` (the stage cache evicting an object no entry uses any more).

        Only the cache calls this, for objects whose bytes it framed itself so that they never coincide with
        a run's artifact or a model file (``cache/codecs.py``); returns whether a file was removed.
        """
        try:
            os.unlink(self.path_for(digest))
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot remove artifact {digest[:12]} under {self.root}: {exc.strerror or exc}") from None
        return True

    def open(self, digest: str) -> BinaryIO:
        path = self.path_for(digest)
        if not path.exists():
            raise NotFoundError(f"artifact {digest[:12]} is missing from {self.root}")
        return path.open("rb")


# -- the artifacts table ----------------------------------------------------------------------------------
def upsert(tx: Transaction, run_id: str, name: str, digest: str, size: int, stage_id: int | None,
           created: float | None = None) -> None:
    """Name a file of a run (default: created now; an imported run's files keep the time they were made)."""
    tx.execute(
        "INSERT INTO artifacts (run_id, name, digest, size, created, stage_id) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (run_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size, "
        "created = excluded.created, stage_id = excluded.stage_id",
        (run_id, name, digest, size, time.time() if created is None else created, stage_id))


def rows(q: Reader, files: ArtifactStore, run_id: str, name: str | None = None) -> list[Artifact]:
    """A run's artifacts (or the one named ``name``), oldest first, each with the path of its file."""
    sql = "SELECT name, digest, size, created, stage_id FROM artifacts WHERE run_id = ?"
    args: list[Any] = [run_id]
    if name is not None:
        sql += " AND name = ?"
        args.append(name)
    return [Artifact(name=r[0], digest=r[1], size=r[2], created=utc_from_ts(r[3]),  # type: ignore[arg-type]
                     path=str(files.path_for(r[1])), stage_id=r[4])
            for r in q.query(sql + " ORDER BY created, name", args)]

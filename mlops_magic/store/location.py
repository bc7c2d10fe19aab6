"""Where the store lives: an explicit URL, ``MLOPS_STORE``, or the nearest ``.mlops/`` folder.

Resolution order, most specific first: the URL passed in code or with
``--store``; the ``MLOPS_STORE`` environment variable; the nearest ``.mlops/``
found walking up from the working directory (like git finds ``.git``), whose
``config.json`` may point elsewhere; finally a new ``.mlops/`` in the working
directory (the notebook's folder when a kernel starts there).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InvalidInputError, StoreError

PROJECT_DIRNAME = ".mlops"
DB_FILENAME = "mlops.db"
CONFIG_FILENAME = "config.json"


#: Object-store URL schemes artifacts may live under, and the extra that installs each one's fsspec backend.
REMOTE_SCHEMES = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}


@dataclass(frozen=True)
class StoreLocation:
    """A resolved store: how to reach the database, and where artifact bytes go."""

    url: str
    db_path: Path | None  # for sqlite
    artifacts: str  # a folder path, or an object URL (s3://bucket/prefix, gs://…, az://…)
    project_dir: Path | None  # the folder holding .mlops/, when there is one
    conninfo: str | None = None  # for postgresql: the URL libpq is given (without our own parameters)

    @property
    def display_url(self) -> str:
        """:attr:`url` fit to show: any password replaced by ``***``."""
        return redact_url(self.url)

    @property
    def remote_artifacts(self) -> bool:
        return "://" in self.artifacts

    @property
    def artifacts_root(self) -> Path | None:
        """The artifacts folder, or None when they live in an object store."""
        return None if self.remote_artifacts else Path(self.artifacts)

    @property
    def work_dir(self) -> Path:
        """The local folder whose ``runs/`` holds headless runs' working copies (input and output notebooks,
        kernel logs): beside a local artifacts folder as always; with object storage, beside the SQLite
        file, else in the project's ``.mlops/``, else (a cluster worker with no project) in a temp folder."""
        if self.artifacts_root is not None:
            return self.artifacts_root.parent
        if self.db_path is not None:
            return self.db_path.parent
        if self.project_dir is not None:
            return self.project_dir / PROJECT_DIRNAME
        uid = os.getuid() if hasattr(os, "getuid") else 0
        return Path(tempfile.gettempdir()) / f"mlops-work-{uid}"


def find_project_dir(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding a ``.mlops/`` folder."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_DIRNAME).is_dir():
            return folder
    return None


def parse_store_url(url: str, *, base: Path | None = None) -> StoreLocation:
    """Turn ``sqlite:///path.db``, a folder, or ``postgresql://…`` (each ``[?artifacts=FOLDER|URL]``) into a
    location."""
    url = url.strip()
    if not url:
        raise InvalidInputError("empty store URL; use sqlite:///path/to/mlops.db or a folder path")
    base = base or Path.cwd()
    if url.startswith(("postgresql://", "postgres://", "postgresql+", "postgres+")):
        return _postgres_location(url, base)
    if url.startswith("sqlite:///"):
        raw, _, query = url[len("sqlite:///") :].partition("?")
        db_path = Path(raw) if raw.startswith("/") else (base / raw)
        return _sqlite_location(db_path.resolve(), None, query, base)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise InvalidInputError(
            f"unknown store URL scheme {scheme!r}; use sqlite:///path/to/mlops.db, postgresql://user@host/database "
            "or a folder path"
        )
    path = Path(url).expanduser()
    path = (path if path.is_absolute() else base / path).resolve()
    if path.suffix == ".db":
        return _sqlite_location(path, None, "", base)
    mlops_dir = path if path.name == PROJECT_DIRNAME else path / PROJECT_DIRNAME
    return _sqlite_location(mlops_dir / DB_FILENAME, mlops_dir.parent, "", base)


def _sqlite_location(db_path: Path, project: Path | None, query: str, base: Path) -> StoreLocation:
    """A SQLite store; its artifacts beside the file unless ``?artifacts=`` or ``MLOPS_ARTIFACTS`` say where
    (then written back into the URL as ``?artifacts=``, so a run started from this store uses the same)."""
    given = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "artifacts"]
    unknown = [k for k, _ in parse_qsl(query, keep_blank_values=True) if k != "artifacts"]
    if unknown:
        raise InvalidInputError(f"unknown store URL parameter {unknown[0]!r}; a SQLite URL takes ?artifacts= only")
    default = db_path.parent / "artifacts"
    artifacts = artifacts_location(given[-1] if given else None, default=default, base=base)
    url = f"sqlite:///{db_path}"
    if artifacts != str(default):
        url += "?" + urlencode([("artifacts", artifacts)], safe="/:")
    return StoreLocation(url=url, db_path=db_path, artifacts=artifacts, project_dir=project)


def artifacts_location(given: str | None, *, default: Path, base: Path, given_base: Path | None = None) -> str:
    """Where artifacts go: ``given`` (the URL's ``?artifacts=``), else ``MLOPS_ARTIFACTS``, else ``default``.

    An object URL (``s3://bucket/prefix``, ``gs://``, ``az://``) is kept as a URL; ``file://`` and plain
    paths become absolute folders (relative ones against ``given_base`` for the URL's, ``base`` for the
    environment's).
    """
    if given:
        return _artifacts_spec(given, given_base or base)
    if os.environ.get("MLOPS_ARTIFACTS"):
        return _artifacts_spec(os.environ["MLOPS_ARTIFACTS"], base)
    return str(default.resolve())


def _artifacts_spec(value: str, base: Path) -> str:
    value = value.strip()
    if "://" not in value:
        path = Path(value).expanduser()
        return str((path if path.is_absolute() else base / path).resolve())
    scheme = value.split("://", 1)[0].lower()
    if scheme == "file":
        return _artifacts_spec(urlsplit(value).path or "/", base)
    if scheme not in REMOTE_SCHEMES:
        raise InvalidInputError(f"unknown artifacts URL scheme {scheme!r}; use s3://bucket/prefix, gs://bucket/prefix, "
                                "az://container/prefix, file:///folder or a folder path")
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError as exc:
        raise InvalidInputError(f"malformed artifacts URL {redact_url(value)!r}: {exc}") from None
    if password is not None:
        raise InvalidInputError(
            f"the artifacts URL {redact_url(value)!r} carries a credential; remove it and give credentials the way "
            "the storage's own tools read them (environment, config files, instance roles)")
    if not parts.netloc:
        raise InvalidInputError(f"the artifacts URL {value!r} names no bucket; use {scheme}://bucket/prefix")
    if parts.query or parts.fragment:
        raise InvalidInputError(f"the artifacts URL {value!r} takes no ?query or #fragment")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def redact_url(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``: for messages, logs and displays."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
    if password is None:
        return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def _postgres_location(url: str, base: Path) -> StoreLocation:
    """``postgresql://user:pass@host:port/db?sslmode=…&artifacts=s3://bucket/prefix``.

    Artifacts go to ``?artifacts=`` in the URL (a folder or an object URL), else ``MLOPS_ARTIFACTS``,
    else the ``.mlops/artifacts`` folder of the project (found from ``base``). The resolved place is
    written back into :attr:`StoreLocation.url`, so a headless run started from this store (which gets
    the URL in ``MLOPS_STORE``) and a cluster worker use the very same artifacts.
    """
    scheme, rest = url.split("://", 1)
    scheme = scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise InvalidInputError(f"unknown store URL scheme {scheme!r}; use postgresql://user@host/database")
    try:
        parts = urlsplit("postgresql://" + rest)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidInputError(f"malformed PostgreSQL URL {redact_url(url)!r}: {exc}") from None
    if not parts.path.strip("/"):
        raise InvalidInputError(
            f"the PostgreSQL URL {redact_url(url)!r} names no database; use postgresql://user@host/database"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = [v for k, v in query if k == "artifacts"]
    others = [(k, v) for k, v in query if k != "artifacts"]
    project = find_project_dir(base)
    artifacts = artifacts_location(given[-1] if given else None, base=base, given_base=project or base,
                                   default=(project or base) / PROJECT_DIRNAME / "artifacts")
    conninfo = urlunsplit(parts._replace(query=urlencode(others)))
    full = urlunsplit(parts._replace(query=urlencode([*others, ("artifacts", artifacts)], safe="/:")))
    return StoreLocation(url=full, db_path=None, artifacts=artifacts, project_dir=project, conninfo=conninfo)


def resolve_location(url: str | None = None, *, start: str | os.PathLike[str] | None = None) -> StoreLocation:
    """Apply the resolution order above without creating anything."""
    if url:
        return parse_store_url(url)
    env_url = os.environ.get("MLOPS_STORE")
    if env_url:
        return parse_store_url(env_url)
    project = find_project_dir(start)
    if project is not None:
        config = read_project_config(project)
        if config.get("store"):
            return parse_store_url(str(config["store"]), base=project)
        return parse_store_url(str(project))
    return parse_store_url(str(Path(start or os.getcwd())))


_config_cache: dict[str, tuple[tuple[int, int, int], dict[str, object]]] = {}


def read_project_config(project: str | os.PathLike[str]) -> dict[str, object]:
    """The project's ``.mlops/config.json`` (empty without one). Read again only when the file changed
    (a stat, not a read and a parse: every stage asks it for the autolog and sampling settings).

    The answer is a shallow copy of the cached parse: copy a nested section before changing it (as
    ``alerts/settings.py`` does), or the next read in this process sees the change."""
    path = os.path.join(project, PROJECT_DIRNAME, CONFIG_FILENAME)
    try:
        st = os.stat(path)
    except OSError:
        return {}
    version = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _config_cache.get(path)
    if cached is not None and cached[0] == version:
        return dict(cached[1])
    try:
        with open(path, encoding="utf-8") as f:
            data = json.loads(f.read())
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}; fix or delete it") from None
    config = data if isinstance(data, dict) else {}
    _config_cache[path] = (version, config)
    return dict(config)


def write_project_config(project: Path, config: dict[str, object], *, private: bool = False) -> Path:
    """Replace the config atomically; ``private`` (or a file that already was) makes it owner-only (0600)
    from its first byte, for a config holding secrets (alert URLs, an SMTP password)."""
    folder = project / PROJECT_DIRNAME
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_FILENAME
    private = private or (path.exists() and not path.stat().st_mode & 0o077)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(config, indent=2) + "\n")
    os.replace(tmp, path)
    return path

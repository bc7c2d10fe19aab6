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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import InvalidInputError, StoreError

PROJECT_DIRNAME = ".mlops"
DB_FILENAME = "mlops.db"
CONFIG_FILENAME = "config.json"


@dataclass(frozen=True)
class StoreLocation:
    """A resolved store: how to reach the database, and where artifact files go."""

    url: str
    db_path: Path | None  # for sqlite
    artifacts_root: Path
    project_dir: Path | None  # the folder holding .mlops/, when there is one
    conninfo: str | None = None  # for postgresql: the URL libpq is given (without our own parameters)

    @property
    def display_url(self) -> str:
        """:attr:`url` fit to show: any password replaced by ``***``."""
        return redact_url(self.url)


def find_project_dir(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding a ``.mlops/`` folder."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_DIRNAME).is_dir():
            return folder
    return None


def parse_store_url(url: str, *, base: Path | None = None) -> StoreLocation:
    """Turn ``sqlite:///path.db``, a folder, or ``postgresql://…[?artifacts=/folder]`` into a location."""
    url = url.strip()
    if not url:
        raise InvalidInputError("empty store URL; use sqlite:///path/to/mlops.db or a folder path")
    base = base or Path.cwd()
    if url.startswith(("postgresql://", "postgres://", "postgresql+", "postgres+")):
        return _postgres_location(url, base)
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///") :]
        db_path = Path(raw) if raw.startswith("/") else (base / raw)
        db_path = db_path.resolve()
        return StoreLocation(url=f"sqlite:///{db_path}", db_path=db_path,
                             artifacts_root=db_path.parent / "artifacts", project_dir=None)
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise InvalidInputError(
            f"unknown store URL scheme {scheme!r}; use sqlite:///path/to/mlops.db, postgresql://user@host/database "
            "or a folder path"
        )
    path = Path(url).expanduser()
    path = (path if path.is_absolute() else base / path).resolve()
    if path.suffix == ".db":
        return StoreLocation(url=f"sqlite:///{path}", db_path=path,
                             artifacts_root=path.parent / "artifacts", project_dir=None)
    mlops_dir = path if path.name == PROJECT_DIRNAME else path / PROJECT_DIRNAME
    db_path = mlops_dir / DB_FILENAME
    return StoreLocation(url=f"sqlite:///{db_path}", db_path=db_path,
                         artifacts_root=mlops_dir / "artifacts", project_dir=mlops_dir.parent)


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
    """``postgresql://user:pass@host:port/db?sslmode=…&artifacts=/shared/folder``.

    Artifact files go to ``?artifacts=`` in the URL, else ``MLOPS_ARTIFACTS``, else the
    ``.mlops/artifacts`` folder of the project (found from ``base``). The resolved folder is
    written back into :attr:`StoreLocation.url`, so a headless run started from this store
    (which gets the URL in ``MLOPS_STORE``) uses the very same files.
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
    if given and given[-1]:
        artifacts = Path(given[-1]).expanduser()
        artifacts = artifacts if artifacts.is_absolute() else (project or base) / artifacts
    elif os.environ.get("MLOPS_ARTIFACTS"):
        artifacts = Path(os.environ["MLOPS_ARTIFACTS"]).expanduser()
        artifacts = artifacts if artifacts.is_absolute() else base / artifacts
    else:
        artifacts = (project or base) / PROJECT_DIRNAME / "artifacts"
    artifacts = artifacts.resolve()
    conninfo = urlunsplit(parts._replace(query=urlencode(others)))
    full = urlunsplit(parts._replace(query=urlencode([*others, ("artifacts", str(artifacts))], safe="/")))
    return StoreLocation(url=full, db_path=None, artifacts_root=artifacts, project_dir=project, conninfo=conninfo)


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


def read_project_config(project: Path) -> dict[str, object]:
    path = project / PROJECT_DIRNAME / CONFIG_FILENAME
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {exc}; fix or delete it") from None
    return data if isinstance(data, dict) else {}


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

"""``mlops models package churn@production -o build/churn``: one version as a folder that serves anywhere.

The folder holds the model file, its input schema and metadata, ``requirements.txt`` pinned to the
versions the model was trained with (:mod:`.requirements`), a ``Dockerfile`` on a slim Python base and
``entrypoint.sh``, which runs ``mlops serve``: the same server, with the same input checks, request ids,
labels endpoint and prediction logging, not a second one written for containers. It serves from a
small store inside the folder (``store/``) holding exactly this version under its own number and
aliases, with its drift and performance references, so the traffic it logs can be monitored where it
runs, or its ``store/`` copied back. Whatever protocols ``mlops serve`` speaks, a package speaks.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import InvalidInputError, MlopsError
from ..registry import model_files as model_io
from ..registry.versions import ModelVersion, get_version
from ..store import SQLiteDatabase, Store, resolve_location
from ..store import monitoring as monitoring_tables
from ..store import registry as registry_tables
from ..store.artifact_files import LocalArtifactStore
from .requirements import pins, python_version

PORT = 8080


@dataclass(frozen=True)
class Package:
    """What ``package`` wrote, to print and to test."""

    folder: Path
    ref: str
    python: str
    requirements: list[str]
    wheels: list[str]

    def __repr__(self) -> str:
        return (f"packaged {self.ref} in {self.folder}: model, input schema, requirements.txt (Python {self.python}), "
                f"Dockerfile, entrypoint.sh\n  docker build -t {Path(self.folder).name} {self.folder} && "
                f"docker run -p {PORT}:{PORT} {Path(self.folder).name}\n  or: pip install -r requirements.txt && "
                f"sh entrypoint.sh")


def package(store: Store, ref: str, out: str | Path, *, wheels: list[str] | tuple[str, ...] = (),
            trust: bool = False, overwrite: bool = False) -> Package:
    """Write the deployable folder for ``ref`` (NAME, NAME@N or NAME@ALIAS) at ``out``.

    ``wheels`` are copied into ``wheels/`` and installed from there first (an unreleased mlops-magic
    built from a checkout, a private package); ``trust`` is needed to package a pickle or joblib file.
    """
    mv = get_version(store, ref)
    if mv.format == model_io.NO_FILE:
        raise MlopsError(f"{mv} was registered from its predictions only: there is no model file to package")
    if mv.format in model_io.UNSAFE_FORMATS and not trust:
        raise MlopsError(f"{mv} is a {mv.format} file, which runs code when loaded; package it with --trust "
                         "if you trust it (the package's server then starts with --trust too)")
    folder = _empty_folder(Path(out), overwrite)
    with store.artifacts.open(mv.digest) as fh:
        data = fh.read()
    model_file = f"model.{mv.format}"
    (folder / model_file).write_bytes(data)
    (folder / "input_schema.json").write_text(json.dumps(mv.input_schema, indent=2) + "\n")
    _copy_version(store, mv, folder / "store", data)
    python = python_version(store, mv)
    requirements = [str(p) for p in pins(store, mv)] + [f"mlops-magic[serve]=={__version__}"]
    (folder / "requirements.txt").write_text(_requirements_text(store, mv))
    copied = []
    (folder / "wheels").mkdir()
    for wheel in wheels:
        source = Path(wheel)
        if not source.is_file() or source.suffix != ".whl":
            raise InvalidInputError(f"--wheel {wheel}: not a wheel file (.whl)")
        shutil.copy2(source, folder / "wheels" / source.name)
        copied.append(source.name)
    served = f"{mv.name}@{mv.version}"
    (folder / "entrypoint.sh").write_text(_entrypoint(served, trust and mv.format in model_io.UNSAFE_FORMATS))
    (folder / "entrypoint.sh").chmod(0o755)
    (folder / "Dockerfile").write_text(_dockerfile(python))
    (folder / "model.json").write_text(json.dumps(_metadata(store, mv, model_file, ref), indent=2, default=str) + "\n")
    (folder / "README.md").write_text(_readme(mv, ref, python))
    return Package(folder, f"{mv.name} v{mv.version} ({ref})", python, requirements, copied)


def _empty_folder(folder: Path, overwrite: bool) -> Path:
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise InvalidInputError(f"{folder} is not empty; choose another -o folder or pass --overwrite")
        if not (folder / "model.json").is_file():
            raise InvalidInputError(f"{folder} does not hold a package (no model.json): not overwriting it")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _copy_version(store: Store, mv: ModelVersion, target_dir: Path, data: bytes) -> None:
    """A store at ``target_dir`` holding this one version under its own number, its aliases, and its
    reference profile and performance reference (what monitoring the served traffic compares with)."""
    location = resolve_location(str(target_dir))
    assert location.db_path is not None and location.artifacts_root is not None  # a folder: resolve_location(str)
    target = Store(SQLiteDatabase(location.db_path, create=True), LocalArtifactStore(location.artifacts_root),
                   location.project_dir)
    try:
        target.artifacts.put_bytes(data)
        row = registry_tables.version_rows(store.db, model=mv.name, version=mv.version)[0]
        values: dict[str, Any] = {c: row[c] for c in registry_tables.VERSION_COLUMNS}
        values.update(run_id=None, stage_id=None, lineage="[]")  # the run and its lineage stay in the source store
        profile = monitoring_tables.profile_of(store.db, mv.name, mv.version)
        performance = monitoring_tables.performance_reference(store.db, mv.name, mv.version)
        now = time.time()

        def write(tx: Any) -> None:
            registry_tables.insert_version(tx, mv.name, values, created=values["created"], version=mv.version)
            for alias in mv.aliases:
                registry_tables.record_alias_change(tx, mv.name, alias, "package", None, mv.version, moved=True,
                                                    run_id=None, reason=f"packaged from {store.display_url}",
                                                    comparison=None, created=now)
            if profile is not None:
                monitoring_tables.save_profile(tx, mv.name, mv.version, profile, None, created=now)
            if performance is not None:
                monitoring_tables.save_performance_reference(tx, mv.name, mv.version, *performance, created=now)

        target.db.run_in_transaction(write)
    finally:
        target.close()


def _requirements_text(store: Store, mv: ModelVersion) -> str:
    lines = [f"# {mv.name} v{mv.version}: the versions it was trained with, so its file loads as it was saved",
             "# (mlops models package; each pin says where its version came from)"]
    for pin in pins(store, mv):
        lines.append(f"{pin}  # {pin.source}" if pin.version else f"{pin.package}  # version unknown: not pinned")
    lines.append(f"mlops-magic[serve]=={__version__}  # the server: mlops serve")
    return "\n".join(lines) + "\n"


def _entrypoint(served: str, trust: bool) -> str:
    return f"""#!/bin/sh
# Serves {served} with `mlops serve`, the same server as on the machine it was packaged on, from the store
# packaged beside this file. HOST and PORT set where it listens; extra arguments go to `mlops serve`
# (e.g. --sample 0.1, --keep 10000; see `mlops serve --help`).
set -e
HERE="$(cd "$(dirname "$0")" && pwd)"
exec mlops --store "$HERE/store" serve "{served}" --host "${{HOST:-0.0.0.0}}" --port "${{PORT:-{PORT}}}" \
{"--trust " if trust else ""}"$@"
"""


def _dockerfile(python: str) -> str:
    return f"""# docker build -t NAME . && docker run -p {PORT}:{PORT} NAME
FROM python:{python}-slim
WORKDIR /app
COPY requirements.txt ./
COPY wheels/ ./wheels/
RUN pip install --no-cache-dir --find-links ./wheels -r requirements.txt
COPY . .
# the server writes what it answers into store/ (for monitoring): the only folder it writes
RUN useradd --system --home-dir /app mlops && chown -R mlops /app/store
USER mlops
EXPOSE {PORT}
ENTRYPOINT ["sh", "/app/entrypoint.sh"]
"""


def _metadata(store: Store, mv: ModelVersion, model_file: str, ref: str) -> dict[str, Any]:
    info = mv.to_dict()
    info.pop("lineage", None)
    info.update(model_file=model_file, packaged_as=ref, packaged_from=store.display_url,
                packaged_with=f"mlops-magic {__version__}", packaged=time.time())
    return info


def _readme(mv: ModelVersion, ref: str, python: str) -> str:
    return f"""# {mv.name} v{mv.version}

Packaged from `{ref}` by `mlops models package`. It serves with `mlops serve`: `POST /predict`
(`{{"records": [{{...}}]}}`), `POST /labels`, `GET /health`, `GET /metadata`.

    docker build -t {mv.name} . && docker run -p {PORT}:{PORT} {mv.name}

Without a container (Python {python}):

    python -m venv .venv && .venv/bin/pip install --find-links wheels -r requirements.txt
    PATH=.venv/bin:$PATH HOST=127.0.0.1 sh entrypoint.sh

| file | what |
|---|---|
| `model.{mv.format}` | the model file ({mv.format}) |
| `input_schema.json` | the columns and dtypes requests are checked against |
| `model.json` | the version's metadata: metrics, gates, aliases, where it was packaged from |
| `requirements.txt` | packages pinned to the versions it was trained with |
| `store/` | the store the server reads the model from and logs what it answers into |
| `wheels/` | wheels installed before the index (e.g. an unreleased mlops-magic) |
"""

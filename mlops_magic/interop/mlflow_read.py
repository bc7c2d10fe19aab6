"""An MLflow tracking store read through MLflow's own client, as plain values.

``MlflowClient`` against ``sqlite:///mlflow.db``, ``http://mlflow:5000`` or any URI MLflow accepts:
what MLflow reads, we read, so every backend and version MLflow supports is supported and its schema
is never ours to follow. MLflow is an optional extra (``pip install "mlops-magic[mlflow]"``), imported
only inside these functions. MLflow's entities are turned into the small values below at this edge,
so the import and export code depend on them, not on MLflow's classes.
"""

from __future__ import annotations

import contextlib
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MlopsError

MISSING = 'reading and writing MLflow stores needs MLflow: pip install "mlops-magic[mlflow]"'
PAGE = 1000  # runs per search page, as MLflow's own default
RUNNING = ("RUNNING", "SCHEDULED")


def require_mlflow() -> Any:
    """The ``mlflow`` module, or the one line that says how to install it."""
    try:
        import mlflow
    except ImportError:
        raise MlopsError(MISSING) from None
    return mlflow


def display_uri(uri: str) -> str:
    """``uri`` fit to show and to record: a password in it replaced by ``***``."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str


@dataclass(frozen=True)
class MlflowRun:
    """One MLflow run: its info, params and tags; metric keys only (histories are read on demand)."""

    id: str
    experiment_id: str
    name: str | None
    status: str  # FINISHED | FAILED | KILLED | RUNNING | SCHEDULED
    start: float  # seconds
    end: float | None
    params: dict[str, str]
    tags: dict[str, str]
    metric_keys: list[str]
    model_ids: list[str] = field(default_factory=list)  # MLflow 3 logged models the run produced

    @property
    def parent_id(self) -> str | None:
        return self.tags.get("mlflow.parentRunId")


@dataclass(frozen=True)
class MlflowVersion:
    name: str
    version: int
    source: str
    run_id: str | None
    created: float
    status: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)


class MlflowStore:
    """One MLflow tracking store (and its model registry) behind MLflow's client."""

    def __init__(self, uri: str, *, must_exist: bool = True) -> None:
        self.uri = uri
        self.display = display_uri(uri)
        _check_reachable(uri, must_exist)
        # MLflow draws a tqdm bar per download on stderr; the faces draw one bar for the whole import
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        mlflow = require_mlflow()
        self.client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """MLflow's exceptions (and a server that stopped answering) as one line naming the store."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            message = str(exc.message if hasattr(exc, "message") else exc).strip().splitlines()[0][:300]
            raise MlopsError(f"MLflow at {self.display}, {doing}: {message}") from None
        except OSError as exc:  # connection refused or reset mid-way (requests' errors are OSErrors)
            raise MlopsError(f"MLflow at {self.display}, {doing}: {type(exc).__name__}: {exc}"[:400]) from None

    # -- tracking ---------------------------------------------------------------------------------------
    def experiments(self, wanted: list[str] | None = None) -> list[Experiment]:
        """Active experiments, or those named (by name or id) in ``wanted``; an unknown one is an error."""
        with self.errors("listing experiments"):
            found = [Experiment(str(e.experiment_id), e.name)
                     for e in self._pages(self.client.search_experiments, max_results=PAGE)]
        if not wanted:
            return found
        by_key = {**{e.name: e for e in found}, **{e.id: e for e in found}}
        unknown = [w for w in wanted if w not in by_key]
        if unknown:
            names = ", ".join(e.name for e in found[:20]) or "none"
            raise InvalidInputError(f"MLflow at {self.display} has no experiment {unknown[0]!r}; "
                                    f"its experiments: {names}")
        return list({by_key[w].id: by_key[w] for w in wanted}.values())

    def runs(self, experiment_ids: list[str]) -> list[MlflowRun]:
        """Every active run of these experiments, oldest first (parents before their nested runs)."""
        out: list[MlflowRun] = []
        token = None
        with self.errors("listing runs"):
            while experiment_ids:
                page = self.client.search_runs(experiment_ids, max_results=PAGE, page_token=token,
                                               order_by=["attributes.start_time ASC"])
                out += [_run(r) for r in page]
                token = page.token
                if not token:
                    break
        return out

    def history(self, run_id: str, key: str) -> list[tuple[float, int, float]]:
        """(value, step, timestamp in seconds) of every point of one metric of one run."""
        with self.errors(f"reading metric {key!r} of run {run_id}"):
            return [(m.value, int(m.step), m.timestamp / 1000) for m in self.client.get_metric_history(run_id, key)]

    def download_run_files(self, run: MlflowRun, dst: Path) -> list[tuple[str, Path]]:
        """The run's artifacts, and the files of the models it logged (MLflow 3 keeps those apart, under
        their model's name), downloaded under ``dst``: (name to keep them under, local file)."""
        mlflow = require_mlflow()
        files: list[tuple[str, Path]] = []
        with self.errors(f"downloading the artifacts of run {run.id}"):
            if self.client.list_artifacts(run.id):
                root = Path(mlflow.artifacts.download_artifacts(run_id=run.id, dst_path=str(dst / "run"),
                                                                tracking_uri=self.uri))
                files += _files_under(root, "")
            for model_id in run.model_ids:
                model = self.client.get_logged_model(model_id)
                root = Path(mlflow.artifacts.download_artifacts(artifact_uri=model.artifact_location,
                                                                dst_path=str(dst / model_id), tracking_uri=self.uri))
                files += _files_under(root, f"{model.name or model_id}/")
        return files

    # -- registry ---------------------------------------------------------------------------------------
    def registered_models(self) -> list[tuple[str, dict[str, int], str | None]]:
        """(name, aliases → version, description) of every registered model."""
        with self.errors("listing registered models"):
            return [(m.name, {a: int(v) for a, v in (m.aliases or {}).items()}, m.description)
                    for m in self._pages(self.client.search_registered_models, max_results=PAGE)]

    def versions(self, name: str) -> list[MlflowVersion]:
        """The versions of one registered model, oldest first."""
        quoted = name.replace("'", "\\'")
        with self.errors(f"listing the versions of model {name!r}"):
            found = self._pages(self.client.search_model_versions, filter_string=f"name='{quoted}'",
                                max_results=10_000)
        return sorted((MlflowVersion(v.name, int(v.version), v.source or "", v.run_id or None,
                                     (v.creation_timestamp or 0) / 1000, str(v.status), v.description or None,
                                     dict(v.tags or {})) for v in found), key=lambda v: v.version)

    def download_version(self, version: MlflowVersion, dst: Path) -> Path:
        """The folder of one model version (its ``MLmodel`` and files), downloaded under ``dst``."""
        mlflow = require_mlflow()
        with self.errors(f"downloading model {version.name!r} version {version.version}"):
            uri = self.client.get_model_version_download_uri(version.name, str(version.version))
            return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst),
                                                            tracking_uri=self.uri))

    def _pages(self, search: Any, **options: Any) -> list[Any]:
        out: list[Any] = []
        token = None
        while True:
            page = search(page_token=token, **options)
            out += list(page)
            token = page.token
            if not token:
                return out


def _run(r: Any) -> MlflowRun:
    outputs = getattr(r, "outputs", None)
    model_ids = [o.model_id for o in getattr(outputs, "model_outputs", None) or []]
    return MlflowRun(
        id=r.info.run_id, experiment_id=str(r.info.experiment_id), name=r.info.run_name or None,
        status=r.info.status, start=(r.info.start_time or 0) / 1000,
        end=r.info.end_time / 1000 if r.info.end_time else None, params=dict(r.data.params),
        tags=dict(r.data.tags), metric_keys=sorted(r.data.metrics), model_ids=list(dict.fromkeys(model_ids)))


def _files_under(root: Path, prefix: str) -> list[tuple[str, Path]]:
    if root.is_file():
        return [(prefix + root.name, root)]
    return sorted((prefix + p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())


def _check_reachable(uri: str, must_exist: bool) -> None:
    """A typo must not wait out MLflow's retries (minutes) or create an empty store where one was meant
    to be read: a server is asked for ``/health`` first, a SQLite file must exist."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme in ("http", "https"):
        health = urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/health", query=""))
        try:
            with urllib.request.urlopen(health, timeout=10):  # the user's own MLflow server
                pass
        except urllib.error.HTTPError:
            pass  # it answered: a server without /health (or behind a proxy) is still a server
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise MlopsError(f"cannot reach the MLflow server at {display_uri(uri)}: {reason}") from None
    elif parts.scheme == "sqlite" and must_exist:
        path = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
        if path and path != ":memory:" and not os.path.isfile(path):
            raise InvalidInputError(f"no MLflow database at {path} (from {uri}); check the path "
                                    "(sqlite:///relative.db, sqlite:////absolute.db)")
    elif not parts.scheme:
        raise InvalidInputError(f"{uri!r} is not an MLflow tracking URI; use sqlite:///mlflow.db, "
                                "http://host:5000 or another URI MLflow accepts")

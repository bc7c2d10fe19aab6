"""``mlops export mlflow URI``: runs and model versions written to an MLflow store, through MLflow's client.

A run becomes an MLflow run in the experiment named after its notebook, with its start and end times,
status, params (as text, as MLflow keeps them), tags, every metric point with its step and time stamp,
and its artifacts; each stage run becomes a nested run holding what that stage logged. A model version
becomes an MLflow scikit-learn model (``mlflow.sklearn.save_model``, requirements pinned as for a
package) registered under the same name, logged in the exported run that made it, and its aliases
point where ours do.

Exporting again skips what is there: the target's runs carry ``mlops.run_id`` and its versions
``mlops.version`` tags, read back before writing, so no local state has to agree with the target.
A run imported from the very store it is exported to is not written back.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..entities import Run, RunStatus, StageRun, StageStatus
from ..errors import InvalidInputError, MlopsError
from ..registry import model_files as model_io
from ..registry.versions import ModelVersion, load, versions_of
from ..store import Store
from ..store import interop as tables
from ..store.runs import filter_values
from .mlflow_import import SYSTEM, Progress
from .mlflow_read import MlflowStore, require_mlflow
from .mlflow_registry import Pushed, push_version
from .requirements import pins

#: How a run or a stage that ended is terminated in MLflow (a stage's statuses are the same words); anything
#: else that ended (skipped) is FINISHED there.
STATUSES: dict[str, str] = {RunStatus.SUCCEEDED: "FINISHED", RunStatus.FAILED: "FAILED", RunStatus.KILLED: "KILLED",
                            RunStatus.TIMED_OUT: "KILLED"}
MODELS_EXPERIMENT = "mlops-magic models"  # holds the versions whose run is not exported
_FILTER_KEYS = ("notebook", "status", "trigger")


@dataclass
class ExportSummary:
    target: str
    runs: int = 0
    stages: int = 0
    already: int = 0
    points: int = 0
    artifacts: int = 0
    versions: int = 0
    aliases: int = 0
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        lines = [f"exported to MLflow at {self.target}: {self.runs} runs ({self.stages} stages as nested runs, "
                 f"{self.points} metric points, {self.artifacts} files), {self.versions} model versions, "
                 f"{self.aliases} aliases" + (f"; {self.already} were already there" if self.already else "")]
        if self.notes:
            lines.append(f"not exported as is ({len(self.notes)}):")
            lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def select_runs(store: Store, spec: str) -> list[Run]:
    """``all``, or ``notebook=…,status=…,trigger=…`` (the filters of ``mlops runs``), oldest first."""
    if spec.strip() == "all":
        found = store.list_runs()
    else:
        given: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in _FILTER_KEYS or not value.strip():
                raise InvalidInputError(f"--runs {spec!r}: write 'all' or NAME=VALUE pairs of "
                                        f"{', '.join(_FILTER_KEYS)}, e.g. notebook=churn.ipynb")
            given[key.strip()] = value.strip()
        filter_values(given.get("status"), given.get("trigger"))  # one clear line for an unknown status
        found = store.list_runs(notebook=given.get("notebook"), status=given.get("status"),
                                trigger=given.get("trigger"))
    return sorted(found, key=lambda r: (r.started, r.id))


def export_mlflow(store: Store, uri: str, *, runs: str | None = None, models: list[str] | tuple[str, ...] = (),
                  trust: bool = False, progress: Progress | None = None) -> ExportSummary:
    """Export the runs ``runs`` selects and every version of ``models`` (see the module's docstring)."""
    if not runs and not models:
        raise InvalidInputError("nothing to export: give --runs FILTER (or 'all') and/or --models NAME")
    selected = select_runs(store, runs) if runs else []
    versions = {name: versions_of(store, name) for name in models}  # unknown models fail before writing
    target = MlflowStore(uri, must_exist=False)
    summary = ExportSummary(target.display)
    writer = _Writer(store, target, summary)
    for done, run in enumerate(selected):
        writer.run(run)
        if progress:
            progress("runs", done + 1, len(selected))
    for done, (name, found) in enumerate(versions.items()):
        writer.model(name, found, trust)
        if progress:
            progress("models", done + 1, len(versions))
    return summary


class _Writer:
    """One export: the target's experiments and what it holds already, looked up once each."""

    def __init__(self, store: Store, target: MlflowStore, summary: ExportSummary) -> None:
        self.store, self.target, self.client, self.summary = store, target, target.client, summary
        self.experiments: dict[str, str] = {}
        self.exported: dict[str, str] = {}  # our run id -> MLflow run id, in the target
        self.imported = tables.local_ids(store.db, SYSTEM, "run")  # our run id -> the MLflow run it came from

    def experiment(self, name: str) -> str:
        if name not in self.experiments:
            with self.target.errors(f"opening experiment {name!r}"):
                found = self.client.get_experiment_by_name(name)
                exp_id = found.experiment_id if found is not None else self.client.create_experiment(name)
                for page in _pages(self.client, exp_id):
                    self.exported.update(page)
            self.experiments[name] = str(exp_id)
        return self.experiments[name]

    # -- runs -----------------------------------------------------------------------------------------
    def run(self, run: Run) -> str | None:
        exp_id = self.experiment(run.notebook or "mlops-magic")
        if run.id in self.exported:
            self.summary.already += 1
            return self.exported[run.id]
        came_from = self.imported.get(run.id)
        if came_from is not None and self._exists(came_from):
            self.summary.notes.append(f"run {run.id[:8]} was imported from this MLflow store (run {came_from}): "
                                      "not written back")
            self.exported[run.id] = came_from
            return came_from
        tags = {k: v for k, v in run.tags.items() if k != "mlflow.parentRunId"}
        tags.update({"mlops.run_id": run.id, "mlops.trigger": str(run.trigger)})
        if run.notebook:
            tags.update({"mlops.notebook": run.notebook, "mlflow.source.name": tags.get("mlflow.source.name",
                                                                                        run.notebook)})
        if run.code_version:
            tags["mlflow.source.git.commit"] = run.code_version
        if run.parent_run_id and run.parent_run_id in self.exported:
            tags["mlflow.parentRunId"] = self.exported[run.parent_run_id]
        stages = self.store.list_stages(run.id)
        history = self.store.metric_history(run.id)
        params = self.store.params_with_stages(run.id)
        run_id = self._create(exp_id, run.name or run.id[:8], run.started, tags)
        self._log(run_id, {k: v for k, (v, _) in params.items()}, history)
        self._artifacts(run, run_id)
        for stage in stages:
            self._stage(exp_id, run_id, stage, {k: v for k, (v, s) in params.items() if s == stage.id},
                        [m for m in history if m.stage_id == stage.id])
        self._end(run_id, run.status, run.ended)
        self.exported[run.id] = run_id
        self.summary.runs += 1
        return run_id

    def _stage(self, exp_id: str, parent: str, stage: StageRun, params: dict[str, Any], history: list[Any]) -> None:
        tags = {"mlflow.parentRunId": parent, "mlops.stage.kind": stage.kind, "mlops.stage.name": stage.name,
                "mlops.stage.attempt": str(stage.attempt), "mlops.stage_id": str(stage.id)}
        if stage.code_digest:
            tags["mlops.code_digest"] = stage.code_digest
        if stage.error_type:
            tags["mlops.error"] = f"{stage.error_type}: {stage.error_message or ''}"[:5000]
        name = stage.name if stage.attempt == 1 else f"{stage.name} #{stage.attempt}"
        run_id = self._create(exp_id, name, stage.started, tags)
        self._log(run_id, params, history, count=False)
        self._end(run_id, stage.status, stage.ended)
        self.summary.stages += 1

    def _create(self, exp_id: str, name: str, started: Any, tags: dict[str, Any]) -> str:
        with self.target.errors(f"creating run {name!r}"):
            created = self.client.create_run(exp_id, start_time=_ms(started), run_name=name,
                                             tags={k: str(v) for k, v in tags.items()})
        return str(created.info.run_id)

    def _log(self, run_id: str, params: dict[str, Any], history: list[Any], *, count: bool = True) -> None:
        from mlflow.entities import Metric, Param

        items = [Param(k, _param_text(v)) for k, v in params.items()]
        points = [Metric(m.key, float(m.value), _ms(m.timestamp), int(m.step)) for m in history]
        with self.target.errors(f"logging run {run_id}"):
            for i in range(0, len(items), 100):
                self.client.log_batch(run_id, params=items[i:i + 100])
            for i in range(0, len(points), 1000):
                self.client.log_batch(run_id, metrics=points[i:i + 1000])
        if count:
            self.summary.points += len(points)

    def _artifacts(self, run: Run, run_id: str) -> None:
        files = self.store.list_artifacts(run.id)
        if not files:
            return
        with tempfile.TemporaryDirectory() as tmp:
            for artifact in files:
                name = PurePosixPath(artifact.name)
                if name.is_absolute() or ".." in name.parts:
                    self.summary.notes.append(f"run {run.id[:8]}: artifact {artifact.name!r} has no safe file name")
                    continue
                dest = Path(tmp, *name.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with self.store.artifacts.open(artifact.digest) as src, dest.open("wb") as out:  # a bucket too
                    shutil.copyfileobj(src, out)
                self.summary.artifacts += 1
            with self.target.errors(f"uploading the artifacts of run {run_id}"):
                self.client.log_artifacts(run_id, tmp)

    def _end(self, run_id: str, status: RunStatus | StageStatus, ended: Any) -> None:
        """Terminate the MLflow run as ours ended; one still running (or queued) stays RUNNING there."""
        if ended is None and status not in STATUSES:
            return
        with self.target.errors(f"ending run {run_id}"):
            self.client.set_terminated(run_id, STATUSES.get(status, "FINISHED"), end_time=_ms(ended) if ended else None)

    def _exists(self, mlflow_run_id: str) -> bool:
        try:
            self.client.get_run(mlflow_run_id)
            return True
        except Exception:  # MLflow's RESOURCE_DOES_NOT_EXIST: another store
            return False

    # -- models ---------------------------------------------------------------------------------------
    def model(self, name: str, versions: list[ModelVersion], trust: bool) -> None:
        pushed = Pushed.read(self.target, name)
        came_from = tables.local_ids(self.store.db, SYSTEM, "model_version")  # our NAME@N -> MLflow's key
        numbers: dict[int, int] = {}
        for mv in versions:
            if mv.ref in pushed.by_ref:
                numbers[mv.version] = pushed.by_ref[mv.ref]
                self.summary.already += 1
                continue
            if came_from.get(mv.ref) in pushed.by_key:
                numbers[mv.version] = pushed.by_key[came_from[mv.ref]]
                self.summary.notes.append(f"{mv} was imported from this MLflow store (version "
                                          f"{numbers[mv.version]}): not written back")
                continue
            reason = _unexportable(mv)
            if reason:
                self.summary.notes.append(f"{mv}: {reason}")
                continue
            try:
                model = load(self.store, mv.ref, trust=trust)
            except MlopsError as exc:
                self.summary.notes.append(f"{mv}: {exc}")
                continue
            holder = self.exported.get(mv.run_id or "") or self._holder_run(mv)
            numbers[mv.version] = push_version(self.target, mv, model, holder, [str(p) for p in pins(self.store, mv)])
            self.summary.versions += 1
        self.summary.aliases += pushed.point_aliases(
            {alias: numbers[mv.version] for mv in versions for alias in mv.aliases if mv.version in numbers})

    def _holder_run(self, mv: ModelVersion) -> str:
        """A run to log a version's model in when its own run is not exported (or it has none)."""
        exp_id = self.experiment(MODELS_EXPERIMENT)
        run_id = self._create(exp_id, f"{mv.name} v{mv.version}", mv.created,
                              {"mlops.version": mv.ref, **({"mlops.run_id.source": mv.run_id} if mv.run_id else {})})
        self._end(run_id, RunStatus.SUCCEEDED, mv.created)
        return run_id


def _unexportable(mv: ModelVersion) -> str | None:
    if mv.format == model_io.NO_FILE:
        return "registered from its predictions only: no model to export"
    if mv.flavour != "sklearn":
        return f"a {mv.flavour} model: only scikit-learn models are exported as MLflow models"
    return None


def _pages(client: Any, exp_id: str) -> Any:
    """our run id -> MLflow run id of every run of the experiment an earlier export wrote, page by page."""
    token = None
    while True:
        page = client.search_runs([exp_id], max_results=1000, page_token=token)
        yield {r.data.tags["mlops.run_id"]: r.info.run_id for r in page if "mlops.run_id" in r.data.tags}
        token = page.token
        if not token:
            return


def _param_text(value: Any) -> str:
    """A param as MLflow keeps it (text, at most 6,000 characters): as ``mlflow.log_param`` writes a string, a
    number, a bool or None (``str``); a list or a mapping as JSON."""
    text = json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def _ms(when: Any) -> int:
    return round(when.timestamp() * 1000)


__all__ = ["ExportSummary", "export_mlflow", "require_mlflow", "select_runs"]

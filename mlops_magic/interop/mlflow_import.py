"""``mlops import mlflow URI``: an MLflow tracking store's experiments, runs and registered models, brought in.

Each experiment's runs become runs of a notebook named after the experiment (MLflow's grouping is
the experiment; ours is the notebook). A run keeps its MLflow start and end times, its status
(FINISHED → succeeded, FAILED → failed, KILLED → killed), its params (a value whose text reads back
the same is typed: ``"0.1"`` → 0.1, ``"007"`` stays text), its tags, every point of every metric with
MLflow's own step and time stamp, its artifacts and the files of the models it logged; a nested run
keeps its parent. Runs still running in MLflow are left for a later import. Registered models are
imported by :mod:`.mlflow_models`.

Re-importing skips what is already here (``store/interop.py`` links every MLflow id to ours), so an
import can be repeated to pick up new runs. Histories are read by a few threads (each MLflow call is
a round trip) and written a batch of runs per transaction (see docs/interop.md for the figures).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..entities import RunStatus
from ..errors import InvalidInputError
from ..store import Store
from ..store import interop as tables
from ..store.columns import check_name
from ..tracking.values import parse_literal
from .mlflow_models import import_models
from .mlflow_read import RUNNING, MlflowRun, MlflowStore

SYSTEM = "mlflow"
STATUSES = {"FINISHED": RunStatus.SUCCEEDED, "FAILED": RunStatus.FAILED, "KILLED": RunStatus.KILLED}
BATCH = 100  # runs written per transaction
#: ``progress(what, done, total)``: the faces draw it (the CLI a click progress bar).
Progress = Callable[[str, int, int], None]


@dataclass
class ImportSummary:
    """What an import brought in, what it skipped, and one line for each thing it could not map."""

    source: str
    experiments: int = 0
    runs: int = 0
    already: int = 0  # runs imported before, skipped
    points: int = 0
    artifacts: int = 0
    versions: int = 0
    aliases: int = 0
    notes: list[str] = field(default_factory=list)
    read_seconds: float = 0.0  # waiting for MLflow (histories, files) while importing runs
    write_seconds: float = 0.0  # writing them here

    def __repr__(self) -> str:
        lines = [f"imported from MLflow at {self.source}: {self.runs} runs of {self.experiments} experiments "
                 f"({self.points} metric points, {self.artifacts} files), {self.versions} model versions, "
                 f"{self.aliases} aliases" + (f"; {self.already} runs were already here" if self.already else "")]
        if self.runs:
            lines[0] += f" (reading MLflow {self.read_seconds:.1f} s, writing {self.write_seconds:.1f} s)"
        if self.notes:
            lines.append(f"not mapped as is ({len(self.notes)}):")
            lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


def import_mlflow(store: Store, uri: str, *, experiments: list[str] | None = None, trust: bool = False,
                  progress: Progress | None = None, workers: int = 4) -> ImportSummary:
    """Import the runs of ``experiments`` (names or ids; default every active one) and every registered
    model of the MLflow store at ``uri``. ``trust`` allows unpickling scikit-learn models to convert them
    to skops (see :mod:`.mlflow_models`)."""
    source = MlflowStore(uri)
    summary = ImportSummary(source.display)
    found = source.experiments(experiments)
    summary.experiments = len(found)
    names = {e.id: e.name for e in found}
    runs = source.runs(list(names))
    known = tables.linked(store.db, SYSTEM, "run", [r.id for r in runs])
    summary.already = len(known)
    for r in runs:
        if r.status in RUNNING and r.id not in known:
            summary.notes.append(f"run {r.id} ({names[r.experiment_id]}) is still {r.status.lower()} in MLflow: "
                                 "import again once it ends")
    todo = [r for r in runs if r.id not in known and r.status not in RUNNING]
    local = {**known, **{r.id: uuid.uuid4().hex[:16] for r in todo}}
    _import_runs(store, source, todo, local, names, summary, progress, workers)
    import_models(store, source, summary, trust=trust, progress=progress)
    return summary


def _import_runs(store: Store, source: MlflowStore, todo: list[MlflowRun], local: dict[str, str],
                 names: dict[str, str], summary: ImportSummary, progress: Progress | None, workers: int) -> None:
    if progress:
        progress("runs", 0, len(todo))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            began = time.perf_counter()
            rows = list(pool.map(lambda r: _read_run(store, source, r, local, names, Path(tmp), summary.notes),
                                 batch))
            read = time.perf_counter()
            summary.points += _write(store, rows, source.display)
            summary.read_seconds += read - began
            summary.write_seconds += time.perf_counter() - read
            summary.runs += len(rows)
            summary.artifacts += sum(len(r.artifacts) for r in rows)
            if progress:
                progress("runs", start + len(batch), len(todo))


def _write(store: Store, rows: list[tables.ImportedRun], source: str) -> int:
    points: int = store.db.run_in_transaction(lambda tx: tables.insert_runs(tx, rows, system=SYSTEM, source=source))
    return points


def _read_run(store: Store, source: MlflowStore, run: MlflowRun, local: dict[str, str], names: dict[str, str],
              tmp: Path, notes: list[str]) -> tables.ImportedRun:
    """One MLflow run read whole (histories, files put in the artifact store), as the rows to write."""
    points: list[tuple[str, float, int, float]] = []
    for key in run.metric_keys:
        if not _valid(key, "metric name", run, notes):
            continue
        points += [(key, value, step, ts) for value, step, ts in source.history(run.id, key)]
    folder = tmp / run.id
    files = []
    try:
        for name, path in source.download_run_files(run, folder):
            if _valid(name, "artifact name", run, notes):
                digest, size = store.artifacts.put_file(path)
                files.append((name, digest, size))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    experiment = names.get(run.experiment_id, run.experiment_id)
    tags = {k: v for k, v in run.tags.items() if _valid(k, "tag name", run, notes)}
    tags["mlops.imported_from"] = f"mlflow run {run.id} (experiment {experiment}) at {source.display}"
    return tables.ImportedRun(
        id=local[run.id], external_id=run.id, notebook=experiment, name=run.name, status=STATUSES[run.status],
        started=run.start, ended=run.end if run.end is not None else run.start,
        code_version=run.tags.get("mlflow.source.git.commit"),
        parent_run_id=local.get(run.parent_id) if run.parent_id else None,
        params={k: typed_param(v) for k, v in run.params.items() if _valid(k, "parameter name", run, notes)},
        tags=tags, metrics=points, artifacts=files)


def typed_param(text: str) -> object:
    """An MLflow param (always text) as the value it spells, when that value prints back as the same text."""
    value = parse_literal(text)
    return value if not isinstance(value, str) and str(value) == text else text


def _valid(name: str, kind: str, run: MlflowRun, notes: list[str]) -> bool:
    try:
        check_name(kind, name)
        return True
    except InvalidInputError as exc:
        notes.append(f"run {run.id}: {exc}; left out")
        return False

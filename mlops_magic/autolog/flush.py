"""The end of a stage: what the recorder buffered becomes params, metrics and artifacts of that stage.

The rule "explicit wins": a key the user logged in this run (with ``%mlops params``/``metric`` or
``mlops.log_*``, before or during the stage) is never overwritten. A key counts as the user's when it
exists and autolog did not write its current value (the ``autologged`` table remembers what autolog
wrote). Where the user's value differs from what autolog measured, one line says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..entities import StageRun
from ..errors import MlopsError
from ..registry import model_files
from ..store import Store
from ..store import autolog as marks_table
from . import figures, search
from .naming import Namer
from .recorder import Fit, Recorder


@dataclass
class Batch:
    """What a stage will write: params, metric rows (``step`` None: the key's next step), artifacts."""

    params: dict[str, Any] = field(default_factory=dict)
    metrics: list[tuple[str, float, int | None]] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def param(self, key: str, value: Any, source: str) -> None:
        self.params[key] = value
        self.sources[("param", key)] = source

    def metric(self, key: str, value: float, step: int | None, source: str) -> None:
        self.metrics.append((key, value, step))
        self.sources[("metric", key)] = source

    def artifact(self, name: str, data: bytes, source: str) -> None:
        self.artifacts[name] = data
        self.sources[("artifact", name)] = source


def estimators_by_name(namespace: dict[str, Any], fits: list[Fit]) -> dict[int, str]:
    """``id(estimator) -> variable`` for the fitted estimators a namespace variable holds at the end."""
    wanted = {id(f.estimator) for f in fits}
    found: dict[int, str] = {}
    for name, value in list(namespace.items()):
        if id(value) in wanted and not name.startswith("_") and id(value) not in found:
            found[id(value)] = name
    return found


def distinct_fits(fits: list[Fit]) -> list[Fit]:
    """The last fit of each estimator, in the order the estimators were first fitted."""
    latest: dict[int, Fit] = {}
    for fit in fits:
        latest[id(fit.estimator)] = fit
    order = list(dict.fromkeys(id(f.estimator) for f in fits))
    return [latest[i] for i in order]


def collect(rec: Recorder, stage: StageRun, namer: Namer, names: dict[int, str]) -> Batch:
    """Name everything the stage recorded since the last :func:`collect` (docs/autolog.md, "Names")."""
    batch = Batch()
    done_fits, done_calls, done_figures = rec.written
    several = len(distinct_fits(rec.fits)) > 1
    for fit in distinct_fits(rec.fits[done_fits:]):
        var = names.get(id(fit.estimator))
        if several and var is None:
            continue  # an intermediate estimator of a stage that fitted several: not the stage's model
        prefix = f"{var}." if several else ""
        for key, value in fit.params.items():
            batch.param(prefix + key, value, fit.library)
        batch.param(prefix + "estimator_class", fit.class_path, fit.library)
        batch.metric(prefix + "fit_time", fit.seconds, None, marks_table.TIMING)
        if fit.training_score is not None:
            batch.metric(prefix + "training_score", fit.training_score, None, fit.library)
        for key, values in fit.series.items():
            for step, value in enumerate(values):
                batch.metric(prefix + key, value, step, fit.library)
        if fit.search is not None:
            for key, value in fit.search.best_params.items():
                batch.param(prefix + key, value, fit.library)
            if fit.search.best_score is not None:
                batch.metric(prefix + "best_cv_score", fit.search.best_score, None, fit.library)
            for key, values in fit.search.series.items():
                for step, value in enumerate(values):
                    batch.metric(prefix + key, value, step, fit.library)
            batch.artifact(f"search/{var or stage.name}.csv", search.table_csv(fit.search.table), fit.library)
    for call in rec.calls[done_calls:]:
        batch.metric(namer.name(call.base, call.data), call.value, None, "sklearn")
    for name, figure in list(zip(figures.names(rec.figures, stage.name), rec.figures))[done_figures:]:
        try:
            batch.artifact(name, figures.render(figure), "matplotlib")
        except Exception as exc:
            rec.failed(f"figure {name}", exc)
    rec.written = (len(rec.fits), len(rec.calls), len(rec.figures))
    return batch


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def write(store: Store, stage: StageRun, batch: Batch) -> list[str]:
    """Write the batch where the user has not; returns the user's keys that kept a different value."""
    if not (batch.params or batch.metrics or batch.artifacts):
        return []  # a stage that used none of the libraries costs no query
    run_id, stage_id = stage.run_id, stage.id
    ours = marks_table.marks(store.db, run_id)
    kept: list[str] = []

    def users(kind: str, key: str, current: Any, measured: Any) -> bool:
        mark = ours.get((kind, key))
        if mark is not None and _same(mark[1], current):
            return False
        if not _same(current, measured):
            kept.append(key)
        return True

    params = store.params_with_stages(run_id)
    free_params = {k: v for k, v in batch.params.items() if k not in params or not users("param", k, params[k][0], v)}
    latest = store.latest_metrics_with_stages(run_id)
    last_value: dict[str, float] = {}
    blocked: set[str] = set()
    for key, value, _ in batch.metrics:
        last_value[key] = value
    for key in last_value:
        if key in latest and users("metric", key, latest[key][0], last_value[key]):
            blocked.add(key)
    rows: list[tuple[str, float, int]] = []
    steps: dict[str, int] = {}
    for key, value, step in batch.metrics:
        if key in blocked:
            continue
        if step is None:
            if key not in steps:
                last = store.last_step(run_id, key)
                steps[key] = -1 if last is None else last
            steps[key] += 1
            step = steps[key]
        rows.append((key, value, step))
    existing = {a.name: a.digest for a in store.list_artifacts(run_id)}
    marked: list[tuple[str, str, int | None, Any, str]] = []
    if free_params:
        store.log_params(run_id, free_params, stage_id)
        marked += [("param", k, stage_id, v, batch.sources[("param", k)]) for k, v in free_params.items()]
    if rows:
        store.log_metrics(run_id, rows, stage_id=stage_id)
        marked += [("metric", k, stage_id, v, batch.sources[("metric", k)])
                   for k, v in {k: v for k, v, _ in rows}.items()]
    for name, data in batch.artifacts.items():
        if name in existing and ("artifact", name) not in ours:
            kept.append(name)
            continue
        artifact = store.log_artifact_bytes(run_id, name, data, stage_id)
        marked.append(("artifact", name, stage_id, artifact.digest, batch.sources[("artifact", name)]))
    if marked:
        store.db.run_in_transaction(lambda tx: marks_table.mark(tx, run_id, marked))
    return kept


def save_models(store: Store, stage: StageRun, rec: Recorder, names: dict[int, str]) -> list[str]:
    """Keep each fitted model (an estimator with ``predict``) bound to a variable as a skops file, so
    registering it needs no second serialisation; returns one note per model skops cannot save."""
    notes: list[str] = []
    marked: list[tuple[str, str, int | None, Any, str]] = []
    for fit in distinct_fits(rec.fits):
        var = names.get(id(fit.estimator))
        if var is None or not hasattr(fit.estimator, "get_params") or not callable(getattr(fit.estimator, "predict",
                                                                                               None)):
            continue  # unnamed, a native booster, or a transformer: not a model to register
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # registering it warns, where it matters
                saved = model_files.dump(fit.estimator, "skops", label=var)
        except MlopsError:
            notes.append(f"model {var} ({type(fit.estimator).__name__}) not kept: skops cannot save it")
            continue
        artifact = store.log_artifact_bytes(stage.run_id, f"models/{var}.skops", saved.data, stage.id)
        model_files.keep(fit.estimator, model_files.StoredModel(
            artifact.digest, artifact.size, saved.format, saved.flavour, saved.model_type, saved.trusted_types,
            saved.environment))
        marked.append(("artifact", artifact.name, stage.id, artifact.digest, fit.library))
    if marked:
        store.db.run_in_transaction(lambda tx: marks_table.mark(tx, stage.run_id, marked))
    return notes

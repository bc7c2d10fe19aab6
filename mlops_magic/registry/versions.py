"""The model registry: numbered versions with their lineage, and loading them back safely.

A version records what is needed to trust and to serve a model: the file
(content-addressed), its flavour and format, the input schema, the metrics and
gate results of the run that made it, and the fingerprints of the data it was
trained on. Aliases, promotion and rollback live in :mod:`.aliases`; the tables in
:mod:`mlops_magic.store.registry`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..entities import _Entity, result_metrics, utc_from_ts
from ..errors import InvalidInputError, MlopsError, NotFoundError
from ..store import Store
from ..store import monitoring as monitoring_tables
from ..store import registry as tables
from ..tracking.fingerprint import fingerprint
from . import gates
from . import model_files as model_io

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True, repr=False)
class ModelVersion(_Entity):
    """One registered version of a model."""

    name: str
    version: int
    created: datetime
    flavour: str
    format: str
    model_type: str | None
    digest: str
    size: int
    input_schema: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    gates_passed: bool | None = None
    run_id: str | None = None
    stage_id: int | None = None
    data_fingerprint: dict[str, Any] | None = None
    lineage: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    aliases: list[str] = field(default_factory=list)
    trusted_types: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in (self.input_schema or {}).get("columns", [])]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def __repr__(self) -> str:
        gates = {None: "no gates", True: "gates passed", False: "GATES FAILED"}[self.gates_passed]
        inputs = f"{len(self.columns)} input columns" if self.columns else "no input schema"
        kind = (self.model_type or "").rsplit(".", 1)[-1] or self.flavour
        aliases = f" [{', '.join(self.aliases)}]" if self.aliases else ""
        run = f", run {self.run_id[:8]}" if self.run_id else ""
        return f"{self} ({kind}, {self.format}; {inputs}; {gates}{run}){aliases}"


# -- references -------------------------------------------------------------------------------------
def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(f"model name {name!r} is not allowed; use letters, digits, '_', '.', '-' "
                                "(up to 128 characters), e.g. churn")
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _NAME.match(alias) or alias.isdigit() or alias == "latest":
        raise InvalidInputError(f"alias {alias!r} is not allowed; use a name such as production or staging "
                                "(not a number, not 'latest')")
    return alias


def parse_ref(ref: str) -> tuple[str, int | str | None]:
    """``churn`` → latest; ``churn@3`` → version 3; ``churn@production`` → an alias."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInputError("a model reference is required, e.g. churn, churn@3 or churn@production")
    name, _, selector = ref.strip().partition("@")
    check_model_name(name)
    if not selector or selector == "latest":
        return name, None
    if selector.lstrip("v").isdigit():
        return name, int(selector.lstrip("v"))
    return name, check_alias(selector)


def require_model(store: Store, name: str) -> None:
    """One clear line for an unknown model, naming the ones there are."""
    if not tables.model_exists(store.db, name):
        known = tables.model_names(store.db, limit=20)
        hint = f"registered models: {', '.join(known)}" if known else "no model is registered yet"
        raise NotFoundError(f"no model {name!r}; {hint}")


def resolve_version_number(store: Store, ref: str) -> tuple[str, int]:
    """(name, version) a reference points at now: one cheap query, used by the server's poller."""
    name, selector = parse_ref(ref)
    if isinstance(selector, int):
        version = selector if tables.version_exists(store.db, name, selector) else None
    elif selector is None:
        version = tables.latest_version(store.db, name)
    else:
        version = tables.alias_version(store.db, name, selector)
    if version is None:
        require_model(store, name)
        if isinstance(selector, int):
            raise NotFoundError(f"model {name!r} has no version {selector}; see `mlops models show {name}`")
        aliases = [alias for _, _, alias in tables.aliases_of(store.db, [name])]
        raise NotFoundError(f"model {name!r} has no alias {selector!r}; its aliases: "
                            f"{', '.join(aliases) or 'none yet (mlops models promote)'}")
    return name, version


def get_version(store: Store, ref: str) -> ModelVersion:
    name, version = resolve_version_number(store, ref)
    return _versions(store, model=name, version=version)[0]


def _versions(store: Store, **where: Any) -> list[ModelVersion]:
    return _from_rows(store, tables.version_rows(store.db, **where))


def _from_rows(store: Store, rows: list[Any]) -> list[ModelVersion]:
    aliases: dict[tuple[str, int], list[str]] = {}
    for model, version, alias in tables.aliases_of(store.db, sorted({r["model"] for r in rows})):
        aliases.setdefault((model, version), []).append(alias)

    def js(text: str | None, default: Any) -> Any:
        return default if text is None else json.loads(text)

    return [ModelVersion(
        name=r["model"], version=r["version"], created=utc_from_ts(r["created"]),  # type: ignore[arg-type]
        flavour=r["flavour"], format=r["format"], model_type=r["model_type"], digest=r["digest"],
        size=r["size"], input_schema=js(r["input_schema"], None), metrics=js(r["metrics"], {}),
        gates=js(r["gates"], []), gates_passed=None if r["gates_passed"] is None else bool(r["gates_passed"]),
        run_id=r["run_id"], stage_id=r["stage_id"], data_fingerprint=js(r["data_fingerprint"], None),
        lineage=js(r["lineage"], []), environment=js(r["environment"], {}), description=r["description"],
        aliases=aliases.get((r["model"], r["version"]), []), trusted_types=js(r["trusted_types"], []),
    ) for r in rows]


def versions_of(store: Store, name: str) -> list[ModelVersion]:
    check_model_name(name)
    require_model(store, name)
    return _versions(store, model=name)


def versions_of_run(store: Store, run_id: str) -> list[ModelVersion]:
    """The versions a run registered (for lifecycle panels and reports)."""
    return _versions(store, run_id=run_id)


def versions_of_runs(store: Store, run_ids: list[str]) -> list[ModelVersion]:
    """The versions any of these runs registered, in a few queries (lineage over many runs)."""
    return _from_rows(store, tables.version_rows_of_runs(store.db, run_ids)) if run_ids else []


def data_sources(store: Store, ref: str) -> list[dict[str, Any]]:
    """Lineage back to the data: the runs and stages that produced (or read) the training data's fingerprint."""
    mv = get_version(store, ref)
    digests = {fp["digest"] for fp in [mv.data_fingerprint, *mv.lineage] if fp}
    return store.fingerprint_uses(sorted(digests)) if digests else []


def model_names(store: Store) -> list[str]:
    return tables.model_names(store.db)


def model_summaries(store: Store) -> list[dict[str, Any]]:
    """One JSON-ready row per model (latest version, count, where each alias points): every face's list."""
    rows = []
    for name in model_names(store):
        versions = _versions(store, model=name)
        latest = versions[-1]
        rows.append({"name": name, "latest": latest.version, "versions": len(versions),
                     "aliases": {a: v.version for v in versions for a in v.aliases},
                     "updated": latest.created.isoformat(), "flavour": latest.flavour})
    return rows


# -- registration -----------------------------------------------------------------------------------
def input_schema(data: Any) -> dict[str, Any] | None:
    """Column names and dtypes of a DataFrame (or width and dtype of an array) to validate inputs against."""
    if data is None:
        return None
    kind = type(data).__name__
    if kind == "DataFrame":
        return {"kind": "dataframe",
                "columns": [{"name": str(c), "dtype": str(t)} for c, t in data.dtypes.items()]}
    if kind == "ndarray" and getattr(data, "ndim", 0) == 2:
        return {"kind": "array", "n_features": int(data.shape[1]), "dtype": str(data.dtype)}
    raise InvalidInputError(f"--input must be the training DataFrame (or a 2-D array), got a {kind}")


def _schema_from_model(model: Any) -> dict[str, Any] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return {"kind": "dataframe", "columns": [{"name": str(n), "dtype": None} for n in names]}


def register(store: Store, model: Any, name: str, *, input: Any = None, format: str = "skops",
             run_id: str | None = None, stage_id: int | None = None, description: str | None = None,
             label: str | None = None, input_name: str | None = None, labels: Any = None) -> ModelVersion:
    """Save ``model`` and record it as the next version of ``name`` (allocated atomically).

    With ``labels`` (the true values of ``input``), the model's predictions on that evaluation set are
    kept as the version's performance reference: what realized performance is compared with, and
    what estimates performance without labels later (:mod:`mlops_magic.stats.performance`).
    """

    check_model_name(name)
    label = label or "the model"
    model_io.check_model(model, label)
    performance = None
    if labels is not None:
        if input is None:
            raise InvalidInputError("--labels are the true values of --input: give both")
        from ..stats.performance import reference_from_model  # lazy: pulls numpy

        performance = reference_from_model(model, input, labels)
    saved = _model_file(store, model, format, label)
    return record_version(store, name, saved, input=input, schema=input_schema(input) or _schema_from_model(model),
                          performance=performance, run_id=run_id, stage_id=stage_id, description=description,
                          input_name=input_name)


def record_version(store: Store, name: str, saved: model_io.StoredModel, *, input: Any = None,
                   schema: dict[str, Any] | None = None, performance: tuple[str, dict[str, Any]] | None = None,
                   run_id: str | None = None, stage_id: int | None = None, description: str | None = None,
                   input_name: str | None = None, created: float | None = None) -> ModelVersion:
    """Record a model file already in the store as the next version of ``name``, with the run's metrics
    and gates, the lineage and reference profile of ``input`` and the performance reference, if given.

    Every way a version is made ends here: a fitted model (:func:`register`), a model served elsewhere
    known only by its predictions (``registry.external``), a model file imported from another registry.
    """
    check_model_name(name)
    data_fp = fingerprint(input, name=input_name or "training data", role="input") if input is not None else None
    reference = _reference_profile(input)
    metrics: dict[str, float] = result_metrics(store.latest_metrics([run_id])[run_id]) if run_id else {}
    gate_results = gates.run_gates(store, run_id) if run_id else []
    passed = None if not gate_results else all(g.passed for g in gate_results)
    lineage = [fp.to_dict() for fp in store.list_fingerprints(run_id)] if run_id else []
    now = time.time() if created is None else created

    values = {
        "flavour": saved.flavour, "format": saved.format, "model_type": saved.model_type, "digest": saved.digest,
        "size": saved.size, "trusted_types": json.dumps(saved.trusted_types),
        "input_schema": json.dumps(schema) if schema else None, "metrics": json.dumps(metrics),
        "gates": json.dumps([g.to_dict() for g in gate_results]),
        "gates_passed": None if passed is None else int(passed), "run_id": run_id, "stage_id": stage_id,
        "data_fingerprint": json.dumps(data_fp.to_dict()) if data_fp else None, "lineage": json.dumps(lineage),
        "environment": json.dumps(saved.environment), "description": description,
    }
    version = store.db.run_in_transaction(
        lambda tx: tables.insert_version(tx, name, values, created=now, data_fingerprint=data_fp))
    if reference is not None:
        store.db.run_in_transaction(lambda tx: monitoring_tables.save_profile(
            tx, name, version, reference.to_dict(), run_id, created=now))
    if performance is not None:
        kind, stored = performance
        store.db.run_in_transaction(lambda tx: monitoring_tables.save_performance_reference(
            tx, name, version, kind, stored, created=now))
    return get_version(store, f"{name}@{version}")


def _model_file(store: Store, model: Any, fmt: str, label: str) -> model_io.StoredModel:
    """The model's file in the store: the one autolog saved at the end of its stage when the model has
    not changed since (no second serialisation), else saved now."""
    stored = model_io.kept(model, fmt)
    if stored is not None and store.artifacts.exists(stored.digest):
        model_io.warn_custom_types(stored.trusted_types, label)
        return stored
    saved = model_io.dump(model, fmt, label)
    digest, size = store.artifacts.put_bytes(saved.data)
    return model_io.StoredModel(digest, size, saved.format, saved.flavour, saved.model_type, saved.trusted_types,
                                saved.environment)


def _reference_profile(data: Any) -> Any:
    """The training frame's profile, kept with the version so a monitor needs only current data."""
    if type(data).__name__ != "DataFrame":
        return None
    from ..stats.profile import profile  # lazy: pulls numpy

    return profile(data)


def load(store: Store, ref: str, *, trust: bool = False) -> Any:
    """The model a reference points at, rebuilt from its file after checking the file's checksum."""

    mv = get_version(store, ref)
    label = str(mv)
    if mv.format == model_io.NO_FILE:
        raise MlopsError(f"{label} was registered from its predictions only: it has no model file to load or "
                         "serve; monitor it with mlops.log_predictions (see docs/monitoring.md)")
    try:
        with store.artifacts.open(mv.digest) as fh:
            data = fh.read()
    except NotFoundError:
        raise MlopsError(f"the model file of {label} is missing from {store.artifacts.url}; "
                         "register the model again") from None
    if hashlib.sha256(data).hexdigest() != mv.digest:
        raise MlopsError(f"the model file of {label} is corrupt (its checksum does not match); "
                         "register the model again")
    return model_io.load(data, mv.format, mv.trusted_types, trust=trust, label=label)

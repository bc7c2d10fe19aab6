"""The model registry: numbered versions with their lineage, and loading them back safely.

A version records what is needed to trust and to serve a model: the file
(content-addressed), its flavour and format, the input schema, the metrics and
gate results of the run that made it, and the fingerprints of the data it was
trained on. Aliases, promotion and rollback live in :mod:`.registry_aliases`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..entities import _Entity, utc_from_ts
from ..errors import InvalidInputError, MlopsError, NotFoundError
from ..store import Store

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_COLUMNS = ("model, version, created, flavour, format, model_type, digest, size, trusted_types, input_schema, "
            "metrics, gates, gates_passed, run_id, stage_id, data_fingerprint, lineage, environment, description")


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
        kind = (self.model_type or "").rsplit(".", 1)[-1]
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


def _require_model(store: Store, name: str) -> None:
    if store.db.query_one("SELECT 1 FROM models WHERE name = ?", (name,)) is None:
        known = [r[0] for r in store.db.query("SELECT name FROM models ORDER BY name LIMIT 20")]
        hint = f"registered models: {', '.join(known)}" if known else "no model is registered yet"
        raise NotFoundError(f"no model {name!r}; {hint}")


def resolve_version_number(store: Store, ref: str) -> tuple[str, int]:
    """(name, version) a reference points at now: one cheap query, used by the server's poller."""
    name, selector = parse_ref(ref)
    if isinstance(selector, int):
        row = store.db.query_one("SELECT version FROM model_versions WHERE model = ? AND version = ?",
                                 (name, selector))
    elif selector is None:
        row = store.db.query_one("SELECT MAX(version) FROM model_versions WHERE model = ?", (name,))
        row = row if row and row[0] is not None else None
    else:
        row = store.db.query_one("SELECT version FROM aliases WHERE model = ? AND alias = ?", (name, selector))
    if row is None:
        _require_model(store, name)
        if isinstance(selector, int):
            raise NotFoundError(f"model {name!r} has no version {selector}; see `mlops models show {name}`")
        aliases = [r[0] for r in store.db.query("SELECT alias FROM aliases WHERE model = ?", (name,))]
        raise NotFoundError(f"model {name!r} has no alias {selector!r}; its aliases: "
                            f"{', '.join(aliases) or 'none yet (mlops models promote)'}")
    return name, int(row[0])


def get_version(store: Store, ref: str) -> ModelVersion:
    name, version = resolve_version_number(store, ref)
    return _versions(store, "WHERE model = ? AND version = ?", (name, version))[0]


def _versions(store: Store, where: str, args: tuple[Any, ...]) -> list[ModelVersion]:
    rows = store.db.query(f"SELECT {_COLUMNS} FROM model_versions {where} ORDER BY model, version", args)
    aliases: dict[tuple[str, int], list[str]] = {}
    names = sorted({r["model"] for r in rows})
    for r in store.db.query(f"SELECT model, version, alias FROM aliases WHERE model IN ({','.join('?' * len(names))}) "
                            "ORDER BY alias", names) if names else []:
        aliases.setdefault((r[0], r[1]), []).append(r[2])

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
    _require_model(store, name)
    return _versions(store, "WHERE model = ?", (name,))


def versions_of_run(store: Store, run_id: str) -> list[ModelVersion]:
    """The versions a run registered (for lifecycle panels and reports)."""
    return _versions(store, "WHERE run_id = ?", (run_id,))


def data_sources(store: Store, ref: str) -> list[dict[str, Any]]:
    """Lineage back to the data: the runs and stages that produced (or read) the training data's fingerprint."""
    mv = get_version(store, ref)
    digests = {fp["digest"] for fp in [mv.data_fingerprint, *mv.lineage] if fp}
    if not digests:
        return []
    marks = ",".join("?" * len(digests))
    rows = store.db.query(
        "SELECT f.digest, f.name, f.role, f.rows, f.run_id, s.name, s.kind, f.created FROM fingerprints f "
        f"LEFT JOIN stage_runs s ON s.id = f.stage_id WHERE f.digest IN ({marks}) ORDER BY f.created",
        sorted(digests))
    return [{"digest": r[0], "name": r[1], "role": r[2], "rows": r[3], "run_id": r[4], "stage": r[5],
             "kind": r[6], "created": utc_from_ts(r[7])} for r in rows]


def model_names(store: Store) -> list[str]:
    return [r[0] for r in store.db.query("SELECT name FROM models ORDER BY name")]


def model_summaries(store: Store) -> list[dict[str, Any]]:
    """One JSON-ready row per model (latest version, count, where each alias points): every face's list."""
    rows = []
    for name in model_names(store):
        versions = _versions(store, "WHERE model = ?", (name,))
        latest = versions[-1]
        rows.append({"name": name, "latest": latest.version, "versions": len(versions),
                     "aliases": {a: v.version for v in versions for a in v.aliases},
                     "updated": latest.created.isoformat(), "flavour": latest.flavour})
    return rows


def model_detail(store: Store, name: str) -> dict[str, Any]:
    """A model's versions (metrics, gates, aliases, source run) and its alias history, JSON-ready."""
    from .aliases import history

    return {"name": name, "versions": [v.to_dict() for v in versions_of(store, name)],
            "history": [c.to_dict() for c in history(store, name)]}


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
             label: str | None = None, input_name: str | None = None) -> ModelVersion:
    """Save ``model`` and record it as the next version of ``name`` (allocated atomically)."""
    from ..tracking.fingerprint import fingerprint
    from . import gates
    from . import model_files as model_io

    check_model_name(name)
    label = label or "the model"
    model_io.check_model(model, label)
    schema = input_schema(input) or _schema_from_model(model)
    data_fp = (fingerprint(input, name=input_name or "training data", role="input").to_dict()
               if input is not None else None)
    reference = _reference_profile(input)
    saved = model_io.dump(model, format, label)
    digest, size = store.artifacts.put_bytes(saved.data)
    metrics: dict[str, float] = store.latest_metrics([run_id])[run_id] if run_id else {}
    gate_results = gates.run_gates(store, run_id) if run_id else []
    passed = None if not gate_results else all(g.passed for g in gate_results)
    lineage = [fp.to_dict() for fp in store.list_fingerprints(run_id)] if run_id else []
    now = time.time()

    def write(tx: Any) -> int:
        tx.execute("INSERT INTO models (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, now))
        row = tx.query_one("SELECT MAX(version) FROM model_versions WHERE model = ?", (name,))
        version = int(row[0] or 0) + 1
        tx.execute(
            f"INSERT INTO model_versions ({_COLUMNS}) VALUES ({','.join('?' * 19)})",
            (name, version, now, saved.flavour, saved.format, saved.model_type, digest, size,
             json.dumps(saved.trusted_types), json.dumps(schema) if schema else None, json.dumps(metrics),
             json.dumps([g.to_dict() for g in gate_results]), None if passed is None else int(passed), run_id,
             stage_id, json.dumps(data_fp) if data_fp else None, json.dumps(lineage),
             json.dumps(saved.environment), description))
        if data_fp and run_id:  # the registering stage read this data: makes it findable by digest
            tx.execute("INSERT INTO fingerprints (run_id, stage_id, name, role, kind, digest, rows, size, schema, "
                       "created) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (run_id, stage_id, data_fp["name"], "input", data_fp["kind"], data_fp["digest"],
                        data_fp["rows"], data_fp["size"], json.dumps(data_fp["schema"]), now))
        tx.execute("INSERT INTO events (kind, subject, run_id, payload, created) VALUES (?,?,?,?,?)",
                   ("model-registered", name, run_id, json.dumps({"version": version}), now))
        return version

    version = store.db.run_in_transaction(write)
    if reference is not None:
        from ..monitoring.records import save_profile

        save_profile(store, name, version, reference, run_id)
    return get_version(store, f"{name}@{version}")


def _reference_profile(data: Any) -> Any:
    """The training frame's profile, kept with the version so a monitor needs only current data."""
    if type(data).__name__ != "DataFrame":
        return None
    try:
        from ..monitoring.profile import profile
    except ImportError:  # a build without the monitoring feature
        return None
    return profile(data)


def load(store: Store, ref: str, *, trust: bool = False) -> Any:
    """The model a reference points at, rebuilt from its file after checking the file's checksum."""
    from . import model_files as model_io

    mv = get_version(store, ref)
    label = str(mv)
    try:
        with store.artifacts.open(mv.digest) as fh:
            data = fh.read()
    except NotFoundError:
        raise MlopsError(f"the model file of {label} is missing from {store.artifacts.root}; "
                         "register the model again") from None
    if hashlib.sha256(data).hexdigest() != mv.digest:
        raise MlopsError(f"the model file of {label} is corrupt (its checksum does not match); "
                         "register the model again")
    return model_io.load(data, mv.format, mv.trusted_types, trust=trust, label=label)


# -- the Python API (twins of the magics; the session's store and run) ------------------------------
def _session() -> Any:
    from ..tracking.session import get_session

    return get_session()


def register_model(model: Any, name: str, *, input: Any = None, format: str = "skops",
                   description: str | None = None) -> ModelVersion:
    """Register ``model`` as the next version of ``name`` with the current run's metrics, gates and data."""
    session = _session()
    run_id = session.current_run_id()
    stage = session.current_stage
    return register(session.store, model, name, input=input, format=format, run_id=run_id,
                    stage_id=stage.id if stage else None, description=description)


def load_model(ref: str, *, trust: bool = False) -> Any:
    """``churn`` (latest), ``churn@3`` or ``churn@production``; pickle/joblib files need ``trust=True``."""
    return load(_session().store, ref, trust=trust)


def get_model_version(ref: str) -> ModelVersion:
    return get_version(_session().store, ref)


def promote(name: str, to: str = "production", *, version: int | None = None, if_better: str | None = None,
            higher_is_better: bool | None = None, reason: str | None = None) -> Any:
    """Move alias ``to`` to a version (default latest) if its gates passed and, with ``if_better``, it wins."""
    from . import aliases as registry_aliases

    session = _session()
    return registry_aliases.promote(session.store, name, to, version=version, if_better=if_better,
                                    higher_is_better=higher_is_better, reason=reason,
                                    run_id=session.current_run_id(create=False))


def rollback(name: str, alias: str = "production", *, reason: str | None = None) -> Any:
    """Move ``alias`` back to the version it pointed at before its latest move."""
    from . import aliases as registry_aliases

    session = _session()
    return registry_aliases.rollback(session.store, name, alias, reason=reason,
                                     run_id=session.current_run_id(create=False))


def list_models() -> Any:
    """One row per model: latest version, aliases, when it was last registered, as a DataFrame."""
    import pandas as pd

    rows = [{**row, "aliases": ", ".join(f"{a}→v{n}" for a, n in sorted(row["aliases"].items())),
             "updated": pd.Timestamp(row["updated"])} for row in model_summaries(_session().store)]
    return pd.DataFrame(rows, columns=["name", "latest", "versions", "aliases", "updated", "flavour"])


def model_versions(name: str) -> Any:
    """Every version of a model with its metrics (``metrics.*``), gates, aliases and source run."""
    import pandas as pd

    rows = []
    for v in versions_of(_session().store, name):
        row = {"version": v.version, "created": v.created, "aliases": ", ".join(v.aliases),
               "gates": {None: "", True: "passed", False: "failed"}[v.gates_passed], "format": v.format,
               "run_id": v.run_id}
        row.update({f"metrics.{k}": m for k, m in v.metrics.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def alias_history(name: str, alias: str | None = None) -> Any:
    """The audit history of a model's aliases, newest first, as a DataFrame."""
    import pandas as pd

    from .aliases import history

    return pd.DataFrame([c.to_dict() for c in history(_session().store, name, alias)])


def served_inputs(model: str, limit: int = 1000, *, with_meta: bool = False) -> Any:
    """The latest inputs the server received for ``model``: a monitor stage's current data."""
    from ..serving.inputs import served_frame

    return served_frame(_session().store, model, limit, with_meta=with_meta)

"""Registered MLflow models brought in: versions (scikit-learn ones as skops files) and their aliases.

Loading a model must never run code nobody chose to trust, so a scikit-learn version comes in as:

* MLflow's skops file (MLflow 3's default) as it is, when every type it asks skops to build comes
  from scikit-learn, numpy or scipy; one with classes from elsewhere waits for ``--trust``;
* a pickle (``cloudpickle``/``pickle``, MLflow 2's default) only with ``--trust``: MLflow loads it,
  and it is saved again as skops, so every later load is safe.

A version left out is not linked, so importing again (with ``--trust``) brings it in then. Other
flavours (XGBoost's own format, a custom pyfunc, …) are kept as files of their run, one note each.
Aliases follow MLflow's: importing again moves an alias that moved there since.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, MlopsError
from ..registry import model_files as model_io
from ..registry.versions import check_alias, check_model_name, record_version
from ..store import Store
from ..store import interop as tables
from ..store import registry as registry_tables
from .mlflow_read import MlflowStore, MlflowVersion, require_mlflow

if TYPE_CHECKING:
    from .mlflow_import import ImportSummary, Progress

SYSTEM = "mlflow"
#: MLflow column types as the dtypes an input schema checks requests against.
DTYPES = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "boolean": "bool",
          "string": "object", "datetime": "datetime64[ns]", "binary": "object"}


def import_models(store: Store, source: MlflowStore, summary: ImportSummary, *, trust: bool,
                  progress: Progress | None = None) -> None:
    """Every registered model's versions not imported yet, then every alias (see the module's docstring)."""
    registered = source.registered_models()
    for done, (name, aliases, _) in enumerate(registered):
        local_name = _local_name(name, summary.notes)
        if local_name is not None:
            numbers = _import_versions(store, source, name, local_name, trust, summary)
            summary.aliases += _sync_aliases(store, name, local_name, aliases, numbers, summary.notes)
        if progress:
            progress("models", done + 1, len(registered))


def _local_name(name: str, notes: list[str]) -> str | None:
    """MLflow allows names ours does not (spaces, slashes): those become dashes, once, with a note."""
    try:
        return check_model_name(name)
    except InvalidInputError:
        pass
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in name).strip("-._")[:128]
    try:
        check_model_name(cleaned)
    except InvalidInputError:
        notes.append(f"model {name!r}: no model name can be made of it here; left out")
        return None
    notes.append(f"model {name!r} is named {cleaned!r} here (letters, digits, '_', '.', '-' only)")
    return cleaned


def _key(v: MlflowVersion) -> str:
    """What identifies an MLflow version whichever URL its store is reached through."""
    return f"{v.name}/{v.version}/{v.source}"


def _import_versions(store: Store, source: MlflowStore, name: str, local_name: str, trust: bool,
                     summary: ImportSummary) -> dict[int, int]:
    """MLflow version → our version, for every version of ``name`` that is (now) here."""
    versions = source.versions(name)
    known = tables.linked(store.db, SYSTEM, "model_version", [_key(v) for v in versions])
    runs = tables.linked(store.db, SYSTEM, "run", [v.run_id for v in versions if v.run_id])
    numbers: dict[int, int] = {}
    for v in versions:
        if _key(v) in known:
            if "@" in known[_key(v)]:
                numbers[v.version] = int(known[_key(v)].rpartition("@")[2])
            continue
        label = f"model {name!r} version {v.version}"
        if v.status != "READY":
            summary.notes.append(f"{label} is {v.status.lower()} in MLflow; left out")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            folder = source.download_version(v, Path(tmp))
            local = _import_version(store, local_name, v, folder, runs.get(v.run_id or ""), trust, label,
                                    summary)
        if local is not None:
            _link(store, _key(v), local, source.display)
            if "@" in local:
                numbers[v.version] = int(local.rpartition("@")[2])
                summary.versions += 1
    return numbers


def _link(store: Store, key: str, local: str, source: str) -> None:
    store.db.run_in_transaction(lambda tx: tables.link(tx, SYSTEM, "model_version", [(key, local)], source))


def _import_version(store: Store, name: str, v: MlflowVersion, folder: Path, run_id: str | None, trust: bool,
                    label: str, summary: ImportSummary) -> str | None:
    """``NAME@N`` of the version made here; ``files:RUN`` when kept as files; None when left for later."""
    import yaml

    spec = yaml.safe_load((folder / "MLmodel").read_text()) if (folder / "MLmodel").is_file() else {}
    flavours = dict(spec.get("flavors") or {})
    if "sklearn" not in flavours:
        return _keep_files(store, name, v, folder, run_id, flavours, label, summary)
    sk = flavours["sklearn"] or {}
    stored = _sklearn_file(store, folder, sk, trust, label, summary.notes)
    if stored is None:
        return None
    stored = model_io.StoredModel(stored.digest, stored.size, stored.format, stored.flavour, stored.model_type,
                                  stored.trusted_types, _environment(folder, spec, sk))
    mv = record_version(store, name, stored, schema=schema_from_signature(spec.get("signature")), run_id=run_id,
                        description=v.description, created=v.created or time.time())
    return mv.ref


def _sklearn_file(store: Store, folder: Path, sk: dict[str, Any], trust: bool, label: str,
                  notes: list[str]) -> model_io.StoredModel | None:
    """The version's model as a skops file in our store, or None (with a note) when it must wait for trust."""
    path = folder / str(sk.get("pickled_model") or "model.pkl")
    fmt = str(sk.get("serialization_format") or "cloudpickle")
    if fmt == "skops":
        import skops.io as sio

        data = path.read_bytes()
        try:
            asked = sorted(sio.get_untrusted_types(data=data))
        except Exception as exc:
            notes.append(f"{label}: its skops file cannot be read ({type(exc).__name__}); left out")
            return None
        custom = model_io.custom_types(asked)
        if custom and not trust:
            notes.append(f"{label} asks skops to build classes from outside scikit-learn ({', '.join(custom[:3])}):"
                         " left out; import again with --trust to accept them")
            return None
        model = model_io.load(data, "skops", asked, label=label)  # it must load before it is a version
        digest, size = store.artifacts.put_bytes(data)
        return model_io.StoredModel(digest, size, "skops", "sklearn", model_io.model_type(model), asked, {})
    if not trust:
        notes.append(f"{label} is a {fmt} file, and unpickling it can run any code: left out; import again with "
                     "--trust to load it and keep it as skops")
        return None
    try:
        model = require_mlflow().sklearn.load_model(str(folder))
        saved = model_io.dump(model, "skops", label)
    except MlopsError as exc:
        notes.append(f"{label}: {exc}; left out")
        return None
    except Exception as exc:  # a pickle that does not load here (a missing package, another version)
        notes.append(f"{label}: MLflow could not load it here ({type(exc).__name__}: {str(exc)[:120]}); left out")
        return None
    digest, size = store.artifacts.put_bytes(saved.data)
    return model_io.StoredModel(digest, size, saved.format, saved.flavour, saved.model_type, saved.trusted_types, {})


def _keep_files(store: Store, name: str, v: MlflowVersion, folder: Path, run_id: str | None,
                flavours: dict[str, Any], label: str, summary: ImportSummary) -> str | None:
    kind = next((f for f in flavours if f != "python_function"), "python_function")
    if run_id is None:
        summary.notes.append(f"{label} ({kind} flavour) has no imported run to keep its files with; left out")
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        store.log_artifact(run_id, path,
                           name=f"mlflow-models/{name}/v{v.version}/{path.relative_to(folder).as_posix()}")
    summary.artifacts += len(files)
    summary.notes.append(f"{label} is a {kind} model: kept as files of run {run_id[:8]} "
                         f"(mlflow-models/{name}/v{v.version}/), not as a version (only scikit-learn models are)")
    return f"files:{run_id}"


def _sync_aliases(store: Store, name: str, local_name: str, aliases: dict[str, int], numbers: dict[int, int],
                  notes: list[str]) -> int:
    """Point each alias at the version MLflow's points at; how many moved."""
    moved = 0
    for alias, version in sorted(aliases.items()):
        if version not in numbers:
            notes.append(f"model {name!r} alias {alias!r} points at version {version}, which is not here; left out")
            continue
        try:
            check_alias(alias)
        except InvalidInputError as exc:
            notes.append(f"model {name!r}: {exc}; left out")
            continue
        moved += int(_point_alias(store, local_name, alias, numbers[version], version))
    return moved


def _point_alias(store: Store, name: str, alias: str, target: int, mlflow_version: int) -> bool:
    """Move ``alias`` to ``target`` unless it is there (an audited move, action ``import``); whether it moved."""

    def move(tx: Any) -> bool:
        old = registry_tables.alias_version(tx, name, alias)
        if old == target:
            return False
        registry_tables.record_alias_change(tx, name, alias, "import", old, target, moved=True, run_id=None,
                                            reason=f"imported from MLflow (version {mlflow_version})",
                                            comparison=None, created=time.time())
        return True

    moved: bool = store.db.run_in_transaction(move)
    return moved


def schema_from_signature(signature: dict[str, Any] | None) -> dict[str, Any] | None:
    """An MLflow signature's inputs as our input schema: named columns with dtypes, or a tensor's width."""
    try:
        inputs = json.loads((signature or {}).get("inputs") or "null")
    except ValueError:
        return None
    if not isinstance(inputs, list) or not inputs:
        return None
    if all(isinstance(c, dict) and c.get("name") for c in inputs):
        return {"kind": "dataframe", "columns": [{"name": str(c["name"]), "dtype": DTYPES.get(str(c.get("type")))}
                                                 for c in inputs]}
    spec = (inputs[0].get("tensor-spec") if isinstance(inputs[0], dict) else None) or {}
    shape = spec.get("shape") or []
    if len(inputs) == 1 and len(shape) == 2 and isinstance(shape[1], int) and shape[1] > 0:
        return {"kind": "array", "n_features": shape[1], "dtype": str(spec.get("dtype") or "float64")}
    return None


def _environment(folder: Path, spec: dict[str, Any], sk: dict[str, Any]) -> dict[str, str]:
    """Python and the pinned packages MLflow recorded with the model (requirements.txt), for packaging."""
    env = {"python": str((spec.get("flavors", {}).get("python_function") or {}).get("python_version") or "")}
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        for line in requirements.read_text().splitlines():
            package, sep, version = line.strip().partition("==")
            if sep and package and not package.startswith(("-", "#", "mlflow")):
                env[package.strip().lower()] = version.strip()
    if sk.get("sklearn_version"):
        env["scikit-learn"] = str(sk["sklearn_version"])
    return {k: v for k, v in env.items() if v}

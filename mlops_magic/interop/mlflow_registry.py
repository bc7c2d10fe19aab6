"""Model versions written to an MLflow model registry: MLflow scikit-learn models, registered, with aliases.

Each version is saved by ``mlflow.sklearn.save_model`` (MLflow's own format, so ``mlflow.sklearn.load_model``
and MLflow's serving read it; skops where MLflow supports it, with the version's trusted types), with a
signature from the input schema and requirements pinned as a package pins them, logged as artifacts of
the run that made it, and registered with a ``mlops.version`` tag that a later export reads to skip it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..registry.versions import ModelVersion
from .mlflow_read import MlflowStore, require_mlflow

#: dtypes of an input schema as MLflow column types.
MLFLOW_TYPES = {"float64": "double", "float32": "float", "int64": "long", "int32": "integer", "int16": "integer",
                "int8": "integer", "bool": "boolean", "object": "string", "string": "string", "str": "string",
                "category": "string"}


@dataclass
class Pushed:
    """A registered model in the target: which of our versions it holds (by their ``mlops.version`` tag)."""

    target: MlflowStore
    name: str
    by_ref: dict[str, int]
    by_key: dict[str, int]  # MLflow's own versions by the key an import links them with (name/version/source)

    @classmethod
    def read(cls, target: MlflowStore, name: str) -> Pushed:
        with target.errors(f"opening registered model {name!r}"):
            if not target.client.search_registered_models(filter_string=f"name='{name}'"):
                target.client.create_registered_model(name, tags={"mlops.model": name})
        versions = target.versions(name)
        found = {v.tags["mlops.version"]: v.version for v in versions if "mlops.version" in v.tags}
        return cls(target, name, found, {f"{v.name}/{v.version}/{v.source}": v.version for v in versions})

    def point_aliases(self, wanted: dict[str, int]) -> int:
        """Point each alias at its MLflow version; how many moved."""
        with self.target.errors(f"setting the aliases of {self.name!r}"):
            current = dict(self.target.client.get_registered_model(self.name).aliases or {})
            moved = [alias for alias, version in wanted.items() if str(current.get(alias)) != str(version)]
            for alias in moved:
                self.target.client.set_registered_model_alias(self.name, alias, str(wanted[alias]))
        return len(moved)


def push_version(target: MlflowStore, mv: ModelVersion, model: Any, run_id: str, requirements: list[str]) -> int:
    """Save ``model`` as an MLflow scikit-learn model in run ``run_id`` and register it; its MLflow version."""
    mlflow = require_mlflow()
    options: dict[str, Any] = {}
    if mv.format == "skops" and hasattr(mlflow.sklearn, "SERIALIZATION_FORMAT_SKOPS"):
        options = {"serialization_format": mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                   "skops_trusted_types": list(mv.trusted_types) or None}
    artifact_path = f"model-{mv.name}-v{mv.version}"
    with tempfile.TemporaryDirectory() as tmp, target.errors(f"exporting {mv}"):
        folder = Path(tmp) / "model"
        mlflow.sklearn.save_model(model, str(folder), pip_requirements=requirements,
                                  signature=signature(mv.input_schema), **options)
        target.client.log_artifacts(run_id, str(folder), artifact_path)
        created = target.client.create_model_version(mv.name, source=f"runs:/{run_id}/{artifact_path}", run_id=run_id,
                                                     tags={"mlops.version": mv.ref}, description=mv.description)
    return int(created.version)


def signature(schema: dict[str, Any] | None) -> Any:
    """An MLflow ModelSignature of a dataframe input schema whose every column has a known dtype, else None."""
    columns = (schema or {}).get("columns") or []
    types = [_mlflow_type(str(c.get("dtype"))) for c in columns]
    if not columns or None in types:
        return None
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec(str(t), c["name"]) for t, c in zip(types, columns)]))


def _mlflow_type(dtype: str) -> str | None:
    return MLFLOW_TYPES.get(dtype) or ("datetime" if dtype.startswith("datetime") else None)

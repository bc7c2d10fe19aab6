"""openapi.yaml is the one source of truth between Python and the lab: the real server's answers must
validate against its response schemas (required fields, types, nullability).

`jlpm test` checks the other half: that `src/openapi.d.ts`, from which the lab's types come, is
generated from this same file. Together a field renamed in Python fails here, and a field the lab
reads that Python never sends fails here too, since the schemas list what is required.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from server_support import API, jp_server_config  # noqa: F401 - the fixture, by name

from mlops_magic.store import cache as cache_tables
from mlops_magic.store import clear_cache, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]
SPEC = yaml.safe_load((Path(__file__).parents[1] / "labextension" / "openapi.yaml").read_text())


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: `nullable: true` becomes a union with null; refs point into SPEC."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if "$ref" in out:
        out["$ref"] = "#/components/schemas/" + out["$ref"].rsplit("/", 1)[1]
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


COMPONENTS = {"components": {"schemas": _json_schema(SPEC["components"]["schemas"])}}


def response_schema(path: str, method: str, status: int = 200) -> dict[str, Any]:
    operation = SPEC["paths"][path][method]
    response = operation["responses"][str(status)]
    if "$ref" in response:  # a shared response (BadRequest, NotFound, ...)
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return {**_json_schema(response["content"]["application/json"]["schema"]), **COMPONENTS}


def check(path: str, method: str, body: Any, status: int = 200) -> None:
    jsonschema.validate(body, response_schema(path, method, status))


@pytest.fixture
def project(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A store with what every schema describes: stages (one failed), metrics, an artifact, a fingerprint,
    a registered model with an alias, and a schedule."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mlops_magic.registry.aliases import promote
    from mlops_magic.registry.versions import register
    from mlops_magic.scheduling import add_schedule
    from mlops_magic.tracking.fingerprint import fingerprint

    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    nb = jp_root_dir / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "source": "%%mlops stage data\nx = 1", "outputs": [],
         "execution_count": None},
        {"cell_type": "code", "id": "b", "metadata": {}, "source": "%%mlops stage trian\ny = 1", "outputs": [],
         "execution_count": None}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    store = open_store(str(jp_root_dir))
    run = store.create_run(notebook="nb.ipynb", trigger="manual", params={"lr": 0.1, "name": "gbm"})
    data = store.start_stage(run.id, "data")
    store.log_fingerprint(run.id, fingerprint(pd.DataFrame({"a": [1, 2, 3]}), name="df", role="output"),
                          stage_id=data.id)
    store.finish_stage(data.id, "succeeded")
    restore = {"stage_id": data.id, "run_id": run.id, "key": "0" * 64, "source_run_id": run.id,
               "source_stage_id": data.id, "source_seconds": 2.0, "restore_seconds": 0.1, "restored": ["df"],
               "created": 0.0}  # as the stage cache records a restored stage (cached_from in the stage JSON)
    store.db.run_in_transaction(lambda tx: cache_tables.record_restore(tx, restore))
    train = store.start_stage(run.id, "train")
    store.finish_stage(train.id, "failed", error_type="ValueError", error_message="boom")
    store.log_metrics(run.id, [("acc", 0.5 + 0.1 * s, s) for s in range(3)])
    store.log_artifact_bytes(run.id, "model.txt", b"weights")
    store.finish_run(run.id, "failed")
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 10, "b": [1.0, 0.0, 1.0, 0.0] * 10})
    y = pd.Series([0, 1, 0, 1] * 10)
    register(store, LogisticRegression().fit(X, y), "m", input=X, run_id=run.id, labels=y)
    promote(store, "m", "production")
    good = jp_root_dir / "good.ipynb"
    good.write_text(json.dumps({**json.loads(nb.read_text()), "cells": json.loads(nb.read_text())["cells"][:1]}))
    add_schedule(store, good, cron="0 3 * * *")  # a schedule refuses the typo notebook, rightly
    yield {"run": run.id}
    clear_cache()


async def test_every_answer_matches_openapi_yaml(jp_fetch: Any, project: Any) -> None:
    async def get(part: str, **params: str) -> Any:
        return json.loads((await jp_fetch(API, part, params=params)).body)

    async def post(part: str, body: Any, **params: str) -> Any:
        return json.loads((await jp_fetch(API, part, method="POST", body=json.dumps(body), params=params)).body)

    run = project["run"]
    check("/info", "get", await get("info", at="nb.ipynb"))
    check("/runs", "get", await get("runs", at="nb.ipynb", notebook="nb.ipynb"))
    check("/runs-table", "get", await get("runs-table", at="nb.ipynb"))
    check("/runs/{run}", "get", await get(f"runs/{run}"))
    check("/runs/{run}/stages", "get", await get(f"runs/{run}/stages"))
    check("/runs/{run}/metrics/{key}", "get", await get(f"runs/{run}/metrics/acc"))
    lifecycle = await get("lifecycle", path="nb.ipynb")
    assert lifecycle["invalid_cells"]  # the typo cell is in the answer the schema checks
    check("/lifecycle", "get", lifecycle)
    check("/lifecycle", "post", await post("lifecycle", {"path": "nb.ipynb", "cells": [
        {"cell_type": "code", "source": "%%mlops stage data\nx = 1", "id": "a", "tags": []}]}))
    check("/models", "get", await get("models"))
    check("/models/{model}", "get", await get("models/m"))
    schedules = await get("schedules")
    assert schedules["schedules"]
    check("/schedules", "get", schedules)
    check("/diff", "get", await get("diff", a=run, b=run))
    check("/notebooks/rename", "post", await post("notebooks/rename", {"from": "gone.ipynb", "to": "nb.ipynb"}))
    # and an error body
    with pytest.raises(Exception) as info:
        await get("runs/nope")
    check("/runs/{run}", "get", json.loads(info.value.response.body), status=404)  # type: ignore[attr-defined]


def test_the_converter_rejects_what_the_schema_forbids() -> None:
    """The check can fail: a missing required field and a null where none is allowed are refused."""
    schema = response_schema("/info", "get")
    good = {"version": "1", "api": "v1", "store": None, "project": None, "hint": "h",
            "enums": {"run_status": [], "stage_status": [], "stage_kinds": [], "triggers": []}}
    jsonschema.validate(good, schema)
    for bad in ({k: v for k, v in good.items() if k != "enums"}, {**good, "version": None}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)

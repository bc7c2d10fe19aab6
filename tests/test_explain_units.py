"""The explain core on runs recorded straight into a store (no kernel): cell outputs, schemas, cards."""

from __future__ import annotations

import json
from typing import Any

from mlops_magic.entities import Fingerprint
from mlops_magic.explain.card import parse_problem
from mlops_magic.explain.diff import describe_data_change, describe_schema_change, diff_runs
from mlops_magic.explain.notebooks import StageCell


def kept(cells: list[dict[str, Any]]) -> bytes:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def cell(source: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": outputs, "execution_count": 1}


def recorded_run(store: Any, image: str, text: str, schema: dict[str, str]) -> str:
    run = store.create_run(notebook="nb.ipynb", environment={"python": "3.11", "packages": {"numpy": "2.0"}})
    st = store.start_stage(run.id, "evaluate", code_digest="same")
    store.log_fingerprint(run.id, Fingerprint(digest="d" + image, kind="dataframe", rows=10, schema=schema,
                                              name="scores", role="output"), stage_id=st.id)
    store.finish_stage(st.id, "succeeded")
    store.log_artifact_bytes(run.id, "executed.ipynb", kept([cell("%%mlops stage evaluate\nplot()", [
        {"output_type": "stream", "name": "stdout", "text": [text]},
        {"output_type": "display_data", "data": {"image/png": image, "text/plain": "<Figure>"}, "metadata": {}},
    ])]))
    store.finish_run(run.id, "succeeded")
    return run.id


def test_text_outputs_are_diffed_and_images_marked_changed(store: Any) -> None:
    a = recorded_run(store, "iVBORa", "auc 0.91\n", {"score": "float64"})
    b = recorded_run(store, "iVBORb", "auc 0.93\n", {"score": "float32", "rank": "int64"})
    d = diff_runs(store, a, b)
    [ev] = d.stages
    assert ev.code_changed is False and ev.inputs_changed == []
    assert ev.cell_output_changes == ["text output changed", "image changed"]
    assert "-auc 0.91" in ev.output_diff and "+auc 0.93" in ev.output_diff
    assert ev.outputs_changed == ["scores"]
    assert ev.output_changes == ["output `scores` changed: 10 rows, same count, columns added: rank; "
                                 "types changed: score float64 → float32"]
    assert d.headline == "nothing changed in code, parameters, data or environment"
    assert "<Figure>" not in d._repr_html_() and "&lt;Figure&gt;" not in d._repr_html_()


def test_schema_and_file_changes_in_words() -> None:
    assert describe_schema_change({"a": "int64"}, {"a": "int64"}) == "same columns"
    assert describe_schema_change({"a": "int64", "b": "str"}, {"a": "float64"}) == \
        "columns removed: b; types changed: a int64 → float64"
    x = Fingerprint(digest="1", kind="files", rows=101, size=10, schema={"files": "1", "path": "d/*.csv"})
    y = Fingerprint(digest="2", kind="files", rows=101, size=10, schema={"files": "1", "path": "d/*.csv"})
    assert describe_data_change(x, y) == "101 rows, same count, 1 file, different values"


def test_problem_text_fills_the_card_fields() -> None:
    problem = StageCell("problem", "problem", 3, "# Rank leads for sales.\n# Owner: a-team\n"
                        "# Success metric: precision@10 >= 0.3\nx = 1", markdown=[
                            "# Scope\nB2C leads only.\n## Limitations\n- not for B2B\n- English only"],
                        outputs=[{"output_type": "stream", "name": "stdout", "text": "Limitation: no cold starts\n"}])
    found = parse_problem(problem)
    assert found.owner == ["a-team"] and found.success_metric == ["precision@10 >= 0.3"]
    assert found.intended_use == ["B2C leads only.", "Rank leads for sales."]
    assert found.limitations == ["not for B2B", "English only", "no cold starts"]


def test_lineage_reaches_the_server_that_served_a_version(store: Any) -> None:
    from mlops_magic.explain.lineage import lineage
    from mlops_magic.store import monitoring as mon
    from mlops_magic.store import registry as reg

    run = store.create_run(notebook="train.ipynb", status="succeeded")
    frame = Fingerprint(digest="f" * 32, kind="dataframe", rows=5, schema={"a": "int64"}, name="X", role="input")

    def write(tx: Any) -> int:
        version = reg.insert_version(tx, "m", {
            "flavour": "sklearn", "format": "skops", "digest": "0" * 64, "size": 1, "metrics": "{}", "gates": "[]",
            "run_id": run.id, "data_fingerprint": json.dumps(frame.to_dict()), "lineage": "[]"}, created=1.0,
            data_fingerprint=frame)
        mon.append_served(tx, "m", version, [{"a": 1}, {"a": 2}], keep=100, received=2.0)
        return version

    store.db.run_in_transaction(write)
    graph = lineage(store, "m@1")
    assert {"from": "version:m@1", "to": "monitor:served:m@1", "label": "served"} in graph.to_dict()["edges"]
    assert graph.nodes["monitor:served:m@1"].detail.startswith("2 sampled inputs")
    assert {"from": f"run:{run.id}", "to": "version:m@1", "label": "registered"} in graph.to_dict()["edges"]
    assert graph.dot().count("->") == len(graph.edges)

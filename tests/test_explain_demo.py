"""The issue's acceptance on the demo: diff says the data changed, reproduce says reproduced, lineage
draws data → runs → versions → monitor runs, and the card reads like one."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner


@pytest.mark.slow
def test_explain_the_demo(demo_project, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_magic.cli.main import main
    from mlops_magic.store import clear_cache, open_store

    target, output = demo_project
    monkeypatch.chdir(target)
    clear_cache()
    store = open_store()
    [first, retrain] = sorted((r for r in store.list_runs() if r.notebook == "churn.ipynb"), key=lambda r: r.started)
    lifecycle = next(r for r in store.list_runs() if r.notebook == "lifecycle.ipynb")
    assert f"mlops diff {first.id[:8]} {retrain.id[:8]}" in output

    def cli(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    diff = json.loads(cli("diff", first.id, retrain.id, "--format", "json").output)
    assert diff["headline"].startswith("only the data changed; roc_auc +")  # the gated metric leads
    assert diff["causes"] == ["the data"]
    data = next(s for s in diff["stages"] if s["kind"] == "data")
    assert data["inputs_changed"] == ["labelled_data"]
    assert data["input_changes"][0].startswith("input `data/labelled/*.csv` changed: 10,001 → 30,003 rows, 1 → 3 files")

    again = cli("reproduce", lifecycle.id)
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1].startswith("reproduced: ")
    refused = CliRunner().invoke(main, ["reproduce", first.id])
    assert refused.exit_code == 1 and "input `data/labelled/*.csv` changed" in refused.output

    graph = json.loads(cli("lineage", "churn@production", "--format", "json").output)
    kinds = {n["kind"] for n in graph["nodes"]}
    assert kinds == {"data", "run", "version", "monitor"}
    labels = {e["label"] for e in graph["edges"]}
    assert {"read by (data)", "registered", "checked: no drift", "triggered (performance)"} <= labels
    assert any(label.startswith("checked: drift") for label in labels)

    assert "<svg" in (target / "site" / "models" / "churn-lineage.html").read_text()
    assert (target / "site" / "models" / "churn-card.md").read_text().startswith("# Model card: churn v2")
    card = cli("models", "card", "churn@production").output
    assert card.startswith("# Model card: churn v2 (production)")
    for words in ("retention-analytics", "ROC AUC >= 0.80", "`data/labelled/*.csv`", "gate `roc_auc >= 0.80 and",
                  "churn@production: v1 → v2 (promote)", "monthly_charges, contract, support_calls",
                  "not validated for business accounts"):
        assert words in card, words

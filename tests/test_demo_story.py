"""The README's first command: the continuous-training story, end to end, on real kernels."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import python_env
from click.testing import CliRunner


@pytest.mark.slow
def test_demo_trains_monitors_detects_drift_and_retrains(tmp_path: Path, monkeypatch) -> None:
    from mlops_magic.cli.main import main
    from mlops_magic.store import clear_cache, open_store

    for key, value in python_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    target = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"report: {target / 'site' / 'index.html'}" in result.output
    assert (target / "site" / "index.html").exists()

    store = open_store(str(target))
    runs = {(Path(r.notebook).name, r.trigger, r.status) for r in store.list_runs()}
    assert ("churn.ipynb", "manual", "succeeded") in runs
    assert ("monitor.ipynb", "data-change", "succeeded") in runs
    assert ("churn.ipynb", "drift", "succeeded") in runs
    [event] = store.list_events("drift")
    assert event["subject"] == "churn"
    assert set(event["payload"]["columns"]) == {"monthly_charges", "contract", "support_calls"}
    from mlops_magic.registry.versions import get_version

    assert get_version(store, "churn@production").version == 2
    retrain = next(r for r in store.list_runs() if r.trigger == "drift")
    assert [s.kind for s in store.list_stages(retrain.id)] == ["problem", "data", "train", "evaluate", "deploy"]
    assert (target / "site" / "runs" / f"{retrain.id}.html").exists()

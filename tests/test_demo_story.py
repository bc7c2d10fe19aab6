"""The README's first command: the continuous-training story, end to end, on real kernels."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_trains_monitors_detects_drift_and_retrains(demo_project) -> None:
    from mlops_magic.store import open_store

    target, output = demo_project
    assert f"report: {target / 'site' / 'index.html'}" in output
    assert (target / "site" / "index.html").exists()

    store = open_store(str(target))
    runs = [(Path(r.notebook).name, r.trigger, r.status) for r in reversed(store.list_runs())
            if r.trigger != "reproduce"]  # the explain test may have reproduced a run of this demo
    assert runs == [("lifecycle.ipynb", "manual", "succeeded"), ("churn.ipynb", "manual", "succeeded"),
                    ("monitor.ipynb", "data-change", "succeeded"), ("monitor.ipynb", "data-change", "succeeded"),
                    ("monitor.ipynb", "data-change", "succeeded"), ("churn.ipynb", "performance", "succeeded")]
    # month 1: harmless drift; the estimate holds and nothing retrains
    month1, month2 = store.list_events("drift")
    assert set(month1["payload"]["columns"]) == {"monthly_charges", "contract", "support_calls"}
    from mlops_magic.monitoring.performance import performance_history

    checks = performance_history(store, "churn")
    assert [c.verdict for c in checks] == ["ok", "ok", "drop"]
    assert all(c.latest.source == "estimated" for c in checks)
    # month 2: the estimate drops, one performance-drop event, one retrain, and the challenger wins
    [drop] = store.list_events("performance-drop")
    assert drop["payload"]["version"] == 1 and drop["id"] > month2["id"]
    from mlops_magic.registry.versions import get_version

    assert get_version(store, "churn@production").version == 2
    retrain = next(r for r in store.list_runs() if r.trigger == "performance")
    assert retrain.parent_run_id == drop["run_id"]  # the monitor run whose check dropped
    assert [s.kind for s in store.list_stages(retrain.id)] == ["problem", "data", "train", "evaluate", "deploy"]
    assert (target / "site" / "runs" / f"{retrain.id}.html").exists()
    assert "auc realized" in output and "estimated" in output
    # the month-2 drop and the promotion that followed reached the webhook receiver the demo started
    alerts = [line.strip() for line in output.splitlines() if "alert received:" in line]
    assert len(alerts) == 2, output
    assert alerts[0].startswith("alert received: [error] Performance of churn v1 dropped: estimated auc ")
    assert " is below the bar " in alerts[0]
    assert alerts[1].startswith("alert received: [info] churn v2 promoted to production: churn@production: "
                                "v1 → v2 by ")


def test_show_on_a_demo_run_has_its_system_line(demo_project, ip, monkeypatch) -> None:
    """``%mlops show`` of the headless retrain: what it cost the machine, sampled by the runner."""
    from IPython.utils.capture import capture_output

    from mlops_magic.store import clear_cache, open_existing_store

    target, _ = demo_project
    clear_cache()
    store = open_existing_store(str(target))
    retrain = next(r for r in store.list_runs() if r.trigger == "performance")
    monkeypatch.setenv("MLOPS_STORE", str(target))
    with capture_output() as shown:
        view = ip.run_line_magic("mlops", f"show {retrain.id}")
    displayed = "".join(o.data.get("text/plain", "") for o in shown.outputs)
    text = repr(view) if view is not None else shown.stdout + displayed
    assert f"Run {retrain.id}" in text and "\n  system: cpu " in text and "rss peak " in text, text
    clear_cache()


def test_the_drop_that_led_to_the_retrain_is_history_once_production_moved(demo_project) -> None:
    """The demo's estimated drop was found on v1; v2 is production now, so the health line is not a warning."""
    from mlops_magic.monitoring.health import model_health
    from mlops_magic.store import clear_cache, open_existing_store

    target, _ = demo_project
    clear_cache()
    perf = model_health(open_existing_store(start=target), "churn")["performance"]
    assert perf["version"] == 1 and perf["verdict"] == "drop" and perf["current"] is False
    clear_cache()

"""Monitoring in the store: %mlops drift records reports, emits drift events, keeps history; the CLI twin."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from IPython.core.error import UsageError

import mlops_magic as mlops
from mlops_magic.cli.main import main
from mlops_magic.demo.data import churn_frame
from mlops_magic.tracking.session import get_session


def frames():
    ref = churn_frame(2000, month=0).drop(columns=["customer_id", "churned"])
    cur = churn_frame(2000, month=1).drop(columns=["customer_id", "churned"])
    return ref, cur


def test_drift_magic_records_report_with_stage_and_emits_event(ip) -> None:
    ref, cur = frames()
    ip.user_ns.update(ref=ref, cur=cur)
    result = ip.run_cell("%%mlops stage monitor\nreport = %mlops drift cur --reference ref --model churn\nreport")
    assert result.success, result.error_in_exec
    report = ip.user_ns["report"]
    assert report.drifted and {"monthly_charges", "support_calls"} <= set(report.drifted_columns)
    store = get_session().store
    stage = store.list_stages(get_session().recording_run_id())[0]
    row = store.db.query_one("SELECT stage_id, model, drifted FROM drift_reports")
    assert tuple(row) == (stage.id, "churn", 1)
    [event] = store.list_events("drift")
    assert event["subject"] == "churn" and "monthly_charges" in event["payload"]["columns"]
    history = ip.run_line_magic("mlops", "drift --history churn")
    assert len(history.frame) == 1 and "drift share" in history._repr_html_()


def test_unchanged_data_records_no_event(ip) -> None:
    ref, _ = frames()
    ip.user_ns.update(ref=ref, same=churn_frame(2000, month=0, seed=5).drop(columns=["customer_id", "churned"]))
    report = ip.run_line_magic("mlops", "drift same --reference ref --model churn")
    assert not report.drifted
    assert get_session().store.list_events("drift") == []


def test_tiny_samples_say_insufficient_data_and_fire_no_event(ip, store_dir) -> None:
    ref, cur = frames()
    ip.user_ns.update(one_ref=ref.head(1)[["age", "monthly_charges"]], one_cur=cur.tail(1)[["age", "monthly_charges"]])
    report = ip.run_line_magic("mlops", "drift one_cur --reference one_ref --model churn")
    assert report.status == "insufficient data" and report.insufficient_data and not report.drifted
    assert report.verdict.startswith("Insufficient data: 1 reference and 1 current rows")
    assert "No drift" not in repr(report) and "insufficient data: 1 reference and 1 current values" in repr(report)
    assert "Insufficient data" in report._repr_markdown_() and "#5f6368" in report._repr_html_()
    assert report.to_dict()["status"] == "insufficient data"
    assert get_session().store.list_events("drift") == []
    ref.head(10).to_csv(store_dir / "ref.csv", index=False)
    cur.head(10).to_csv(store_dir / "cur.csv", index=False)
    result = CliRunner().invoke(main, ["drift", "ref.csv", "cur.csv", "--fail-on-drift"])
    assert result.exit_code == 0 and result.output.startswith("Insufficient data: 10 reference and 10 current")
    enough = mlops.drift(ref.head(40), cur.head(40), columns=["age"])
    assert enough.status in ("drift", "no drift") and enough["age"].test == "ks"


def test_python_twin_and_bad_input(ip, store_dir) -> None:
    ref, cur = frames()
    report = mlops.drift(ref, cur, columns=["monthly_charges", "age"], tests={"age": "psi"})
    assert report["age"].test == "psi" and report["monthly_charges"].drifted
    with pytest.raises(UsageError, match="neither a variable nor a file"):
        ip.run_line_magic("mlops", "drift cur --reference missing_frame")
    with pytest.raises(UsageError, match="no model"):
        ip.user_ns["cur"] = cur
        ip.run_line_magic("mlops", "drift cur --reference model:nosuch@production")
    with pytest.raises(UsageError, match="no drift checks recorded"):
        ip.run_line_magic("mlops", "drift --history nosuch")


def test_cli_drift_between_files(store_dir) -> None:
    ref, cur = frames()
    ref.to_csv(store_dir / "ref.csv", index=False)
    cur.to_parquet(store_dir / "cur.parquet")
    runner = CliRunner()
    result = runner.invoke(main, ["drift", "ref.csv", "cur.parquet", "--html", "drift.html", "--fail-on-drift"])
    assert result.exit_code == 1 and "Drift detected" in result.output
    assert "monthly_charges" in (store_dir / "drift.html").read_text()
    as_json = runner.invoke(main, ["drift", "ref.csv", "ref.csv", "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["drifted"] is False
    missing = runner.invoke(main, ["drift", "ref.csv", "nope.csv"])
    assert missing.exit_code != 0 and "no such data file" in missing.output


def test_drift_widget_wraps_the_recorded_report(ip) -> None:
    from mlops_magic.widgets import DriftPanel

    ref, cur = frames()
    ip.user_ns.update(ref=ref, cur=cur)
    panel = ip.run_line_magic("mlops", "drift cur --reference ref --widget")
    assert isinstance(panel, DriftPanel)
    bundle = panel._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "Drift detected" in bundle["text/html"]
    assert get_session().store.db.query_one("SELECT COUNT(*) FROM drift_reports")[0] == 1


def test_live_traffic_sampled_by_serving_is_current_data_for_the_model_profile(ip) -> None:
    from sklearn.linear_model import LogisticRegression

    from mlops_magic.monitoring.served import record_served
    from mlops_magic.registry.api import promote, register_model

    ref, cur = frames()
    numeric = ["tenure_months", "monthly_charges", "support_calls", "age"]
    y = churn_frame(2000, month=0)["churned"]
    ip.run_cell("%%mlops stage deploy\nx = 1")
    version = register_model(LogisticRegression(max_iter=300).fit(ref[numeric], y), "churn", input=ref[numeric])
    promote("churn", "production")
    store = get_session().store
    record_served(store, "churn", version.version, cur[numeric].to_dict("records"))
    report = ip.run_line_magic("mlops", "drift served:churn --reference model:churn@production")
    assert report.current_rows == len(cur) and "monthly_charges" in report.drifted_columns
    with pytest.raises(UsageError, match="no served inputs of model 'other'"):
        register_model(LogisticRegression().fit(ref[numeric], y), "other", input=ref[numeric])
        ip.run_line_magic("mlops", "drift served:other --reference model:other")

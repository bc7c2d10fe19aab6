"""Reports from a real store: self-contained HTML (escaped), the index, Markdown."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.display.charts import line_chart
from mlops_magic.entities import Fingerprint
from mlops_magic.report import index_report, run_report, write_index
from mlops_magic.store import clear_cache, open_store

EVIL = "<script>alert('x')</script>"


@pytest.fixture
def store(tmp_path, monkeypatch):
    (tmp_path / ".mlops").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    yield open_store()
    clear_cache()


def make_run(store, notebook="churn.ipynb", status="succeeded", auc=0.8, trigger="schedule"):
    run = store.create_run(notebook=notebook, trigger=trigger, params={"n": 3, EVIL: EVIL})
    stage = store.start_stage(run.id, "train", EVIL)
    for step in range(5):
        store.log_metric(run.id, "loss", 1.0 / (step + 1), step)
    store.log_metric(run.id, "auc", auc)
    store.log_metric(run.id, "nanmetric", float("nan"))
    store.finish_stage(stage.id, "failed" if status == "failed" else "succeeded",
                       error_type="ValueError" if status == "failed" else None, error_message=EVIL)
    store.log_fingerprint(run.id, Fingerprint(digest="ab" * 16, kind="file", rows=3, name=EVIL, role="input"))
    store.log_artifact_bytes(run.id, f"{EVIL}.txt", b"hello")
    import pandas as pd

    from mlops_magic.monitoring import drift
    from mlops_magic.monitoring.records import record_drift

    report = drift(pd.DataFrame({EVIL: range(200)}), pd.DataFrame({EVIL: range(100, 300)}))
    record_drift(store, report, run_id=run.id, stage_id=stage.id, model="churn")
    store.finish_run(run.id, status, EVIL if status == "failed" else None)
    time.sleep(0.01)
    return run


def test_run_report_is_self_contained_and_escapes_user_strings(store):
    run = make_run(store, status="failed")
    page = run_report(store, run.id)
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    for words in ("<svg", "loss", "auc", "Stages", "Parameters", "Artifacts", "Data fingerprints", "Drift"):
        assert words in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "no executed notebook" in page


def test_index_shows_trends_and_status_history_and_markdown(store, tmp_path):
    runs = [make_run(store, auc=a, status=s) for a, s in [(0.7, "succeeded"), (0.8, "failed"), (0.9, "succeeded")]]
    target = write_index(store, tmp_path / "site")
    page = target.read_text()
    assert EVIL not in page and "churn.ipynb" in page
    assert page.count("<svg") >= 3  # status strip + auc and loss trends
    assert (tmp_path / "site" / "runs" / f"{runs[0].id}.html").exists()
    assert f'href="runs/{runs[0].id}.html"' in page
    md = index_report(store, "markdown")
    assert "🟩🟥🟩" in md and "| auc |" in md and EVIL not in md


def test_chart_leaves_out_non_finite_points():
    svg = line_chart([(0, 1.0), (1, float("nan")), (2, float("inf")), (3, 2.0)], title="m<1>")
    assert svg.count("<circle") == 2 and "m&lt;1&gt;" in svg


def test_cli_report_html_markdown_and_index_after_a_real_run(store, tmp_path):
    import shutil
    from pathlib import Path

    shutil.copy(Path(__file__).parent / "notebooks" / "pipeline.ipynb", tmp_path / "pipeline.ipynb")
    runner = CliRunner()
    ran = runner.invoke(main, ["run", "pipeline.ipynb", "--report"])
    assert ran.exit_code == 0, ran.output
    run = store.get_run("latest")
    report = tmp_path / ".mlops" / "runs" / run.id / "report.html"
    assert "report: " in ran.output and report.exists()
    page = report.read_text()
    assert "<iframe" in page and "srcdoc=" in page and "train 45" in page  # the executed notebook, rendered
    assert 'src="http' not in page
    out = runner.invoke(main, ["report", "latest", "--html", str(tmp_path / "r.html")])
    assert out.exit_code == 0 and (tmp_path / "r.html").exists()
    md = runner.invoke(main, ["report", "latest", "--format", "markdown"])
    assert "pipeline.ipynb" in md.output and "| data |" in md.output
    idx = runner.invoke(main, ["report", "--index", str(tmp_path / "site")])
    assert idx.exit_code == 0 and (tmp_path / "site" / "index.html").exists()


def test_one_value_is_a_value_card_not_a_one_point_line():
    from mlops_magic.display.charts import value_card

    svg = line_chart([(0.0, 0.91), (1.0, float("nan"))], title="auc", labels=["run1", "run2"])
    assert "value-card" in svg and "<polyline" not in svg and ">0.91<" in svg and "run1" in svg
    assert value_card(0.5, title="<b>").count("&lt;b&gt;") == 2  # title and aria-label escaped
    two = line_chart([(0.0, 0.9), (1.0, 0.8)], title="auc")
    assert "<polyline" in two and 'fill="currentColor"' in two and "#ddd" not in two  # the page's colours


def test_index_draws_a_metric_only_one_run_has_as_its_value(store):
    make_run(store, auc=0.7)
    only = make_run(store, auc=0.8)
    store.log_metric(only.id, "f1", 0.66)
    page = index_report(store)
    f1 = page[page.index('aria-label="f1'):]
    assert f1.startswith('aria-label="f1 0.66"') and f"run {only.id[:8]}" in f1.split("</svg>")[0]
    auc = page[page.index('aria-label="auc"'):].split("</svg>")[0]
    assert "<polyline" in auc  # two runs: a trend


def test_run_report_shows_sizes_and_parameters_as_people_read_them(store):
    run = store.create_run(notebook="nb.ipynb", params={"learning_rate": 0.1, "eps": 1e-05, "model": "gbm"})
    store.log_artifact_bytes(run.id, "model.pkl", b"x" * 143033)
    store.finish_run(run.id, "succeeded")
    page = run_report(store, run.id, include_notebook=False)
    assert "139.7 KiB" in page and "143033" not in page.replace("143,033", "")
    assert "<td>0.1</td>" in page and "<td>1e-05</td>" in page and "<td>gbm</td>" in page


def test_human_sizes_and_parameters_as_given():
    from mlops_magic.display.html import fmt_param, fmt_size

    assert [fmt_size(n) for n in (0, 1023, 1024, 143033, 5 * 1024**3)] == ["0 B", "1023 B", "1.0 KiB", "139.7 KiB",
                                                                           "5.0 GiB"]
    assert fmt_size(None) == ""
    assert [fmt_param(v) for v in (0.1, 1e-5, 3, True, None, "gbm", "3", "True", "", 0.30000000000000004)] == [
        "0.1", "1e-05", "3", "True", "None", "gbm", "'3'", "'True'", "''", "0.30000000000000004"]

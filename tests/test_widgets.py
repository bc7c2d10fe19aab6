"""Lifecycle panel and runs table on a real store: widget models, live updates, static fallbacks, escaping."""

from __future__ import annotations

import os
import sys
import time

import pytest

from mlops_magic.tracking.session import get_session
from mlops_magic.widgets.base import WIDGET_VIEW
from mlops_magic.widgets.lifecycle_panel import LifecyclePanel
from mlops_magic.widgets.runs_table import RunsTable

EVIL = "<img src=x onerror=alert(1)>"


def _fail(session, kind, name=None, message="boom"):
    with pytest.raises(ValueError), session.stage(kind, name):
        raise ValueError(message)


def test_importing_widgets_package_imports_neither_ipywidgets_nor_matplotlib(store_dir) -> None:
    import subprocess

    code = ("import sys, mlops_magic, mlops_magic.widgets, mlops_magic.ipython.panels, "
            "mlops_magic.widgets.lifecycle_panel, mlops_magic.widgets.plot_panel, mlops_magic.widgets.params_panel;"
            "print(any(m in sys.modules for m in ('ipywidgets', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lifecycle_panel_shows_six_stages_in_order_with_status_attempt_and_warnings(store_dir) -> None:
    session = get_session()
    with session.stage("problem"):
        pass
    with session.stage("data"):
        pass
    with session.stage("train"):
        pass
    with session.stage("data"):  # re-running data makes train stale
        pass
    panel = LifecyclePanel(session)
    kinds = [s.kind for s in panel.view.stages]
    assert kinds == ["problem", "data", "train", "evaluate", "deploy", "monitor"]
    assert [panel.status_of(k) for k in ("problem", "data", "evaluate")] == ["succeeded", "succeeded", "not run"]
    widget = panel.widget
    buttons = [c for c in panel._grid.children if type(c).__name__ == "Button"]
    assert [b.description for b in buttons] == kinds
    assert [b.button_style for b in buttons][:3] == ["success", "success", "success"]
    html = panel.html()
    assert "#2 of 2" in html and "stale: data ran again after it" in html
    assert "stale" in panel.text() and "not run" in panel.text()
    bundle = panel.mimebundle(with_widget=True)
    assert bundle[WIDGET_VIEW]["model_id"] == widget.model_id
    assert set(bundle) == {"text/plain", "text/html", WIDGET_VIEW}
    panel.close()


def test_lifecycle_panel_updates_live_from_session_events_and_unsubscribes_on_close(store_dir) -> None:
    session = get_session()
    panel = LifecyclePanel(session)  # before any run: follows the session's run when it starts
    assert panel.run is None and "no run yet" in panel.text()
    panel.widget  # noqa: B018 - build the widgets so updates reach them
    with session.stage("data"):
        assert panel.status_of("data") == "running"
    assert panel.status_of("data") == "succeeded"
    _fail(session, "train", message="diverged")
    assert panel.status_of("train") == "failed"
    row = panel._rows["train"]
    assert row[0].button_style == "danger" and "diverged" in row[4].value
    updates = panel.updates
    for i in range(50):
        session.log_metric("loss", 1.0 / (i + 1))  # metric events must not re-query the lifecycle
    assert panel.updates == updates
    assert panel.live and panel._on_event in session.listeners
    panel.close()
    assert not panel.live and panel._on_event not in session.listeners
    with session.stage("evaluate"):
        pass
    assert panel.status_of("evaluate") == "not run"  # closed: no longer updated


def test_lifecycle_detail_shows_error_variables_and_escapes_names(store_dir) -> None:
    session = get_session()
    _fail(session, "train", EVIL, message=EVIL)
    panel = LifecyclePanel(session)
    panel.widget  # noqa: B018
    panel.select(EVIL)
    detail = panel._detail.value
    assert "ValueError: &lt;img src=x onerror=alert(1)&gt;" in detail and EVIL not in detail
    for html in (panel.html(), panel.mimebundle(with_widget=False)["text/html"]):
        assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert EVIL in panel.text()  # plain text is not HTML: shown as is
    panel.select(EVIL)
    assert panel._detail.value == ""
    panel.close()


def test_lifecycle_panel_follows_a_run_written_by_another_process(store, store_dir) -> None:
    session = get_session()
    run = store.create_run(notebook="nb.ipynb", trigger="manual", pid=os.getppid())  # another live process
    panel = LifecyclePanel(session, run.id, live=False)
    panel.widget  # noqa: B018
    panel.follow(run.id, interval=0.05)
    assert "live" in panel._header.value
    stage = store.start_stage(run.id, "data")
    store.finish_stage(stage.id, "succeeded")
    _wait(lambda: panel.status_of("data") == "succeeded")
    store.finish_run(run.id, "succeeded")
    _wait(lambda: panel.run.status == "succeeded" and not panel.live)
    _wait(lambda: "live" not in panel._header.value)
    panel.close()


def test_lifecycle_panel_shows_gate_checklist_and_model_versions(store_dir) -> None:
    from mlops_magic.registry import gates

    session = get_session()
    with session.stage("evaluate"):
        session.log_metrics({"accuracy": 0.91, "auc": 0.7})
        gates.gate("accuracy >= 0.9", soft=True)
        gates.gate("auc > 0.8", soft=True)
    panel = LifecyclePanel(session)
    assert panel.models is not None
    assert [(g[0], g[1]) for g in panel.models.gates] == [("accuracy >= 0.9 (soft)", True), ("auc > 0.8 (soft)", False)]
    html = panel.html()
    assert "☑ accuracy &gt;= 0.9" in html and "☒ auc &gt; 0.8" in html
    assert "[x] accuracy >= 0.9" in panel.text()
    panel.close()


def _seed_runs(store):
    ids = []
    for i, (status, trigger, nb) in enumerate([("succeeded", "schedule", "a.ipynb"), ("failed", "manual", "b.ipynb"),
                                               ("succeeded", "manual", "a.ipynb")]):
        run = store.create_run(notebook=nb, trigger=trigger, name=EVIL if i == 1 else None,
                               params={"lr": 0.1 * (i + 1), "depth": 3})
        store.log_metrics(run.id, [("accuracy", 0.8 + i / 100, 0), ("accuracy", 0.85 + i / 100, 1)])
        store.finish_run(run.id, status)
        ids.append(run.id)
        time.sleep(0.01)
    return ids


def _header(table, column):
    return table._headers[column]


def test_runs_table_filters_sorts_by_header_and_compares_selection(store, store_dir) -> None:
    ids = _seed_runs(store)
    table = RunsTable(get_session())
    assert [r["id"] for r in table.records] == ids[::-1]  # newest first
    table.widget  # noqa: B018
    status, trigger, notebook = table._filters
    status.value = "failed"
    assert [r["id"] for r in table.records] == [ids[1]]
    status.value = ""
    trigger.value = "manual"
    notebook.value = "a.ipynb"
    assert [r["id"] for r in table.records] == [ids[2]]
    trigger.value, notebook.value = "", ""
    # A click on a column header sorts by it (metrics: best first); a second click reverses the order.
    assert _header(table, "started").description == "started ▼"
    _header(table, "metrics.accuracy").click()
    assert table.sort == "metrics.accuracy" and [r["id"] for r in table.records] == ids[::-1]
    assert _header(table, "metrics.accuracy").description == "accuracy ▼"
    assert _header(table, "started").description == "started"
    _header(table, "metrics.accuracy").click()
    assert [r["id"] for r in table.records] == ids
    assert _header(table, "metrics.accuracy").description == "accuracy ▲"
    _header(table, "notebook").click()  # text columns start A→Z
    assert not table.descending and [r["notebook"] for r in table.records] == ["a.ipynb", "a.ipynb", "b.ipynb"]
    toolbar = table.widget.children[0].children
    assert not any(type(c).__name__ == "Dropdown" and c.description == "sort" for c in toolbar)
    table.set_filter(sort="metrics.accuracy", descending=False)
    assert [r["id"] for r in table.records] == ids
    boxes = [c for c in table._grid.children if type(c).__name__ == "Checkbox"]
    assert len(boxes) == 3
    boxes[0].value = True
    assert table.compare_selected() is None and "select two" in table._message.value
    boxes[1].value = True
    compare = table.compare_selected()
    assert compare is not None and table._compare_box.children == (compare.widget,)
    assert compare.differing_params == ["lr"]
    html = table.html()
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "sorted by metrics.accuracy (ascending)" in table.text()
    table.close()


def test_runs_table_fits_a_notebook_name_column_only_when_named_params_as_given(store, store_dir) -> None:
    for i in range(2):
        run = store.create_run(notebook="nb.ipynb", params={"learning_rate": 0.1, "depth": 3 + i})
        store.log_metrics(run.id, [(k, 0.8 + i / 100, 0) for k in ("accuracy", "auc", "f1", "loss", "recall")])
        store.finish_run(run.id, "succeeded")
    table = RunsTable(get_session())
    assert table.columns == ["run", "status", "trigger", "started", "duration", "params",  # one notebook: said once
                             "metrics.accuracy", "metrics.auc", "metrics.f1", "metrics.loss"]
    assert "3 runs" not in table.text() and "2 runs of nb.ipynb" in table.text()
    assert "name" not in table.html().split("</thead>")[0]  # no always-empty column
    table.widget  # noqa: B018
    columns = table._grid.layout.grid_template_columns.split(" ")
    assert len(columns) == 1 + len(table.columns)
    assert not any(c.endswith("px") and int(c[:-2]) > 100 for c in columns)  # nothing wide and fixed
    cells = [c.value for c in table._grid.children if type(c).__name__ == "HTML"]
    assert any("learning_rate=<wbr>0.1<" in c for c in cells) and not any("0.1000" in c for c in cells)
    assert "1 more metrics" in table._count.value
    named = store.create_run(notebook="other.ipynb", name="baseline")
    store.finish_run(named.id, "succeeded")
    table.reload()
    assert table.columns[:3] == ["run", "name", "notebook"]
    assert "baseline" in table.html()
    table.close()


def test_runs_table_lists_a_sweeps_points_under_it_in_the_tables_sort(store, store_dir) -> None:
    """As `mlops runs` and the lab's runs view: each point right under its sweep (``└``), the sweep's row
    counting them, the points in the table's sort; other runs in place."""
    from mlops_magic.store import sweeps as sweep_table

    before = store.create_run(notebook="nb.ipynb", trigger="manual")
    store.finish_run(before.id, "succeeded")
    parent = store.create_run(notebook="nb.ipynb", trigger="sweep")
    store.db.run_in_transaction(lambda tx: sweep_table.insert(
        tx, parent.id, notebook="nb.ipynb", method="grid", space={"lr": [0.1, 0.2, 0.3]}, points=3, seed=None,
        select_rule="max auc", created=time.time()))
    points = []
    for lr, auc in ((0.1, 0.8), (0.2, 0.9), (0.3, 0.85)):
        point = store.create_run(notebook="nb.ipynb", trigger="sweep", parent_run_id=parent.id, params={"lr": lr})
        store.log_metrics(point.id, [("auc", auc, 0)])
        store.finish_run(point.id, "succeeded")
        points.append(point.id)
        time.sleep(0.01)
    store.finish_run(parent.id, "succeeded")
    after = store.create_run(notebook="nb.ipynb", trigger="manual")
    store.finish_run(after.id, "succeeded")

    table = RunsTable(get_session())
    assert [(r["id"], r["depth"]) for r in table.records] == [
        (after.id, 0), (parent.id, 0), *[(p, 1) for p in points[::-1]], (before.id, 0)]  # newest first, within
    table.sort_by("metrics.auc")  # the best point first under its sweep
    assert [r["id"] for r in table.records if r["depth"]] == [points[1], points[2], points[0]]
    table.widget  # noqa: B018
    cells = [c.value for c in table._grid.children if type(c).__name__ == "HTML"]
    assert sum("sweep · 3 points" in c for c in cells) == 1 and sum("└ " in c for c in cells) == 3
    assert f"a point of sweep {parent.id}" in table.html()
    text = table.text().splitlines()
    assert [line.startswith("  └ ") for line in text[1:]].count(True) == 3
    table.close()


def test_runs_table_empty_states_say_what_is_empty(store, store_dir) -> None:
    table = RunsTable(get_session())
    assert "No runs yet" in table.html() and "No runs yet" in table.text()
    run = store.create_run(notebook="nb.ipynb")
    store.finish_run(run.id, "succeeded")
    table.set_filter(status="failed")
    assert table.records == []
    assert "No runs match status=failed." in table.html() and "No runs yet" not in table.html()
    table.widget  # noqa: B018
    assert "No runs match status=failed." in table._message.value
    table.set_filter(status="")
    assert len(table.records) == 1 and table._message.value == ""
    table.close()


def test_status_colours_come_from_the_theme(store, store_dir) -> None:
    from mlops_magic.widgets.base import status_badge

    badge = status_badge("failed")
    assert "var(--jp-error-color1" in badge and "color-mix(" in badge and "var(--jp-content-font-color1" in badge
    assert badge.index("color:#c62828") < badge.index("color-mix(")  # a plain fallback first


def _wait(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)

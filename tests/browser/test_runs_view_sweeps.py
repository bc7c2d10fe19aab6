"""A sweep in the runs view, in a real JupyterLab and Chromium: its points listed under it, indented,
folded and unfolded with JupyterLab's caret, and compared side by side from the sweep's point count
(the objective charted against each parameter).

The sweep is recorded through the store API as `mlops sweep` records one (a parent run with trigger
`sweep`, one child run per point naming it as its parent): no kernels needed to draw it."""

from __future__ import annotations

from typing import Any

import pytest
from lab_harness import Lab, open_lab, screenshot, write_notebook
from test_runs_view import open_runs_view

pytestmark = pytest.mark.browser

NOTEBOOK = "sweep.ipynb"
ROWS = ".mlops-runs-view .mlops-rv-row"


@pytest.fixture(scope="module")
def sweep(lab: Lab) -> dict[str, Any]:
    """A manual run, then a 3-point sweep over lr (auc 0.8, 0.9, 0.85), then another manual run: newest
    first, the sweep's points would otherwise sit between the two manual runs in started order."""
    from mlops_magic.store import clear_cache, open_store

    write_notebook(lab.root / NOTEBOOK, [("%%mlops stage train\nx = 1", [])])
    clear_cache()
    store = open_store(str(lab.root))
    before = store.create_run(notebook=NOTEBOOK, trigger="manual", params={"lr": 0.5})
    store.finish_run(before.id, "succeeded")
    parent = store.create_run(notebook=NOTEBOOK, trigger="sweep")
    points = []
    for lr, auc in ((0.1, 0.8), (0.2, 0.9), (0.3, 0.85)):
        point = store.create_run(notebook=NOTEBOOK, trigger="sweep", parent_run_id=parent.id, params={"lr": lr})
        store.log_metrics(point.id, [("auc", auc, 0)])
        store.finish_run(point.id, "succeeded")
        points.append(point.id)
    store.log_metrics(parent.id, [("auc", 0.9, 0)])
    store.finish_run(parent.id, "succeeded")
    after = store.create_run(notebook=NOTEBOOK, trigger="manual", params={"lr": 0.7})
    store.finish_run(after.id, "succeeded")
    clear_cache()
    return {"sweep": parent.id, "points": points, "before": before.id, "after": after.id}


def shown(page: Any) -> list[tuple[str, bool]]:
    """The rows in sight, top to bottom: (run id, listed as a point under its sweep)."""
    return [(r["id"], r["point"]) for r in page.eval_on_selector_all(
        ROWS, "rows => rows.map(r => ({id: r.dataset.runId, point: r.classList.contains('mlops-rv-point')}))")]


def test_a_sweeps_points_are_grouped_under_it_folded_and_compared(page: Any, lab: Lab, sweep: dict[str, Any]) -> None:
    sweep_id, points = sweep["sweep"], sweep["points"]
    open_lab(page, lab)
    open_runs_view(page)
    view = page.locator(".mlops-runs-view")
    view.locator(".mlops-rv-notebook-filter select").select_option(NOTEBOOK)
    page.wait_for_function(f"document.querySelectorAll({ROWS!r}).length === 6")

    # Newest first, the points (newest first too) right under their sweep, indented; the others in place.
    assert shown(page) == [(sweep["after"], False), (sweep_id, False), *[(p, True) for p in points[::-1]],
                           (sweep["before"], False)]
    row = view.locator(f".mlops-rv-row[data-run-id='{sweep_id}']")
    assert "sweep · 3 points" in row.locator("[data-column='trigger']").inner_text()
    for p in points:
        assert view.locator(f".mlops-rv-row[data-run-id='{p}']").get_attribute("data-sweep") == sweep_id
    assert view.locator(".mlops-rv-point .mlops-rv-branch").count() == 3
    # The point count compares the points: in the trigger column, in sight without scrolling sideways
    # (as a link among the row's actions, past the metric columns, it was off the view at 1400 px).
    compare_points = row.locator("[data-column='trigger'] button.mlops-rv-compare-points")
    assert compare_points.inner_text() == "3 points" and compare_points.is_enabled()
    grid, button = view.locator(".mlops-rv-scroll").bounding_box(), compare_points.bounding_box()
    assert grid and button and grid["x"] <= button["x"] and button["x"] + button["width"] <= grid["x"] + grid["width"]
    assert view.locator(".mlops-rv-compare-points").count() == 1  # the sweep's row only
    screenshot(page, "runs-view-sweep")

    # Sorting by the objective sorts the points within their group: the best point first under the sweep.
    view.locator(".mlops-rv-header [data-column='metric:auc'] button").click()
    page.wait_for_function("document.querySelector(\".mlops-rv-header [data-column='metric:auc']\")"
                           ".getAttribute('aria-sort') === 'descending'")
    order = [run_id for run_id, _ in shown(page)]
    assert order[:4] == [sweep_id, points[1], points[2], points[0]]

    # Fold: one row for the sweep (JupyterLab's caret, aria-expanded); unfold: the points are back.
    fold = row.locator("button.mlops-rv-fold")
    assert fold.get_attribute("aria-expanded") == "true" and fold.locator("svg").count() == 1
    fold.click()
    page.wait_for_function(f"document.querySelectorAll({ROWS!r}).length === 3")
    assert fold.get_attribute("aria-expanded") == "false"
    assert view.locator(".mlops-rv-point").count() == 0
    assert "sweep · 3 points" in row.locator("[data-column='trigger']").inner_text()
    assert view.locator(".mlops-rv-count").inner_text().startswith("6 of ")  # folded runs still count
    fold.click()
    page.wait_for_function(f"document.querySelectorAll({ROWS!r}).length === 6")

    # The sweep's id in the search box: the sweep and its points only.
    view.locator(".mlops-rv-search").fill(sweep_id[:8])
    page.wait_for_function(f"document.querySelectorAll({ROWS!r}).length === 4")
    assert {run_id for run_id, _ in shown(page)} == {sweep_id, *points}
    view.locator(".mlops-rv-search").fill("")
    page.wait_for_function(f"document.querySelectorAll({ROWS!r}).length === 6")

    # Its points compared: the compare view on the three points, lr and the objective side by side.
    compare_points.click()
    compare = page.locator(".mlops-runs-compare:visible")
    compare.locator(".mlops-rv-params tr").first.wait_for(timeout=15_000)
    heads = compare.locator(".mlops-rv-runs-head th[data-run-id]")
    compared = [heads.nth(i).get_attribute("data-run-id") for i in range(heads.count())]
    assert compared == [points[1], points[2], points[0]]  # the view's order: best objective first
    assert compare.locator(".mlops-rv-params tr[data-key='lr'] td").all_inner_texts() == ["0.2", "0.3", "0.1"]
    assert compare.locator(".mlops-rv-metrics tr[data-key='auc'] td").all_inner_texts() == ["0.9", "0.85", "0.8"]
    assert compare.locator(".mlops-rv-metrics tr.mlops-rv-differs[data-key='auc']").count() == 1
    # The objective (what the sweep logged itself) against each parameter: one dot per point.
    chart = compare.locator(".mlops-rv-objective .mlops-rv-chart[data-metric='auc'][data-against='lr']")
    chart.wait_for(timeout=15_000)
    assert chart.locator(".mlops-rv-axis-title").text_content() == "lr"
    assert chart.locator(".mlops-rv-series circle").count() == 3 and chart.locator("path").count() == 0
    assert chart.locator(".mlops-rv-axis-x text").count() >= 3
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"Sweep {sweep_id[:8]}: 3 points").count() == 1
    screenshot(page, "runs-view-sweep-compare")

    errors = [e for e in page.console_errors if "mlops" in e.lower() or "runs-view" in e.lower()]
    assert errors == []

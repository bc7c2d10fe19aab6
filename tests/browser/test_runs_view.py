"""The main-area runs view in a real JupyterLab and Chromium: palette, sort, filter, columns,
compare (params, fingerprints, charts), live updates in place, and the dark theme's contrast."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_harness import Lab, open_lab, screenshot, theme

pytestmark = pytest.mark.browser

NOTEBOOK = "rv.ipynb"

# Relative luminance and contrast (WCAG 2), computed in the page from computed colours: any CSS
# colour syntax (rgb(), color-mix() results, color(srgb ...)) is resolved by drawing it on a canvas.
CONTRAST_JS = """
(selectors) => {
  const ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
  const rgba = css => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000'; ctx.fillStyle = css; ctx.fillRect(0, 0, 1, 1);
    const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
    return [r, g, b, a / 255];
  };
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3])).concat([1]);
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    return layers.reverse().reduce((acc, c) => over(c, acc), [255, 255, 255, 1]);
  };
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const out = {};
  for (const sel of selectors) {
    const el = document.querySelector(sel);
    if (!el) { out[sel] = null; continue; }
    const style = getComputedStyle(el);
    const bg = background(el);
    const fg = over(rgba(el instanceof SVGElement ? style.fill : style.color), bg);
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out[sel] = {ratio: (l1 + 0.05) / (l2 + 0.05), fg, bg};
  }
  return out;
}
"""


def write_notebook(path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "id": "c0", "metadata": {}, "source": "%%mlops stage train\nx = 1",
                     "outputs": [], "execution_count": None}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture(scope="module")
def runs(lab: Lab) -> dict[str, Any]:
    """12 runs of rv.ipynb: `score` logged once (0, 1.5, ... 16.5: 9 and 10.5 sort numerically), `loss`
    over 5 steps, lr and depth params, a data-stage fingerprint that changes every 4th run; run 5
    failed, run 7 is still queued (no metrics at all); every third run started by alice, the others by bob."""
    from mlops_magic.entities import Fingerprint
    from mlops_magic.store import clear_cache, open_store

    write_notebook(lab.root / NOTEBOOK)
    clear_cache()
    store = open_store(str(lab.root))
    ids = []
    before = os.environ.get("MLOPS_USER")
    for i in range(12):
        os.environ["MLOPS_USER"] = "alice" if i % 3 == 0 else "bob"
        run = store.create_run(notebook=NOTEBOOK, trigger="manual" if i % 2 else "schedule",
                               params={"lr": 0.1 if i < 6 else 0.01, "depth": i % 3},
                               status="queued" if i == 7 else "running")
        ids.append(run.id)
        if i == 7:
            continue
        data = store.start_stage(run.id, "data")
        store.log_fingerprint(run.id, Fingerprint(digest=f"sha256:{i // 4:x}" + "0" * 63, kind="dataframe",
                                                  rows=1000 + 100 * (i // 4), name="df", role="output"),
                              stage_id=data.id)
        store.finish_stage(data.id, "succeeded")
        train = store.start_stage(run.id, "train")
        store.finish_stage(train.id, "failed" if i == 5 else "succeeded")
        store.log_metrics(run.id, [("score", 1.5 * i, 0)])
        store.log_metrics(run.id, [("loss", 1.0 / (s + 1 + i / 10), s) for s in range(5)])
        store.finish_run(run.id, "failed" if i == 5 else "succeeded")
    if before is None:
        os.environ.pop("MLOPS_USER", None)
    else:
        os.environ["MLOPS_USER"] = before
    clear_cache()
    return {"ids": ids, "store": str(lab.root)}


def open_runs_view(page: Any) -> None:
    """Through the command palette, as a person would, once Lab has activated the launcher of its empty
    main area: that takes the focus, which closes a palette opened before it (seconds after the splash
    screen on a loaded machine)."""
    page.wait_for_function("document.activeElement?.closest('.jp-Launcher') != null", timeout=30_000)
    palette_input = page.locator("#modal-command-palette .lm-CommandPalette-input")
    for _ in range(5):  # the shortcut is live once Lab has loaded its keymap
        page.locator("#jp-main-dock-panel").click(position={"x": 400, "y": 300})
        page.keyboard.press("Control+Shift+C")
        try:
            palette_input.wait_for(state="visible", timeout=3_000)
            break
        except Exception:
            continue
    palette_input.fill("Open MLOps Runs")
    item = page.locator("#modal-command-palette .lm-CommandPalette-item.lm-mod-active", has_text="Open MLOps Runs")
    item.wait_for(timeout=5_000)
    assert "MLOps" in page.locator("#modal-command-palette .lm-CommandPalette-header").all_inner_texts()
    page.keyboard.press("Enter")
    page.wait_for_selector(".mlops-runs-view .mlops-rv-row", timeout=20_000)


def show_notebook(page: Any, n: int) -> None:
    page.locator(".mlops-rv-notebook-filter select").select_option(NOTEBOOK)
    page.wait_for_function(f"document.querySelectorAll('.mlops-runs-view .mlops-rv-row').length === {n}")


def column(page: Any, column_id: str) -> list[str]:
    return list(page.eval_on_selector_all(
        f".mlops-runs-view .mlops-rv-row [data-column='{column_id}']", "cells => cells.map(c => c.textContent)"))


def select_and_compare(page: Any, ids: list[str]) -> Any:
    for run_id in ids:
        page.locator(f".mlops-rv-row[data-run-id='{run_id}'] input[type=checkbox]").check()
    page.locator(".mlops-rv-compare").click()
    compare = page.locator(".mlops-runs-compare:visible")
    compare.locator(".mlops-rv-params tr").first.wait_for(timeout=15_000)
    return compare


@pytest.fixture
def dark_theme(lab: Lab) -> Iterator[None]:
    with theme(lab, "dark"):
        yield


def test_sort_filter_columns_compare_and_live_update(page: Any, lab: Lab, runs: dict[str, Any]) -> None:
    ids = runs["ids"]
    open_lab(page, lab)
    open_runs_view(page)
    view = page.locator(".mlops-runs-view")
    assert view.locator(".mlops-rv-header [data-column='started']").get_attribute("aria-sort") == "descending"
    show_notebook(page, 12)
    assert view.locator(".mlops-rv-count").inner_text().startswith("12 of ")

    # Sort by a metric column: numerically (16.5 > 10.5 > 9 > 1.5), the run without a score last.
    view.locator(".mlops-rv-header [data-column='metric:score'] button").click()
    page.wait_for_function("document.querySelector(\".mlops-rv-header [data-column='metric:score']\")"
                           ".getAttribute('aria-sort') === 'descending'")
    scores = column(page, "metric:score")
    numbers = [float(s) for s in scores if s]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] == 16.5 and scores[-1] == ""
    assert view.locator(".mlops-rv-row").first.get_attribute("data-run-id") == ids[11]
    view.locator(".mlops-rv-header [data-column='metric:score'] button").click()
    page.wait_for_function("document.querySelector(\".mlops-rv-header [data-column='metric:score']\")"
                           ".getAttribute('aria-sort') === 'ascending'")
    scores = column(page, "metric:score")
    assert [float(s) for s in scores if s] == sorted(float(s) for s in scores if s) and scores[-1] == ""
    view.locator(".mlops-rv-header [data-column='metric:score'] button").click()  # back to descending
    page.wait_for_function("document.querySelector('.mlops-rv-row')?.dataset.runId === " + json.dumps(ids[11]))

    # Filter by status: the statuses offered come from the API (queued and skipped among them).
    status = view.locator(".mlops-rv-status-filter select")
    offered = status.locator("option").all_inner_texts()
    assert {"queued", "skipped", "failed", "running"} <= set(offered)
    status.select_option("failed")
    page.wait_for_function("document.querySelectorAll('.mlops-rv-row').length === 1")
    assert view.locator(".mlops-rv-row").get_attribute("data-run-id") == ids[5]
    assert view.locator(".mlops-rv-row").get_attribute("data-status") == "failed"
    status.select_option("skipped")
    view.locator(".mlops-rv-empty").wait_for()
    assert view.locator(".mlops-rv-empty").inner_text() == f"No runs match 'skipped' in {NOTEBOOK}"
    status.select_option("")
    view.locator(".mlops-rv-search").fill("lr=0.01 schedule")
    page.wait_for_function("document.querySelectorAll('.mlops-rv-row').length === 3")  # runs 6, 8, 10
    view.locator(".mlops-rv-search").fill("")
    page.wait_for_function("document.querySelectorAll('.mlops-rv-row').length === 12")

    # Filter by who started the runs: the users offered are those of the runs held (issue 23).
    user = view.locator(".mlops-rv-user-filter select")
    offered = user.locator("option").all_inner_texts()  # the Lab's store also holds other tests' runs
    assert offered[0] == "all users" and offered[1:] == sorted(offered[1:]) and {"alice", "bob"} <= set(offered)
    user.select_option("alice")
    page.wait_for_function("document.querySelectorAll('.mlops-rv-row').length === 4")  # runs 0, 3, 6, 9
    assert set(column(page, "user")) == {"alice"}
    shown = {r.get_attribute("data-run-id") for r in view.locator(".mlops-rv-row").all()}
    assert shown == {ids[i] for i in (0, 3, 6, 9)}
    status.select_option("failed")  # run 5 failed, and bob started it
    view.locator(".mlops-rv-empty").wait_for()
    assert view.locator(".mlops-rv-empty").inner_text() == f"No runs match 'failed' in {NOTEBOOK} by alice"
    status.select_option("")
    user.select_option("")
    page.wait_for_function("document.querySelectorAll('.mlops-rv-row').length === 12")

    # Hide a column; the choice is the widget's state (restored with the view).
    assert view.locator(".mlops-rv-header [data-column='param:depth']").count() == 1
    view.locator(".mlops-rv-columns-button").click()
    view.locator(".mlops-rv-columns-menu label[data-column='param:depth'] input").uncheck()
    page.keyboard.press("Escape")
    view.locator(".mlops-rv-columns-menu").wait_for(state="detached")
    assert view.locator(".mlops-rv-header [data-column='param:depth']").count() == 0
    assert column(page, "param:depth") == []
    assert "1 hidden" in view.locator(".mlops-rv-columns-button").inner_text()
    screenshot(page, "runs-view")

    # Live: a new run recorded elsewhere appears on the next poll, the grid is patched in place
    # (the same nodes), the sort and a selection are kept.
    view.locator(f".mlops-rv-row[data-run-id='{ids[0]}'] input[type=checkbox]").check()
    page.evaluate("window.__grid = document.querySelector('.mlops-rv-scroll');"
                  " window.__row = document.querySelector(\".mlops-rv-row[data-run-id='" + ids[1] + "']\")")
    from mlops_magic.store import clear_cache, open_store

    store = open_store(runs["store"])
    late = store.create_run(notebook=NOTEBOOK, trigger="manual", params={"lr": 0.5, "depth": 0})
    store.log_metrics(late.id, [("score", 99.0, 0)])
    store.finish_run(late.id, "succeeded")
    clear_cache()
    page.wait_for_function("document.querySelectorAll('.mlops-rv-row').length === 13", timeout=20_000)
    assert view.locator(".mlops-rv-row").first.get_attribute("data-run-id") == late.id
    assert page.evaluate("window.__grid === document.querySelector('.mlops-rv-scroll') && window.__row.isConnected")
    assert view.locator(".mlops-rv-row.mlops-rv-selected").count() == 1
    view.locator(".mlops-rv-clear").click()

    # Compare two runs: lr differs (0.1 vs 0.01), and so does the data the data stage wrote.
    compare = select_and_compare(page, [ids[2], ids[9]])
    assert compare.locator(".mlops-rv-params tr.mlops-rv-differs[data-key='lr']").count() == 1
    assert compare.locator(".mlops-rv-params tr[data-key='lr'] td").all_inner_texts() == ["0.01", "0.1"]  # view order
    fingerprint = compare.locator(".mlops-rv-fingerprints tr[data-stage='data']")
    assert fingerprint.count() == 1 and "mlops-rv-differs" in (fingerprint.get_attribute("class") or "")
    assert "1,000 rows" in fingerprint.inner_text() and "1,200 rows" in fingerprint.inner_text()
    assert compare.locator(".mlops-rv-metrics tr.mlops-rv-differs[data-key='score']").count() == 1
    head = compare.locator(".mlops-rv-runs-head tbody th[scope='row']").all_inner_texts()
    assert head == ["notebook", "status", "trigger", "started", "duration", "open"]  # nothing sampled: no system row
    assert compare.locator(".mlops-rv-diff-mark[aria-label='differs']").count() >= 3

    # The chart of loss over 5 steps has axes with ticks, a step label and one line per run;
    # score (one value per run) is a value, not a chart.
    chart = compare.locator(".mlops-rv-chart[data-metric='loss']")
    chart.wait_for(timeout=15_000)
    assert chart.locator(".mlops-rv-axis-x text").count() >= 3
    assert chart.locator(".mlops-rv-axis-y text").count() >= 3
    assert chart.locator(".mlops-rv-axis-title").text_content() == "step"
    assert chart.locator(".mlops-rv-series path").count() == 2
    assert compare.locator(".mlops-rv-chart[data-metric='score']").count() == 0
    assert "score" in compare.locator(".mlops-rv-charts .mlops-rv-note").first.inner_text()
    assert page.eval_on_selector(".mlops-rv-chart svg", "s => getComputedStyle(s).backgroundColor") in (
        "rgba(0, 0, 0, 0)", "transparent")
    screenshot(page, "runs-view-compare")

    # Links: the report (served sandboxed), and the notebook opened in Lab.
    href = compare.locator(".mlops-rv-report").first.get_attribute("href") or ""
    report = page.request.get(href if href.startswith("http") else lab.url.rstrip("/") + href)
    assert report.ok and report.headers["content-type"].startswith("text/html")
    first = compare.locator(".mlops-rv-runs-head th[data-run-id]").first.get_attribute("data-run-id")
    assert first == ids[9] and f"run {first[:8]}" in report.text()  # the runs in the view's order
    compare.locator(".mlops-rv-open-notebook").first.click()
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=20_000)
    page.wait_for_function("[...document.querySelectorAll('.lm-TabBar-tabLabel')]"
                           f".some(t => t.textContent === '{NOTEBOOK}')")

    # The view's sort and hidden columns are its restore state: saved in the workspace, back on reload.
    deadline = time.monotonic() + 20
    while True:
        saved = json.dumps(lab.api("lab/api/workspaces/default").get("data", {}).get("mlops-runs:runs", {}))
        if "param:depth" in saved and "metric:score" in saved:
            break
        assert time.monotonic() < deadline, f"the runs view's state was not saved: {saved}"
        time.sleep(0.2)
    page.reload()
    # Lab restores the layout as it last saved it: the notebook may be the tab in front. Bring the runs view
    # forward, as a person would; what matters is that it came back with its sort and hidden columns.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="MLOps Runs").click(timeout=30_000)
    page.wait_for_selector(".mlops-runs-view .mlops-rv-row", timeout=30_000)
    assert page.locator(".mlops-rv-header [data-column='metric:score']").get_attribute("aria-sort") == "descending"
    assert page.locator(".mlops-rv-header [data-column='param:depth']").count() == 0

    errors = [e for e in page.console_errors if "mlops" in e.lower() or "runs-view" in e.lower()]
    assert errors == []


def test_dark_theme_keeps_text_readable(page: Any, lab: Lab, runs: dict[str, Any], dark_theme: None) -> None:
    ids = runs["ids"]
    open_lab(page, lab)
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=20_000)
    open_runs_view(page)
    page.locator(".mlops-rv-notebook-filter select").select_option(NOTEBOOK)
    page.wait_for_function("document.querySelectorAll('.mlops-runs-view .mlops-rv-row').length >= 12")
    page.locator(f".mlops-rv-row[data-run-id='{ids[3]}'] input[type=checkbox]").check()  # a selected row
    grid = page.evaluate(CONTRAST_JS, [
        ".mlops-rv-header [data-column='status'] .mlops-rv-label",
        ".mlops-rv-group",
        ".mlops-rv-row [data-column='notebook']",
        ".mlops-rv-row [data-column='metric:score']",
        ".mlops-rv-row.mlops-rv-selected [data-column='trigger']",
        ".mlops-rv-count",
        ".mlops-rv-report",
    ])
    screenshot(page, "runs-view-dark")
    for selector, measured in grid.items():
        assert measured is not None, selector
        assert measured["ratio"] >= 4.5, (selector, measured)
    page.locator(".mlops-rv-clear").click()

    compare = select_and_compare(page, [ids[0], ids[11]])
    compare.locator(".mlops-rv-chart[data-metric='loss']").wait_for(timeout=15_000)
    measured = page.evaluate(CONTRAST_JS, [
        ".mlops-runs-compare tr.mlops-rv-differs td",
        ".mlops-runs-compare tr.mlops-rv-differs th",
        ".mlops-runs-compare .mlops-rv-fingerprints tr.mlops-rv-differs td",
        ".mlops-runs-compare tbody tr:not(.mlops-rv-differs) td",
        ".mlops-runs-compare .mlops-rv-chart .mlops-rv-axis-y text",
        ".mlops-runs-compare .mlops-rv-legend",
    ])
    for selector, m in measured.items():
        assert m is not None, selector
        assert m["ratio"] >= 4.5, (selector, m)
    # The differing rows are dark-tinted, not pale: the background is darker than the text.
    tint = measured[".mlops-runs-compare tr.mlops-rv-differs td"]
    assert sum(tint["bg"][:3]) < sum(tint["fg"][:3])
    assert page.eval_on_selector(".mlops-rv-chart svg", "s => getComputedStyle(s).backgroundColor") in (
        "rgba(0, 0, 0, 0)", "transparent")
    page.locator(".mlops-rv-differs").first.scroll_into_view_if_needed()
    screenshot(page, "runs-view-compare-dark")

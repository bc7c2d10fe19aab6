"""`%mlops status` in a real JupyterLab and Chromium: the panel renders, updates live, responds to a click."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lab_harness import Lab, open_lab, screenshot

pytestmark = pytest.mark.browser

EVIL = "<img src=x onerror=alert(1)>"
CELLS = [
    "%load_ext mlops_magic",
    "%%mlops stage data\nrows = 100",
    "%mlops status",
    f"%%mlops stage train --name '{EVIL}'\nmodel = 'fitted'",
]


PARAMS_CELLS = [
    ('epochs = 1\nmodel = "gbm"  # choices: gbm, rf', ["parameters"]),
    ("%load_ext mlops_magic\n%mlops params --widget", []),
    ("%%mlops stage train\nassert isinstance(epochs, int) and epochs == 3, epochs\nresult = model", []),
]


def write_notebook(path: Path, cells: list[tuple[str, list[str]]] | None = None) -> None:
    cells = cells if cells is not None else [(src, []) for src in CELLS]
    nb = {
        "cells": [{"cell_type": "code", "id": f"w{i}", "metadata": {"tags": tags} if tags else {}, "source": src,
                   "outputs": [], "execution_count": None} for i, (src, tags) in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def test_status_panel_renders_updates_live_and_shows_stage_detail(page: Any, lab: Lab) -> None:
    write_notebook(lab.root / "widgets.ipynb")
    run_first_cells(page, lab, "widgets.ipynb", 3)  # load the extension, run the data stage, show the panel

    panel = page.locator(".jp-OutputArea-output .mlops-lifecycle-panel")
    try:
        panel.wait_for(timeout=60_000)
    except Exception:
        screenshot(page, "widgets-lifecycle-panel-missing")
        raise AssertionError("no panel; outputs: " + " | ".join(
            page.locator(".jp-OutputArea-output").all_inner_texts())) from None
    buttons = panel.locator(".mlops-stage-button")
    assert buttons.all_inner_texts() == ["problem", "data", "train", "evaluate", "deploy", "monitor"]
    assert "mod-success" in (buttons.nth(1).get_attribute("class") or "")
    assert "live" in panel.inner_text()

    # A later stage cell runs: the panel above updates without being displayed again.
    page.keyboard.press("Shift+Enter")
    evil_button = panel.locator(".mlops-stage-button.mod-success", has_text=EVIL)
    evil_button.wait_for(timeout=30_000)
    assert buttons.count() == 6  # the named train stage replaced the "train: not run" row
    assert panel.locator("img").count() == 0  # the name is text, not markup

    # Click the stage: its detail (attempt, variables) appears in the panel.
    evil_button.click()
    detail = panel.locator(".mlops-stage-detail")
    detail.wait_for(timeout=10_000)
    assert "attempt #1 of 1" in detail.inner_text() and "model" in detail.inner_text()
    assert EVIL in detail.inner_text()
    panel.scroll_into_view_if_needed()
    screenshot(page, "widgets-lifecycle-panel")

    # Saved, the notebook keeps an escaped static copy next to the widget view, current after the update.
    page.keyboard.press("Control+s")
    saved = _wait_for_saved_output(lab.root / "widgets.ipynb", page)
    assert "application/vnd.jupyter.widget-view+json" in saved
    html = "".join(saved["text/html"])
    assert EVIL not in html and "train · &lt;img src=x onerror=alert(1)&gt;" in html  # refreshed after the stage
    assert "Lifecycle of run" in "".join(saved["text/plain"])
    errors = [e for e in page.console_errors if "widget" in e.lower() or "mlops" in e.lower()]
    assert errors == []


def test_params_panel_runs_the_notebook_headlessly_with_typed_values(page: Any, lab: Lab) -> None:
    from mlops_magic.store import clear_cache, open_store

    write_notebook(lab.root / "params.ipynb", PARAMS_CELLS)
    run_first_cells(page, lab, "params.ipynb", 2)  # the parameters, then the panel
    panel = page.locator(".jp-OutputArea-output .mlops-params-panel")
    panel.wait_for(timeout=60_000)
    assert "params.ipynb" in panel.inner_text()  # found through JPY_SESSION_NAME
    epochs = panel.locator(".mlops-param-epochs input")
    epochs.fill("3")
    epochs.press("Enter")  # IntText syncs on Enter / blur
    panel.locator(".mlops-param-model select").select_option("rf")
    panel.get_by_role("button", name="Run headlessly").click()

    # The headless run's lifecycle appears inside the panel and follows the run to its end.
    run_panel = panel.locator(".mlops-lifecycle-panel")
    run_panel.wait_for(timeout=60_000)
    run_panel.locator(".mlops-stage-button.mod-success", has_text="train").wait_for(timeout=120_000)
    page.wait_for_function("document.querySelector('.mlops-params-panel .mlops-lifecycle-panel')"
                           "?.innerText.includes('succeeded · manual')", timeout=60_000)
    panel.scroll_into_view_if_needed()
    screenshot(page, "widgets-params-panel")

    clear_cache()
    store = open_store(str(lab.root))
    [run] = store.list_runs(notebook="params.ipynb", trigger="manual", limit=1)
    assert run.status == "succeeded", run.error
    assert store.run_requested_params(run.id) == {"epochs": 3, "model": "rf"}
    clear_cache()


def run_first_cells(page: Any, lab: Lab, name: str, count: int) -> None:
    open_lab(page, lab, name)
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.first.wait_for(timeout=20_000)
    # Keys pressed before the kernel is connected are dropped: wait until the status bar says Idle.
    page.wait_for_function("[...document.querySelectorAll('.jp-StatusBar-TextItem')]"
                           ".some(e => e.textContent.includes('| Idle'))", timeout=60_000)
    cells.first.locator(".jp-InputArea-editor").click()
    for _ in range(count):
        page.keyboard.press("Shift+Enter")


def _wait_for_saved_output(path: Path, page: Any) -> dict[str, Any]:
    for _ in range(50):
        nb = json.loads(path.read_text())
        outputs = nb["cells"][2]["outputs"]
        data = outputs[0]["data"] if outputs else {}
        if "text/html" in data and "onerror" in "".join(data["text/html"]):
            return data
        page.wait_for_timeout(200)
    raise AssertionError(f"the status cell's output was not saved: {outputs}")


def test_runs_widget_fits_the_notebook_and_sorts_by_a_column_header(page: Any, lab: Lab) -> None:
    from mlops_magic.store import clear_cache, open_store

    clear_cache()
    store = open_store(str(lab.root))
    for i, acc in enumerate((0.71, 0.93, 0.82)):
        run = store.create_run(notebook="runs-widget.ipynb", trigger="manual",
                               params={"learning_rate": 0.1 * (i + 1), "model": "gbm", "depth": 4})
        store.log_metrics(run.id, [(k, acc + j / 100, 0) for j, k in enumerate(("accuracy", "auc", "f1", "loss"))])
        store.finish_run(run.id, "succeeded")
    clear_cache()
    write_notebook(lab.root / "runs-widget.ipynb",
                   [("%load_ext mlops_magic", []), ("%mlops runs --widget --notebook runs-widget.ipynb", [])])
    run_first_cells(page, lab, "runs-widget.ipynb", 2)
    grid = page.locator(".jp-OutputArea-output .mlops-runs-grid")
    grid.wait_for(timeout=60_000)
    headers = grid.locator(".mlops-sort-header")
    assert "name" not in headers.all_inner_texts()  # no run has a name
    # Every column, metrics included, is visible without scrolling sideways.
    fits = page.evaluate("""() => { const g = document.querySelector('.mlops-runs-grid');
        const out = g.closest('.jp-OutputArea-output');
        const spill = [...g.children].filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText);
        return [g.scrollWidth <= g.clientWidth + 1, out.scrollWidth <= out.clientWidth + 1,
                g.getBoundingClientRect().right <= out.getBoundingClientRect().right + 1, spill]; }""")
    assert fits == [True, True, True, []], fits  # and no cell spills into the next
    assert "learning_rate=0.1" in grid.inner_text() and "0.1000" not in grid.inner_text()

    # The accuracy column, read once the widget has redrawn every row (ipywidgets creates row views
    # asynchronously after the header buttons change).
    column = """() => { const g = document.querySelector('.mlops-runs-grid');
        const n = getComputedStyle(g).gridTemplateColumns.split(' ').length;
        const heads = [...g.children].slice(0, n).map(c => c.innerText.replace(/[▲▼]/g, '').trim());
        const col = heads.indexOf('accuracy');
        return [...g.children].slice(n).filter((_, i) => i % n === col).map(c => c.innerText.trim()).join(','); }"""

    def sorted_as(arrow: str, expected: list[str]) -> None:
        headers.filter(has_text="accuracy").click()
        try:
            page.wait_for_function(f"[...document.querySelectorAll('.mlops-sort-header')].some(b => "
                                   f"b.innerText.includes('accuracy {arrow}')) && ({column})() === "
                                   f"{json.dumps(','.join(expected))}", timeout=10_000)
        except Exception:
            raise AssertionError(f"accuracy column after a click: {page.evaluate(column)!r}") from None

    sorted_as("▼", ["0.93", "0.82", "0.71"])  # a metric sorts best first
    sorted_as("▲", ["0.71", "0.82", "0.93"])  # a second click reverses
    grid.scroll_into_view_if_needed()
    screenshot(page, "widgets-runs-table")

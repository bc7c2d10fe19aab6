"""The MLOps sidebar, cell badges and mark-stage command in a real JupyterLab and Chromium."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lab_harness import Lab, open_lab, screenshot, write_notebook

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def demo(lab: Lab) -> dict[str, Any]:
    """demo.ipynb with three stage cells and one setup cell, and runs recorded in the lab's store."""
    from mlops_magic.store import clear_cache, open_store

    write_notebook(lab.root / "demo.ipynb", [
        ("%load_ext mlops_magic", []),
        ("x = 1  # setup", []),
        ("%%mlops stage data\nrows = 100", []),
        ("model = 'fitted'", ["mlops:train"]),
        ("%%mlops stage evaluate --name holdout\nacc = 0.9", []),
    ])
    clear_cache()
    store = open_store(str(lab.root))
    runs = []
    for i in range(25):
        run = store.create_run(notebook="demo.ipynb", trigger="manual" if i % 2 else "schedule",
                               params={"n_estimators": 10 * (i + 1)})
        for kind in ("data", "train"):
            stage = store.start_stage(run.id, kind)
            store.finish_stage(stage.id, "failed" if (kind == "train" and i == 24) else "succeeded")
        store.log_metrics(run.id, [("accuracy", 0.6 + 0.01 * i + 0.02 * s, s) for s in range(5)])
        store.finish_run(run.id, "failed" if i == 24 else "succeeded")
        runs.append(run.id)
    from sklearn.dummy import DummyClassifier

    from mlops_magic.registry import versions as registry

    for _ in range(2):
        registry.register(store, DummyClassifier().fit([[0], [1]], [0, 1]), "churn", run_id=runs[-1])
    clear_cache()
    return {"runs": runs}


def open_panel(page: Any) -> None:
    page.click('li[data-id="mlops-magic:panel"]')
    page.wait_for_selector(".mlops-panel .mlops-stage[data-kind='data']", timeout=15_000)


def test_panel_shows_lifecycle_runs_and_detail(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    open_lab(page, lab, "demo.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=20_000)
    open_panel(page)
    panel = page.locator(".mlops-panel")
    assert panel.locator(".mlops-notebook").inner_text() == "demo.ipynb"

    stage = panel.locator(".mlops-lifecycle .mlops-stage")
    page.wait_for_function(
        "document.querySelector(\".mlops-stage[data-kind='train']\")?.dataset.status === 'failed'")
    assert stage.locator(".mlops-kind").all_inner_texts() == [
        "problem", "data", "train", "evaluate", "deploy", "monitor"]
    assert panel.locator(".mlops-stage[data-kind='data']").get_attribute("data-status") == "succeeded"
    assert panel.locator(".mlops-stage[data-kind='evaluate']").get_attribute("data-status") == "never"
    assert "holdout" in panel.locator(".mlops-stage[data-kind='evaluate']").inner_text()

    rows = panel.locator(".mlops-run-row")
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 20")
    assert "1–20 of 25" in panel.locator(".mlops-pager").inner_text()
    assert rows.first.get_attribute("data-run-id") == demo["runs"][-1]

    # Cell badges: kind and latest status on the three stage cells, none on the setup cell.
    page.wait_for_function("document.querySelectorAll('.mlops-cell-badge').length === 3")
    # Badges appear first and take their statuses when the lifecycle answer arrives.
    page.wait_for_function(
        "[...document.querySelectorAll('.mlops-cell-badge')].map(b => b.dataset.status).join() === "
        "'succeeded,failed,never'", timeout=15_000)
    badges = page.locator(".mlops-cell-badge")
    assert badges.all_inner_texts() == ["data ✓", "train ✗", "evaluate"]
    assert [badges.nth(i).get_attribute("data-status") for i in range(3)] == ["succeeded", "failed", "never"]
    assert "holdout" in (badges.nth(2).get_attribute("title") or "")
    screenshot(page, "panel-lifecycle-runs")

    # Keyboard: the next page, then a run's detail, are reachable with Tab/Enter.
    panel.locator(".mlops-pager button", has_text="Older").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('.mlops-pager')?.innerText.includes('21–25 of 25')")
    rows.first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".mlops-detail", timeout=10_000)
    detail = panel.locator(".mlops-detail")
    assert "n_estimators" in detail.locator(".mlops-params").inner_text()
    page.wait_for_selector(".mlops-detail .mlops-sparkline", timeout=10_000)
    screenshot(page, "panel-run-detail")
    # "Open report": the run's HTML report, fetched with the browser's own Jupyter session.
    href = detail.locator(".mlops-report-link").get_attribute("href") or ""
    report = page.request.get(href if href.startswith("http") else lab.url.rstrip("/") + href)
    assert report.ok and report.headers["content-type"].startswith("text/html")
    assert "sandbox" in report.headers["content-security-policy"]
    shown_run = (detail.get_attribute("aria-label") or "").removeprefix("Run ")
    assert shown_run and shown_run in report.text()
    page.keyboard.press("Enter")  # focus is on "‹ All runs"
    page.wait_for_selector(".mlops-run-list", timeout=10_000)

    # Models: promote asks first, champion vs challenger side by side; the outcome shows by the model.
    model = panel.locator(".mlops-model[data-model='churn']")
    model.locator(".mlops-promote").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".mlops-compare").wait_for(timeout=10_000)
    assert "Nothing is in production yet" in dialog.inner_text()
    assert "v2 (challenger)" in dialog.locator(".mlops-compare-table thead").inner_text()
    screenshot(page, "panel-promote-confirm")
    dialog.locator(".jp-mod-warn").click()
    message = model.locator(".mlops-model-message")
    message.wait_for(timeout=10_000)
    assert "production: v– → v2 (promoted)" in message.inner_text()
    page.wait_for_function("document.querySelector(\".mlops-model[data-model='churn']\")?.innerText"
                           ".includes('production→v2')")
    assert page.locator(".mlops-actions .mlops-message").count() == 0  # not by "Run headlessly now"
    screenshot(page, "panel-models")

    errors = [e for e in page.console_errors if "mlops" in e.lower()]
    assert errors == []


def test_mark_cell_as_stage_and_run_now(page: Any, lab: Lab, demo: dict[str, Any]) -> None:
    open_lab(page, lab, "demo.ipynb")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=20_000)
    open_panel(page)

    # Select the setup cell (command mode) and mark it through the command palette.
    setup_cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    setup_cell.locator(".jp-InputPrompt").click()
    palette_input = page.locator("#modal-command-palette .lm-CommandPalette-input")
    for _ in range(3):  # the shortcut is live once Lab has loaded its keymap; retry until the palette shows
        page.keyboard.press("Control+Shift+C")
        try:
            palette_input.wait_for(state="visible", timeout=3_000)
            break
        except Exception:
            setup_cell.locator(".jp-InputPrompt").click()
    palette_input.fill("Mark Cell as MLOps Stage: monitor")
    page.locator("#modal-command-palette .lm-CommandPalette-item.lm-mod-active",
                 has_text="MLOps Stage: monitor").wait_for(timeout=5_000)
    page.keyboard.press("Enter")
    setup_cell.locator(".mlops-cell-badge").wait_for(timeout=10_000)
    assert setup_cell.locator(".mlops-cell-badge").inner_text() == "monitor"

    # Change it with the cell toolbar button, which asks for the kind.
    setup_cell.hover()
    page.locator(".jp-cell-toolbar [data-command='mlops:mark-stage']").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select").select_option("deploy")
    dialog.locator(".jp-mod-accept").click()
    page.wait_for_function(
        "document.querySelector('.jp-Cell .mlops-cell-badge')?.dataset.kind === 'deploy'")

    # The lifecycle shows the new stage (it reads the open document's cells, saved or not); saved (the tab
    # is no longer dirty once the server has written the file), the file has the tag.
    page.wait_for_function(
        "document.querySelector(\".mlops-stage[data-kind='deploy']:not(.mlops-stage-missing)\") !== null",
        timeout=15_000)
    page.keyboard.press("Control+s")
    page.wait_for_function("document.querySelector('.lm-DockPanel-tabBar .jp-mod-dirty') === null", timeout=15_000)
    saved = json.loads((lab.root / "demo.ipynb").read_text())
    assert saved["cells"][1]["metadata"]["tags"] == ["mlops:deploy"]
    screenshot(page, "panel-marked-stage")

    # Run headlessly now: a new run appears and finishes, watched live.
    page.click(".mlops-run-now")
    page.wait_for_selector(".mlops-message:not(:text('Starting'))", timeout=15_000)
    message = page.locator(".mlops-message").inner_text()
    assert "started" in message
    run_id = message.split()[1]
    # The panel polls while a run is running: watch it appear and finish without a reload.
    page.wait_for_function(
        f"document.querySelector('.mlops-run-row')?.dataset.runId.startsWith('{run_id}') && "
        "document.querySelector('.mlops-run-row').classList.contains('mlops-status-succeeded')",
        timeout=60_000)
    assert page.locator(".mlops-stage[data-kind='deploy']").get_attribute("data-status") == "succeeded"
    page.wait_for_function("document.querySelector(\".mlops-cell-badge[data-kind='train']\")"
                           "?.dataset.status === 'succeeded'", timeout=10_000)
    screenshot(page, "panel-run-now")

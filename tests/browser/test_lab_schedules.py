"""Schedules and parameterised run-now from the MLOps sidebar, in a real JupyterLab and Chromium."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from lab_harness import Lab, open_lab, screenshot

pytestmark = pytest.mark.browser
API = "mlops/api/v1"


@pytest.fixture(scope="module")
def notebook(lab: Lab) -> str:
    cells = [("n = 3  # rows\nlabel = 'demo'", ["parameters"]), ("%load_ext mlops_magic", []),
             ("%%mlops stage data\nrows = list(range(n))", []), ("%%mlops stage train\nmodel = sum(rows)", [])]
    nb = {
        "cells": [{"cell_type": "code", "id": f"cell-{i}", "metadata": {"tags": tags} if tags else {},
                   "source": src, "outputs": [], "execution_count": None} for i, (src, tags) in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (lab.root / "sched.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (lab.root / "data").mkdir(exist_ok=True)
    (lab.root / "data" / "train.csv").write_text("x\n1\n", encoding="utf-8")
    return "sched.ipynb"


def schedules(lab: Lab) -> list[dict[str, Any]]:
    return lab.api(f"{API}/schedules?notebook=sched.ipynb")["schedules"]


def test_add_pause_remove_schedule_and_run_with_params(page: Any, lab: Lab, notebook: str) -> None:
    open_lab(page, lab, notebook)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=20_000)
    page.click('li[data-id="mlops-magic:panel"]')
    section = page.locator(".mlops-panel .mlops-schedules")
    section.locator(".mlops-empty", has_text="No schedules").wait_for(timeout=15_000)

    # The form opens and submits from the keyboard; a bad cron string is refused with the server's line.
    summary = section.locator(".mlops-schedule-add-summary")
    summary.focus()
    page.keyboard.press("Enter")
    section.locator(".mlops-schedule-cron").fill("every night")
    section.locator(".mlops-schedule-cron").press("Enter")
    error = section.locator(".mlops-schedule-message.mlops-error")
    error.wait_for(timeout=10_000)
    assert "bad cron expression" in error.inner_text()
    screenshot(page, "panel-schedule-form")

    section.locator(".mlops-schedule-cron").fill("0 2 * * *")
    section.locator(".mlops-schedule-globs").fill("data/*.csv")
    section.locator(".mlops-schedule-stages").fill("train")
    section.locator(".mlops-schedule-stages").press("Enter")
    row = section.locator(".mlops-schedule")
    row.wait_for(timeout=10_000)
    assert "cron 0 2 * * *; on-change data/*.csv" in row.locator(".mlops-schedule-triggers").inner_text()
    assert row.locator(".mlops-schedule-next").inner_text().startswith("next ")
    assert "stages train" in row.inner_text()
    [saved] = schedules(lab)
    assert saved["stages"] == ["train"] and saved["on_change"] == ["data/*.csv"] and not saved["paused"]
    assert row.get_attribute("data-schedule-id") == saved["id"]
    row.scroll_into_view_if_needed()
    screenshot(page, "panel-schedules")

    row.locator(".mlops-schedule-pause").focus()  # pausing from the keyboard keeps the focus on the row
    page.keyboard.press("Enter")
    page.wait_for_selector(".mlops-schedule[data-paused='true']", timeout=10_000)
    page.wait_for_function("document.activeElement?.classList.contains('mlops-schedule-resume')", timeout=5_000)
    assert row.locator(".mlops-schedule-next").inner_text() == "paused"
    assert schedules(lab)[0]["paused"] is True
    screenshot(page, "panel-schedules-paused")

    row.locator(".mlops-schedule-remove").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    section.locator(".mlops-empty", has_text="No schedules").wait_for(timeout=10_000)
    assert schedules(lab) == []

    # Run headlessly with parameters: the form starts from the notebook's parameters cell.
    page.locator(".mlops-run-params summary").click()
    params = page.locator(".mlops-params-input")
    # The box is filled once the notebook's parameters cell has been read: wait for it, don't race it.
    page.wait_for_function("document.querySelector('.mlops-params-input')?.value !== ''", timeout=15_000)
    assert params.input_value() == "n=3\nlabel='demo'"
    params.fill("n=5\nlabel=nightly")
    page.click(".mlops-run-now")
    page.wait_for_selector(".mlops-message:has-text('started')", timeout=15_000)
    assert "with n, label" in page.locator(".mlops-message").inner_text()
    run_id = page.locator(".mlops-message").inner_text().split()[1]
    run = wait_for_run(lab, run_id)
    assert run["params"] == {"n": 5, "label": "nightly"} and run["status"] == "succeeded", run

    errors = [e for e in page.console_errors if "mlops" in e.lower()]
    assert errors == []


def test_an_update_keeps_focus_and_typing_in_the_schedule_form(page: Any, lab: Lab, notebook: str) -> None:
    """The flaky full-run failure of the test above was a poll re-rendering the DOM between focusing the
    form and pressing a key. The panel now patches in place: new data arriving (a run recorded by another
    kernel) leaves the focused control, its text and its caret alone, and the section is the same node."""
    from mlops_magic.store import clear_cache, open_store

    open_lab(page, lab, notebook)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=20_000)
    page.click('li[data-id="mlops-magic:panel"]')
    section = page.locator(".mlops-panel .mlops-schedules")
    section.locator(".mlops-empty", has_text="No schedules").wait_for(timeout=15_000)
    page.locator(".mlops-panel .mlops-runs").wait_for()
    page.evaluate("document.querySelector('.mlops-panel .mlops-schedules').__kept = 'yes'")
    runs_before = page.locator(".mlops-panel .mlops-run-row").count()

    def new_run() -> None:  # data changes: the next poll renders the runs list anew
        clear_cache()
        store = open_store(str(lab.root))
        store.finish_run(store.create_run(notebook=notebook, trigger="manual").id, "succeeded")
        clear_cache()

    section.locator(".mlops-schedule-add-summary").focus()
    new_run()
    page.wait_for_function(f"document.querySelectorAll('.mlops-panel .mlops-run-row').length > {runs_before}",
                           timeout=15_000)
    assert page.evaluate("document.activeElement.className") == "mlops-schedule-add-summary"
    page.keyboard.press("Enter")
    cron = section.locator(".mlops-schedule-cron")
    cron.wait_for(state="visible", timeout=5_000)
    cron.focus()
    page.keyboard.type("every")
    runs_now = page.locator(".mlops-panel .mlops-run-row").count()
    new_run()
    page.wait_for_function(f"document.querySelectorAll('.mlops-panel .mlops-run-row').length > {runs_now}",
                           timeout=15_000)
    assert page.evaluate("[document.activeElement.classList.contains('mlops-schedule-cron'), "
                         "document.activeElement.value, document.activeElement.selectionStart, "
                         "document.querySelector('.mlops-panel .mlops-schedules').__kept]") == [True, "every", 5, "yes"]
    page.keyboard.type(" night")
    page.keyboard.press("Enter")
    error = section.locator(".mlops-schedule-message.mlops-error")
    error.wait_for(timeout=10_000)
    assert "bad cron expression" in error.inner_text() and schedules(lab) == []


def wait_for_run(lab: Lab, prefix: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            run = lab.api(f"{API}/runs/{prefix}")
            if run["status"] != "running":
                return run
        except Exception:  # not recorded yet
            pass
        time.sleep(0.3)
    return run

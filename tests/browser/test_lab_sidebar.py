"""The MLOps sidebar as a data scientist meets it (issue 13), in a real JupyterLab and Chromium.

Live without rebuilding (no DOM writes for a poll that changes nothing; focus, caret, scroll and
open sections survive one that does), one bad stage cell, the open document as the truth, renames,
the store line, promote/rollback confirmation, and numbers readable in the default 250 px sidebar.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from lab_harness import Lab, open_lab, screenshot, write_notebook

pytestmark = pytest.mark.browser
API = "mlops/api/v1"



STAGES = [("%load_ext mlops_magic", []), ("%%mlops stage problem\ngoal = 'churn'", []),
          ("%%mlops stage data\nrows = 100", []), ("model = 'fitted'", ["mlops:train"]),
          ("%%mlops stage evaluate --name holdout\nacc = 0.9", [])]


def record_runs(lab: Lab, notebook: str, n: int, *, params: dict[str, Any] | None = None,
                failed_last: bool = False) -> list[str]:
    from mlops_magic.store import clear_cache, open_store

    clear_cache()
    store = open_store(str(lab.root))
    ids = []
    for i in range(n):
        run = store.create_run(notebook=notebook, trigger="manual", params=params or {"n_estimators": 10 * (i + 1)})
        for kind in ("problem", "data", "train"):
            stage = store.start_stage(run.id, kind)
            store.finish_stage(stage.id, "succeeded")
        store.log_metrics(run.id, [("accuracy", 0.6 + 0.01 * i, 0), ("f1_score", 0.5 + 0.02 * i, 0),
                                   ("log_loss", 0.4 - 0.01 * i, 0)])
        store.finish_run(run.id, "failed" if failed_last and i == n - 1 else "succeeded")
        ids.append(run.id)
    clear_cache()
    return ids


def open_panel(page: Any, lab: Lab, notebook: str) -> Any:
    page.add_init_script(COUNT_FETCHES)
    open_lab(page, lab, notebook)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=20_000)
    page.click('li[data-id="mlops-magic:panel"]')
    page.wait_for_selector(".mlops-panel .mlops-stage[data-kind='data']", timeout=15_000)
    return page.locator(".mlops-panel")


class ApiLog:
    """Every mlops API response the page got: path, method, status."""

    def __init__(self, page: Any) -> None:
        self.calls: list[tuple[str, str, int]] = []
        page.on("response", lambda r: f"/{API}/" in r.url and self.calls.append(
            (r.url.split(f"/{API}/", 1)[1], r.request.method, r.status)))

    def count(self, endpoint: str, status: int | None = None) -> int:
        return sum(1 for url, _, s in self.calls if url.split("?")[0] == endpoint and (status is None or s == status))



# Counts the panel's lifecycle fetches as they complete (installed before Lab loads; the fake clock
# of the first test replaces `performance`, so resource timings cannot count them).
COUNT_FETCHES = """(() => { const fetch = window.fetch.bind(window); window.__mlopsLifecycleFetches = 0;
  window.fetch = (input, init) => { const url = String(input && input.url ? input.url : input);
    const answer = fetch(input, init);
    if (url.includes('/mlops/api/v1/lifecycle')) { answer.finally(() => { window.__mlopsLifecycleFetches++; }); }
    return answer; }; })()"""
LIFECYCLE_FETCHES = "window.__mlopsLifecycleFetches"


def wait_for_polls(page: Any, n: int) -> None:
    """Until `n` more lifecycle fetches completed, and one more: so the `n`-th round was fully handled
    (the Poll starts a round only after the previous one resolved)."""
    start = page.evaluate(LIFECYCLE_FETCHES)
    page.wait_for_function(f"{LIFECYCLE_FETCHES} >= {start + n + 1}", timeout=10_000 + 6_000 * (n + 1))


OBSERVE = """() => {
  window.__mlopsMutations = [];
  const record = list => { for (const m of list) {
    const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    const text = (t?.textContent ?? '').slice(0, 40);
    window.__mlopsMutations.push(`${m.type} ${m.attributeName ?? ''} <${t?.tagName}.${t?.className}> ${text}`);
  } };
  const options = {subtree: true, childList: true, attributes: true, characterData: true};
  window.__mlopsObservers = [new MutationObserver(record), new MutationObserver(record)];
  window.__mlopsObservers[0].observe(document.querySelector('.mlops-panel'), options);
  for (const area of document.querySelectorAll('.jp-Notebook .jp-Cell .jp-InputArea')) {
    window.__mlopsObservers[1].observe(area, {childList: true});
  }
  for (const badge of document.querySelectorAll('.mlops-cell-badge')) {
    window.__mlopsObservers[1].observe(badge, options);
  }
}"""


@pytest.fixture(scope="module")
def quiet(lab: Lab) -> dict[str, Any]:
    write_notebook(lab.root / "quiet.ipynb", [*STAGES, ("n = 1", ["parameters"])])
    return {"runs": record_runs(lab, "quiet.ipynb", 5)}


def test_a_poll_that_changes_nothing_writes_nothing(page: Any, lab: Lab, quiet: dict[str, Any]) -> None:
    page.clock.set_fixed_time(datetime.now(timezone.utc))  # "6 s ago" stays "6 s ago": only data may change
    log = ApiLog(page)
    panel = open_panel(page, lab, "quiet.ipynb")
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 5")
    page.wait_for_function("document.querySelectorAll('.mlops-cell-badge[data-status=\"succeeded\"]').length === 3")
    wait_for_polls(page, 1)  # everything has been fetched once with the panel open
    page.evaluate(OBSERVE)
    wait_for_polls(page, 3)
    mutations = page.evaluate("window.__mlopsMutations")
    assert mutations == [], mutations[:10]
    assert log.count("lifecycle", 404) == 0
    assert panel.locator(".mlops-run-row").count() == 5


def test_focus_caret_scroll_and_open_sections_survive_an_update(page: Any, lab: Lab, quiet: dict[str, Any]) -> None:
    log = ApiLog(page)
    panel = open_panel(page, lab, "quiet.ipynb")
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 5")
    page.locator(".mlops-run-params summary").click()
    params = page.locator(".mlops-params-input")
    page.wait_for_function("document.querySelector('.mlops-params-input')?.value === 'n=1'")
    params.focus()
    page.keyboard.press("End")
    page.keyboard.type("0\nlr=0.1")
    page.keyboard.press("ArrowLeft")
    page.evaluate("""() => { document.querySelector('.mlops-panel').scrollTop = 120;
      document.querySelector('.mlops-runs').__kept = 'yes';
      document.querySelector('.mlops-schedule-add').open = true; }""")
    scroll = page.evaluate("document.querySelector('.mlops-panel').scrollTop")
    # New data: a run recorded by "another kernel"; the list grows on the next poll.
    record_runs(lab, "quiet.ipynb", 1)
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 6", timeout=20_000)
    state = page.evaluate("""() => { const a = document.activeElement;
      return [a.classList.contains('mlops-params-input'), a.value, a.selectionStart,
              document.querySelector('.mlops-run-params').open, document.querySelector('.mlops-schedule-add').open,
              document.querySelector('.mlops-runs').__kept, document.querySelector('.mlops-panel').scrollTop]; }""")
    assert state == [True, "n=10\nlr=0.1", len("n=10\nlr=0."), True, True, "yes", scroll]
    page.keyboard.type("5")  # at the caret, before the last "1"
    assert params.input_value() == "n=10\nlr=0.51"
    assert log.count("lifecycle", 404) == 0
    panel.locator(".mlops-run-row").first.wait_for()


@pytest.fixture(scope="module")
def cramped(lab: Lab) -> dict[str, Any]:
    from mlops_magic.store import clear_cache, open_store

    write_notebook(lab.root / "cramped.ipynb", STAGES)
    long_value = "s3://bucket/very/long/prefix/of/a/training/data/path/2026-12-01/part-0000.parquet"
    ids = record_runs(lab, "cramped.ipynb", 2, params={"learning_rate": 0.1, "data_path": long_value})
    clear_cache()
    store = open_store(str(lab.root))
    store.log_artifact_bytes(ids[-1], "model.skops", b"x" * 143033)
    clear_cache()
    return {"runs": ids, "long": long_value}


def test_numbers_read_well_in_the_default_sidebar(page: Any, lab: Lab, cramped: dict[str, Any]) -> None:
    panel = open_panel(page, lab, "cramped.ipynb")
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 2")
    width = page.evaluate("document.querySelector('.mlops-panel').getBoundingClientRect().width")
    assert 200 <= width <= 300, width  # Lab's default sidebar

    # Metrics read as "accuracy 0.61", never cut to "accuracy=0.…"; durations on one line.
    row = panel.locator(".mlops-run-row").first
    assert row.locator(".mlops-metric").all_inner_texts() == ["accuracy 0.61", "f1_score 0.52", "log_loss 0.39"]
    wrapped = page.evaluate("""[...document.querySelectorAll(
          '.mlops-run-row .mlops-metric, .mlops-panel .mlops-duration, .mlops-panel .mlops-ago')]
        .filter(e => e.textContent && (e.scrollWidth > e.clientWidth + 1
                     || e.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(e).fontSize)))
        .map(e => [e.className, e.textContent, e.scrollWidth, e.clientWidth, e.getBoundingClientRect().height])""")
    assert wrapped == []
    # The status filter is in the panel's font size (13 px), not the 15.6 px of a styled select.
    sizes = page.evaluate("""[getComputedStyle(document.querySelector('.mlops-status-filter')).fontSize,
        getComputedStyle(document.querySelector('.mlops-run-row .mlops-status')).fontSize]""")
    assert sizes[0] == sizes[1], sizes
    # Badges keep the kind whole and do not cover the [ ]: prompt.
    page.wait_for_function("document.querySelectorAll('.mlops-cell-badge').length === 4")
    badges = page.evaluate("""[...document.querySelectorAll('.mlops-cell-badge')].map(b => {
        const prompt = b.closest('.jp-InputArea').querySelector('.jp-InputPrompt');
        const r = b.getBoundingClientRect(), p = prompt.getBoundingClientRect();
        const text = document.createRange(); text.selectNodeContents(prompt); const t = text.getBoundingClientRect();
        return [b.textContent, b.scrollWidth <= b.clientWidth + 1, r.left >= p.left - 1 && r.right <= p.right + 1,
                r.top >= t.bottom - 1]; })""")
    assert [b[0].split(" ")[0] for b in badges] == ["problem", "data", "train", "evaluate"], badges
    assert all(b[1] and b[2] and b[3] for b in badges), badges
    screenshot(page, "sidebar-cramped")

    # A filter with no match says so.
    page.select_option(".mlops-status-filter", "failed")
    panel.locator(".mlops-empty", has_text="No failed runs.").wait_for(timeout=10_000)
    options = page.eval_on_selector_all(".mlops-status-filter option", "os => os.map(o => o.value)")
    assert "queued" in options and "skipped" in options
    page.select_option(".mlops-status-filter", "")
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 2")

    # Run detail: parameters as given, long values cut with the full value in the tooltip, human sizes.
    row.click()
    detail = panel.locator(".mlops-detail")
    detail.wait_for(timeout=10_000)
    assert detail.locator(".mlops-params tr", has_text="learning_rate").locator("td").inner_text() == "0.1"
    long_td = detail.locator(".mlops-params tr", has_text="data_path").locator("td")
    assert long_td.get_attribute("title") == cramped["long"]
    assert long_td.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).textOverflow === 'ellipsis'")
    assert detail.locator(".mlops-artifacts .mlops-size").inner_text() == "139.7 KiB"
    screenshot(page, "sidebar-run-detail")
    errors = [e for e in page.console_errors if "mlops" in e.lower()]
    assert errors == []


@pytest.fixture(scope="module")
def models(lab: Lab) -> dict[str, Any]:
    from sklearn.dummy import DummyClassifier

    from mlops_magic.registry import aliases
    from mlops_magic.registry import versions as registry
    from mlops_magic.store import clear_cache, open_store

    write_notebook(lab.root / "models.ipynb", STAGES)
    ids = record_runs(lab, "models.ipynb", 3)
    clear_cache()
    store = open_store(str(lab.root))
    for run_id in (ids[0], ids[2]):  # v1: accuracy 0.6; v2: accuracy 0.62
        registry.register(store, DummyClassifier().fit([[0], [1]], [0, 1]), "ranker", run_id=run_id)
    aliases.promote(store, "ranker", "production", version=1)
    clear_cache()
    return {"runs": ids}


def test_promote_and_rollback_confirm_with_champion_and_challenger(page: Any, lab: Lab, models: dict[str, Any]) -> None:
    panel = open_panel(page, lab, "models.ipynb")
    model = panel.locator(".mlops-model[data-model='ranker']")
    model.wait_for(timeout=15_000)
    model.locator(".mlops-promote").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".mlops-compare-table").wait_for(timeout=10_000)
    head = dialog.locator(".mlops-compare-table thead").inner_text()
    assert "v1 (production)" in head and "v2 (challenger)" in head
    accuracy = dialog.locator("tr[data-metric='accuracy']")
    assert accuracy.get_attribute("class") == "mlops-differs"
    assert re.sub(r"\s+", " ", accuracy.inner_text()).strip() == "accuracy 0.6 0.62 (+0.02)"
    assert "gate" in dialog.locator(".mlops-compare-gate").inner_text()
    screenshot(page, "sidebar-promote-confirm")
    dialog.locator(".jp-mod-reject").click()  # cancel: nothing moves
    dialog.wait_for(state="detached")
    ranker = next(m for m in lab.api(f"{API}/models")["models"] if m["name"] == "ranker")
    assert ranker["aliases"] == {"production": 1}

    model.locator(".mlops-promote").click()
    page.locator(".jp-Dialog .jp-mod-warn").click()
    message = model.locator(".mlops-model-message")
    message.wait_for(timeout=10_000)
    assert message.inner_text() == "production: v1 → v2 (promoted)"
    assert page.locator(".mlops-actions .mlops-message").count() == 0

    model.locator(".mlops-rollback").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".mlops-compare-table").wait_for(timeout=10_000)
    head = dialog.locator(".mlops-compare-table thead").inner_text()
    assert "v2 (production)" in head and "v1 (rollback target)" in head
    dialog.locator(".jp-mod-warn").click()
    page.wait_for_function("document.querySelector(\".mlops-model[data-model='ranker'] .mlops-model-message\")"
                           "?.innerText === 'production: v2 → v1 (rolled back)'", timeout=10_000)


def test_one_failing_section_leaves_the_others(page: Any, lab: Lab, quiet: dict[str, Any]) -> None:
    """Fault injection on the real server: the models route answers 500; the rest still shows."""
    page.route(re.compile(rf".*/{API}/models(\?.*)?$"), lambda route: route.fulfill(
        status=500, content_type="application/json",
        body=json.dumps({"message": "the registry is unreadable", "error": "StoreError", "status": 500})))
    panel = open_panel(page, lab, "quiet.ipynb")
    panel.locator(".mlops-models .mlops-section-error", has_text="registry is unreadable").wait_for(timeout=15_000)
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length >= 5")
    panel.locator(".mlops-schedules .mlops-empty", has_text="No schedules").wait_for(timeout=10_000)
    assert panel.locator(".mlops-lifecycle .mlops-stage[data-status='succeeded']").count() == 3


def test_store_line_names_the_store_read(page: Any, lab: Lab, quiet: dict[str, Any]) -> None:
    panel = open_panel(page, lab, "quiet.ipynb")
    info = lab.api(f"{API}/info?at=quiet.ipynb")
    line = panel.locator(".mlops-store")
    line.wait_for(timeout=10_000)
    # quiet.ipynb sits at the root, whose .mlops/ the session's tests share: named as the folder, the
    # URL in the tooltip.
    assert info["store"].startswith("sqlite:") and info["project"] == ""
    assert line.inner_text() == "store .mlops"
    assert info["store"] in (line.get_attribute("title") or "")


def test_run_now_command_runs_through_the_panel(page: Any, lab: Lab, quiet: dict[str, Any]) -> None:
    panel = open_panel(page, lab, "quiet.ipynb")
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click(position={"x": 8, "y": 6})
    palette = page.locator("#modal-command-palette .lm-CommandPalette-input")
    for _ in range(3):
        page.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=3_000)
            break
        except Exception:
            page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click(position={"x": 8, "y": 6})
    palette.fill("Run Notebook Headlessly Now")
    page.locator("#modal-command-palette .lm-CommandPalette-item.lm-mod-active",
                 has_text="Headlessly").wait_for(timeout=5_000)
    page.keyboard.press("Enter")
    panel.locator(".mlops-message", has_text="started").wait_for(timeout=15_000)


def test_a_deleted_notebook_is_not_polled(page: Any, lab: Lab) -> None:
    write_notebook(lab.root / "doomed.ipynb", STAGES)
    log = ApiLog(page)
    panel = open_panel(page, lab, "doomed.ipynb")
    (lab.root / "doomed.ipynb").unlink()  # gone behind Lab's back
    gone = panel.locator(".mlops-gone")
    gone.wait_for(timeout=15_000)
    assert "doomed.ipynb no longer exists" in gone.inner_text()
    seen = page.evaluate(LIFECYCLE_FETCHES)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with pytest.raises(PlaywrightTimeout):  # two poll periods: no further fetch of the missing path
        page.wait_for_function(f"{LIFECYCLE_FETCHES} > {seen}", timeout=2 * 5_000 + 1_000)
    assert log.count("lifecycle", 404) == 1


# -- against the server contract of issue 13 (POST lifecycle, invalid_cells, notebooks/rename) ----------
def test_a_mistyped_stage_cell_is_one_bad_cell(page: Any, lab: Lab) -> None:
    write_notebook(lab.root / "typo.ipynb", [("%load_ext mlops_magic", []), ("%%mlops stage data\nrows = 1", []),
                                             ("%%mlops stage trian\nmodel = 1", []), ("acc = 1", ["mlops:evaluate"])])
    record_runs(lab, "typo.ipynb", 1)
    panel = open_panel(page, lab, "typo.ipynb")
    badge = page.locator(".jp-Cell").nth(2).locator(".mlops-cell-badge")
    badge.wait_for(timeout=15_000)
    page.wait_for_function("document.querySelectorAll('.jp-Cell')[2].querySelector('.mlops-cell-error')"
                           "?.textContent.includes(\"unknown stage kind 'trian'\")", timeout=15_000)
    assert badge.get_attribute("data-status") == "invalid"
    colours = page.evaluate("""() => { const probe = document.createElement('span');
        probe.style.color = 'var(--mlops-error-ink)'; document.body.append(probe);
        const want = getComputedStyle(probe).color; probe.remove();
        const cell = document.querySelectorAll('.jp-Cell')[2];
        return [want, getComputedStyle(cell.querySelector('.mlops-cell-badge')).color,
                getComputedStyle(cell.querySelector('.mlops-cell-error')).color]; }""")
    assert colours[0] == colours[1] == colours[2], colours
    # Every section still loads.
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 1")
    panel.locator(".mlops-invalid-cell", has_text="trian").wait_for()
    panel.locator(".mlops-schedules .mlops-empty", has_text="No schedules").wait_for(timeout=10_000)
    panel.locator(".mlops-models h3").wait_for()
    assert panel.locator(".mlops-empty", has_text="Loading").count() == 0
    assert panel.locator(".mlops-stage[data-kind='evaluate']:not(.mlops-stage-missing)").count() == 1
    screenshot(page, "sidebar-typo-cell")


def test_the_open_document_is_the_truth(page: Any, lab: Lab) -> None:
    write_notebook(lab.root / "unsaved.ipynb", STAGES)
    record_runs(lab, "unsaved.ipynb", 1)
    log = ApiLog(page)
    panel = open_panel(page, lab, "unsaved.ipynb")
    page.wait_for_function("document.querySelector(\".mlops-stage[data-kind='deploy']\")?.classList"
                           ".contains('mlops-stage-missing')")
    # Type a new stage cell without saving: the lifecycle and the badge follow the document.
    page.locator(".jp-Notebook .jp-Cell").last.locator(".jp-InputPrompt").click(position={"x": 8, "y": 6})
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type("%%mlops stage deploy\nserve = True")
    page.wait_for_function("document.querySelector(\".mlops-stage[data-kind='deploy']:not(.mlops-stage-missing)\")",
                           timeout=10_000)
    page.keyboard.press("Escape")
    saved = json.loads((lab.root / "unsaved.ipynb").read_text())
    assert "deploy" not in saved["cells"][-1]["source"]  # not saved: the lifecycle read the open document
    assert panel.locator(".mlops-lifecycle-warning", has_text="no longer in the notebook").count() == 0
    page.wait_for_function("document.querySelector(\".mlops-cell-badge[data-kind='deploy']\") !== null")
    assert any(method == "POST" for url, method, _ in log.calls if url.startswith("lifecycle"))


def test_rename_follows_the_notebook_and_keeps_its_runs(page: Any, lab: Lab) -> None:
    write_notebook(lab.root / "before.ipynb", STAGES)
    ids = record_runs(lab, "before.ipynb", 2)
    log = ApiLog(page)
    panel = open_panel(page, lab, "before.ipynb")
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 2")
    # The usual way: File > Rename Notebook…
    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator(".lm-Menu-item[data-command='docmanager:rename']").click()
    name = page.locator(".jp-Dialog input")
    name.fill("after.ipynb")
    with page.expect_response(lambda r: "/notebooks/rename" in r.url, timeout=15_000) as renamed:
        page.locator(".jp-Dialog .jp-mod-accept").click()
    assert renamed.value.status == 200, renamed.value.text()
    assert renamed.value.json()["runs"] == 2
    page.wait_for_function("document.querySelector('.mlops-notebook')?.textContent === 'after.ipynb'", timeout=10_000)
    page.wait_for_function("document.querySelectorAll('.mlops-panel .mlops-run-row').length === 2", timeout=15_000)
    assert panel.locator(".mlops-run-row").first.get_attribute("data-run-id") == ids[-1]
    assert log.count("notebooks/rename", 200) == 1
    assert lab.api(f"{API}/runs?notebook=after.ipynb")["total"] == 2
    # Nothing polls the old path: a few more rounds, no 404.
    wait_for_polls(page, 2)
    assert log.count("lifecycle", 404) == 0
    assert not any("before.ipynb" in url for url, _, _ in log.calls[-6:])
    screenshot(page, "sidebar-renamed")

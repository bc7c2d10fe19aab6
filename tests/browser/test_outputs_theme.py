"""`%mlops compare` and a drift table in JupyterLab's dark and light themes, judged by computed colours.

What a person sees is measured, not the markup: for every differing value of the comparison, every cell
of a drifted row and every line of text in both outputs, the text colour and the background actually
behind it (the element's and its ancestors' backgrounds composited, as the browser paints them) must have
a WCAG contrast of at least 4.5:1; the charts must have no background of their own and draw their text in
the theme's colour. Screenshots: test-artifacts/outputs-dark.png and outputs-light.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contrast import MEASURE, _behind, _contrast_of, _luminance, _over, _rgba, contrast, low_contrast_text
from lab_harness import Lab, screenshot, theme
from test_widgets_browser import run_first_cells, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "outputs-theme.ipynb"
DRIFT_CELL = """import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
ref = pd.DataFrame({"age": rng.normal(40, 5, 2000), "income": rng.normal(50, 10, 2000)})
cur = pd.DataFrame({"age": rng.normal(47, 5, 2000), "income": rng.normal(50, 10, 2000)})"""

def test_contrast_helpers_agree_with_wcag() -> None:
    assert round(contrast((0, 0, 0), (1, 1, 1)), 1) == 21.0
    assert round(contrast(_over(_rgba("rgba(0, 0, 0, 0.87)"), (1, 1, 1)), (1, 1, 1)), 1) == 16.1  # #212121 on white
    assert _rgba("color(srgb 1 0.596 0 / 0.22)")[3] == 0.22
    white_on_pale_yellow = contrast((1, 1, 1), _behind(["rgb(255, 243, 205)"]))  # the old compare marking
    assert white_on_pale_yellow < 1.2


@pytest.fixture
def seeded(lab: Lab) -> Iterator[tuple[str, str]]:
    """Two runs of one notebook that differ in a parameter, a metric and their training data."""
    from mlops_magic.entities import Fingerprint
    from mlops_magic.store import clear_cache, open_store

    clear_cache()
    store = open_store(str(lab.root))
    ids = []
    for lr, base, rows, digest in ((0.1, 0.70, 10_000, "aa"), (0.2, 0.76, 12_500, "bb")):
        run = store.create_run(notebook="train.ipynb", trigger="manual", params={"learning_rate": lr, "depth": 4})
        stage = store.start_stage(run.id, "train")
        store.log_fingerprint(run.id, Fingerprint(digest=digest * 16, kind="dataframe", rows=rows,
                                                  schema={"age": "int64"}, name="train_df", role="input"),
                              stage_id=stage.id)
        store.log_metrics(run.id, [("accuracy", base + s / 100, s) for s in range(8)] + [("auc", base + 0.1, 0)])
        store.finish_stage(stage.id, "succeeded")
        store.finish_run(run.id, "succeeded")
        ids.append(run.id)
    clear_cache()
    yield ids[0], ids[1]


@pytest.fixture(name="theme")
def theme_fixture(lab: Lab, request: pytest.FixtureRequest) -> Iterator[str]:
    """JupyterLab's theme for this test (``lab_harness.theme``)."""
    with theme(lab, request.param) as name:
        yield name


@pytest.mark.parametrize("theme", ["dark", "light"], indirect=True)
def test_compare_and_drift_outputs_are_readable_in_the_theme(page: Any, lab: Lab, seeded: tuple[str, str],
                                                             theme: str) -> None:
    a, b = seeded
    write_notebook(lab.root / NOTEBOOK, [("%load_ext mlops_magic", []), (f"%mlops compare {a} {b}", []),
                                         (DRIFT_CELL, []), ("%mlops drift cur --reference ref --no-record", [])])
    run_first_cells(page, lab, NOTEBOOK, 4)
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{'false' if theme == 'dark' else 'true'}'",
                           timeout=30_000)
    compare = page.locator(".jp-OutputArea-output .mlops-compare-panel")
    compare.wait_for(timeout=60_000)
    compare.locator(".mlops-chart svg").first.wait_for(timeout=30_000)
    page.locator(".jp-OutputArea-output .mlops-drift tr.mlops-drifted").first.wait_for(timeout=60_000)

    # The differing values: the parameter, the metric and the data fingerprint of the train stage.
    diffs = page.evaluate(MEASURE, ".mlops-compare-panel .mlops-diff")
    texts = " ".join(d["text"] for d in diffs)
    assert "0.1" in texts and "0.2" in texts and "aaaaaaaaaaaa · 10,000 rows" in texts and "12,500 rows" in texts
    page_bg = _behind(page.evaluate(MEASURE, ".mlops-compare-panel")[0]["backgrounds"])
    assert (_luminance(page_bg) < 0.05) == (theme == "dark"), page_bg  # the theme really is the one asked for
    for d in diffs:
        ratio, bg = _contrast_of(d)
        assert ratio >= 4.5, f"{theme}: differing value {d['text']!r}: {d['color']} on {bg} is {ratio:.2f}:1"
        assert bg != page_bg, f"{theme}: the differing value {d['text']!r} is not marked"

    # The drifted rows: every cell readable on the row's tint.
    cells = page.evaluate(MEASURE, ".mlops-drift tr.mlops-drifted td")
    assert cells and any(c["text"] == "age" for c in cells)
    for c in cells:
        ratio, bg = _contrast_of(c)
        assert ratio >= 4.5, f"{theme}: drifted cell {c['text']!r}: {c['color']} on {bg} is {ratio:.2f}:1"
        assert bg != page_bg, f"{theme}: the drifted row is not marked"
    # p-values on one line each (a Range has one client rect per line box of its text).
    p_values = page.evaluate("""() => [...document.querySelectorAll('.mlops-drift tbody tr')].map(tr => {
        const range = document.createRange(); range.selectNodeContents(tr.children[4]);
        return [tr.children[4].textContent, range.getClientRects().length]; })""")
    assert p_values and all(lines == 1 for _, lines in p_values), p_values

    # The charts: no background of their own, text in the theme's colour, readable on the page.
    charts = page.evaluate(MEASURE, ".mlops-compare-panel .mlops-chart, .mlops-compare-panel .mlops-chart svg")
    assert all(_rgba(c["backgrounds"][0])[3] == 0 for c in charts), [c["backgrounds"][0] for c in charts]
    glyphs = page.evaluate(MEASURE, ".mlops-compare-panel .mlops-chart svg [style*='fill: currentColor']")
    assert glyphs and all(g["fill"] == g["color"] for g in glyphs)  # text drawn in the inherited theme colour
    for item in glyphs[:20]:
        ratio, bg = _contrast_of(item, "fill")
        assert ratio >= 4.5, f"{theme}: chart text {item['fill']} on {bg} is {ratio:.2f}:1"

    # Every line of text in both outputs (run ids, statuses, headings, the verdict, the notes).
    failures = [f for root in (".jp-OutputArea-output .mlops-compare-panel", ".jp-OutputArea-output .mlops-drift")
                for f in low_contrast_text(page, root)]
    assert not failures, f"{theme}: text below 4.5:1: " + "; ".join(failures[:10])

    compare.scroll_into_view_if_needed()
    page.locator(".mlops-compare-panel h4", has_text="Data fingerprints").scroll_into_view_if_needed()
    shot = screenshot(page, f"outputs-{theme}")
    page.locator(".mlops-drift").first.scroll_into_view_if_needed()
    screenshot(page, f"outputs-{theme}-drift")
    assert Path(shot).stat().st_size > 10_000
    errors = [e for e in page.console_errors if "widget" in e.lower() or "mlops" in e.lower()]
    assert errors == []

"""Metric plots and run comparison: PNG charts (fast, offline), tables with differences, escaping."""

from __future__ import annotations

import math
import time

from mlops_magic.tracking.session import get_session
from mlops_magic.widgets.charts import mpl_text, render_png
from mlops_magic.widgets.compare_panel import ComparePanel
from mlops_magic.widgets.data import Series
from mlops_magic.widgets.plot_panel import PlotPanel

EVIL = "<img src=x onerror=alert(1)>"
PNG = b"\x89PNG\r\n\x1a\n"


def test_ten_thousand_points_draw_as_one_png() -> None:
    xs = list(range(10_000))  # how long it takes is measured in benchmarks/bench_lab.py, not asserted here
    panels = [("loss", [Series("run a", xs, [math.exp(-x / 2000) for x in xs]),
                        Series("run b", xs, [math.exp(-x / 3000) for x in xs])])]
    png = render_png(panels, xlabel="step")
    assert png.startswith(PNG) and len(png) > 5_000


def test_user_text_is_literal_in_matplotlib() -> None:
    assert mpl_text("$x$") == r"\$x\$"  # not mathtext
    assert not mpl_text("_hidden").startswith("_")  # legend would otherwise drop it
    png = render_png([(EVIL + " $a_1$", [Series("_x", [0, 1, 2], [1.0, math.nan, 3.0])])], xlabel="step")
    assert png.startswith(PNG)


def test_plot_over_steps_and_across_runs(store, store_dir) -> None:
    session = get_session()
    ids = []
    for i in range(3):
        run = store.create_run(notebook="train.ipynb", trigger="schedule")
        store.log_metrics(run.id, [(k, v + i, s) for s in range(20) for k, v in (("accuracy", s / 20), (EVIL, 1.0))])
        store.finish_run(run.id, "succeeded")
        ids.append(run.id)
        time.sleep(0.01)
    panel = PlotPanel(session, ["accuracy", EVIL], run_id=ids[0])
    assert [len(s.x) for s in panel.series] == [20, 20] and panel.series[0].x[:3] == [0, 1, 2]
    assert panel.png.startswith(PNG)
    html = panel.html()
    assert EVIL not in html and "&lt;img src=x" in html and "data:image/png;base64," in html
    assert f"run {ids[0][:8]}" in panel.text()
    panel.widget  # noqa: B018
    before = panel._image.value
    toggle = panel.widget.children[0].children[0]
    toggle.value = "runs"
    assert panel.mode == "runs" and panel._image.value != before
    across = panel.series[0]
    assert across.y == [0.95, 1.95, 2.95] and across.x == sorted(across.x)
    assert "latest value per run" in panel.text()
    panel.close()


def test_plot_defaults_to_all_metrics_of_the_run(store, store_dir) -> None:
    run = store.create_run(notebook="nb.ipynb")
    store.log_metrics(run.id, [("b", 1.0, 0), ("a", 2.0, 0)])
    panel = PlotPanel(get_session(), [], run_id=run.id)
    assert panel.keys == ["a", "b"]


def test_compare_marks_differences_and_overlays_histories(store, store_dir) -> None:
    a = store.create_run(notebook="nb.ipynb", params={"lr": 0.1, "depth": 3, "only_a": EVIL})
    b = store.create_run(notebook="nb.ipynb", name=EVIL, params={"lr": 0.2, "depth": 3})
    for run, base in ((a, 0.5), (b, 0.6)):
        store.log_metrics(run.id, [("accuracy", base + s / 100, s) for s in range(5)])
    panel = ComparePanel(store, [a.id[:6], b.id])
    assert panel.differing_params == ["lr", "only_a"]
    assert [r.key for r in panel.comparison.metrics if r.differs] == ["accuracy"]
    assert [s.label for s in panel.comparison.histories["accuracy"]] == [a.id[:8], f"{b.id[:8]} {EVIL}"]
    html = panel.html()
    assert EVIL not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") >= 2
    assert "≠" in html and "data:image/png" in html
    text = panel.text()
    assert "≠ lr" in text and "  depth" in text
    panel.widget  # noqa: B018
    panel.set_only_diff(True)
    assert "depth" not in panel._tables.value and "lr" in panel._tables.value
    panel.close()


def test_drift_panel_wraps_a_drift_report() -> None:
    import numpy as np
    import pandas as pd

    from mlops_magic.monitoring import drift
    from mlops_magic.widgets.drift_panel import DriftPanel

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"age": rng.normal(40, 5, 2000), EVIL: rng.choice(["a", "b"], 2000)})
    cur = pd.DataFrame({"age": rng.normal(50, 5, 2000), EVIL: rng.choice(["a", "b"], 2000)})
    panel = DriftPanel(drift(ref, cur))
    assert panel.columns[0].column == "age" and panel.columns[0].drifted
    assert panel.chart_png().startswith(PNG) and panel.chart_png(EVIL).startswith(PNG)
    html = panel.html()
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    panel.widget  # noqa: B018
    before = panel._image.value
    panel.widget.children[0].value = EVIL
    assert panel.selected == EVIL and panel._image.value != before
    assert "age" in panel.text()
    panel.close()

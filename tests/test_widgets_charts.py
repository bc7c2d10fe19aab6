"""Metric plots and run comparison: themed SVG (and PNG) charts, tables with differences, escaping."""

from __future__ import annotations

import math
import re
import time

from mlops_magic.entities import Fingerprint
from mlops_magic.tracking.session import get_session
from mlops_magic.widgets.charts import _figure, mpl_text, render_png, render_svg
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
    assert panel.svg.startswith("<svg")
    html = panel.html()
    assert EVIL not in html and "&lt;img src=x" in html and "<svg" in html
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
    assert "≠" in html and "<svg" in html and "data:image/png" not in html
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


def _svg_colours(svg: str) -> set[str]:
    return set(re.findall(r"(?:fill|stroke): ?([^;\"]+)", svg))


def test_charts_follow_the_theme_transparent_background_and_current_colour_text() -> None:
    svg = render_svg([("accuracy", [Series("a", [0, 1, 2], [0.1, 0.5, 0.7])])], xlabel="step")
    colours = _svg_colours(svg)
    assert "currentColor" in colours  # text, ticks, axes: the theme's text colour
    assert not colours & {"#ffffff", "#000000", "white", "black"}, colours  # no white box, no fixed black text
    assert "#010203" not in svg and "#040506" not in svg  # every sentinel replaced
    assert "var(--jp-layout-color1, transparent)" in svg  # the legend box: the theme's page colour
    assert "<!--" not in svg and "<style" not in svg and "<?xml" not in svg
    assert 'style="width:100%;max-width:' in svg
    # The PNG keeps its white background for whoever wants an image.
    assert render_png([("accuracy", [Series("a", [0, 1], [0.1, 0.5])])], xlabel="step").startswith(PNG)


def test_user_text_in_a_chart_is_never_markup() -> None:
    svg = render_svg([(EVIL, [Series("--><script>alert(1)</script>", [0, 1], [1.0, 2.0])])], xlabel=EVIL)
    assert "<script" not in svg and "<img" not in svg


def test_a_metric_with_one_value_per_run_is_bars_not_one_point_lines() -> None:
    one = [Series("run a", [0], [0.81]), Series("run b", [0], [0.85])]
    fig = _figure([("accuracy", one)], xlabel="step", ylabel=None, time_axis=False, columns=2, dpi=72)
    [ax] = fig.axes
    assert len(ax.lines) == 0 and len(ax.patches) == 2  # two bars
    assert sorted(t.get_text() for t in ax.texts) == ["0.81", "0.85"]  # the values written on them
    fig = _figure([("loss", [Series("run a", [0, 1], [1.0, 0.5])])], xlabel="step", ylabel=None,
                  time_axis=False, columns=2, dpi=72)
    assert len(fig.axes[0].lines) == 1  # a history stays a line


def test_plot_of_a_metric_logged_once_is_a_bar(store, store_dir) -> None:
    run = store.create_run(notebook="nb.ipynb")
    store.log_metrics(run.id, [("auc", 0.91, 0)])
    panel = PlotPanel(get_session(), ["auc"], run_id=run.id)
    assert "<polyline" not in panel.svg
    assert "0.91" in panel.html()


def test_compare_parameters_as_given_and_themed_difference_marks(store, store_dir) -> None:
    from mlops_magic.widgets.compare_panel import DIFF_STYLE

    a = store.create_run(notebook="nb.ipynb", params={"lr": 0.1, "eps": 1e-5, "model": "gbm", "n": "3"})
    b = store.create_run(notebook="nb.ipynb", params={"lr": 0.12345678, "eps": 1e-5, "model": "rf", "n": "3"})
    panel = ComparePanel(store, [a.id, b.id])
    html = panel.html()
    for shown in (">0.1<", ">1e-05<", ">gbm<", ">0.12345678<", ">&#x27;3&#x27;<"):
        assert shown in html, shown
    assert "0.1000" not in html and "#fff3cd" not in html
    assert "color-mix(in srgb, var(--jp-warn-color1" in DIFF_STYLE and "transparent" in DIFF_STYLE
    assert html.count("class='mlops-diff'") == 4  # lr and model, in both runs
    assert "lr = " not in panel.text() and "≠ lr" in panel.text() and "0.12345678" in panel.text()


def _fp(digest: str, rows: int, columns: dict[str, str], name: str = "train_df", role: str = "input") -> Fingerprint:
    return Fingerprint(digest=digest * 16, kind="dataframe", rows=rows, schema=columns, name=name, role=role)


def test_compare_shows_the_data_fingerprint_difference_per_stage(store, store_dir) -> None:
    runs = []
    for digest, rows, columns in (("aa", 10_000, {"age": "int64"}), ("bb", 12_500, {"age": "int64", "city": "str"})):
        run = store.create_run(notebook="nb.ipynb", params={"lr": 0.1})
        for kind in ("data", "train"):
            stage = store.start_stage(run.id, kind)
            if kind == "train":
                store.log_fingerprint(run.id, _fp(digest, rows, columns), stage_id=stage.id)
                store.log_fingerprint(run.id, _fp("cc", 5, {"w": "float64"}, name="model", role="output"),
                                      stage_id=stage.id)
            store.finish_stage(stage.id, "succeeded")
        store.log_metrics(run.id, [("auc", 0.9, 0)])
        store.finish_run(run.id, "succeeded")
        runs.append(run)
    panel = ComparePanel(store, [r.id for r in runs])
    assert panel.differing_params == [] and [r.key for r in panel.comparison.metrics if r.differs] == []
    [changed] = panel.differing_data  # new data was the only change
    assert (changed.stage, changed.role, changed.name) == ("train", "input", "train_df")
    assert changed.changes == ["10,000 → 12,500 rows, columns added: city"]  # explain's own words
    html = panel.html()
    data = html.split("<h4>Data fingerprints</h4>")[1]
    assert "aaaaaaaaaaaa · 10,000 rows" in data and "bbbbbbbbbbbb · 12,500 rows" in data
    assert "≠" in data and data.count("class='mlops-diff'") == 2 and "columns added: city" in data
    assert "cccccccccccc · 5 rows" in data  # the unchanged output is listed, not marked
    assert "≠ train input train_df" in panel.text()
    panel.widget  # noqa: B018
    panel.set_only_diff(True)
    assert "train_df" in panel._tables.value and "cccccccccccc" not in panel._tables.value
    panel.close()


def test_compare_with_the_same_data_says_so(store, store_dir) -> None:
    ids = []
    for _ in range(2):
        run = store.create_run(notebook="nb.ipynb")
        stage = store.start_stage(run.id, "data")
        store.log_fingerprint(run.id, _fp("aa", 3, {"x": "int64"}), stage_id=stage.id)
        store.finish_stage(stage.id, "succeeded")
        ids.append(run.id)
    panel = ComparePanel(store, ids)
    assert panel.differing_data == [] and "the data is the same in every run" in panel.html()


def test_drift_table_themed_rows_and_p_values_that_do_not_wrap() -> None:
    import numpy as np
    import pandas as pd

    from mlops_magic.display.html import DRIFT_ROW_STYLE
    from mlops_magic.display.monitoring import drift_html
    from mlops_magic.monitoring import drift

    rng = np.random.default_rng(1)
    report = drift(pd.DataFrame({"age": rng.normal(40, 5, 3000), "flat": rng.normal(0, 1, 3000)}),
                   pd.DataFrame({"age": rng.normal(48, 5, 3000), "flat": rng.normal(0, 1, 3000)}))
    html = drift_html(report)
    assert "#fdecea" not in html and html.count(f'class="mlops-drifted" style="{DRIFT_ROW_STYLE}"') == 1
    assert "color-mix(in srgb, var(--jp-error-color1" in DRIFT_ROW_STYLE and "transparent" in DRIFT_ROW_STYLE
    p_value = next(c for c in report.columns if c.column == "age").p_value
    assert f'<td style="white-space:nowrap">{p_value:.3g}</td>' in html
    assert "color:#b3261e;color:color-mix(" in html  # the verdict: theme colour toward the theme's text

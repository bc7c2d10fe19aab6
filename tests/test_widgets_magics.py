"""The panel subcommands on a real IPython shell: widgets when a frontend exists, the core's views otherwise."""

from __future__ import annotations

import re

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from test_widgets_params import write_notebook

from mlops_magic.display.runs import LifecycleView
from mlops_magic.ipython.subcommands import SUBCOMMANDS, reference


def test_subcommands_are_registered_and_documented() -> None:
    for name in ("status", "runs", "compare", "plot", "params"):
        assert SUBCOMMANDS[name].target.startswith("mlops_magic.ipython.panels:")
    text = reference()
    assert "%mlops compare RUN RUN" in text and "--across-runs" in text and "--widget" in text


def test_terminal_ipython_keeps_static_status_and_dataframe(ip, monkeypatch) -> None:
    monkeypatch.delenv("MLOPS_WIDGETS", raising=False)
    assert ip.run_cell("%%mlops stage data\nx = 1").success
    view = ip.run_line_magic("mlops", "status")
    assert isinstance(view, LifecycleView) and "data" in repr(view)
    frame = ip.run_line_magic("mlops", "runs")
    assert type(frame).__name__ == "DataFrame" and len(frame) == 1
    with capture_output() as captured:
        ip.run_cell("%mlops status")
    assert "Lifecycle of run" in captured.stdout


def test_status_panel_updates_while_later_stage_cells_run(ip, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_WIDGETS", "1")
    assert ip.run_cell("%%mlops stage data\nx = 1").success
    panel = ip.run_line_magic("mlops", "status")
    assert type(panel).__name__ == "LifecyclePanel" and panel.live
    panel.widget  # noqa: B018
    assert panel.status_of("train") == "not run"
    ip.run_cell("%%mlops stage train\nraise RuntimeError('nope')")
    assert panel.status_of("train") == "failed" and panel._rows["train"][0].button_style == "danger"
    assert ip.run_cell("%%mlops stage train\nmodel = 1").success
    assert panel.status_of("train") == "succeeded" and "#2 of 2" in panel._rows["train"][2].value
    with capture_output() as captured:
        ip.run_cell("%mlops status --static")
    assert "Lifecycle of run" in captured.stdout
    panel.close()


def test_runs_widget_compare_plot_and_params(ip, monkeypatch, store_dir) -> None:
    monkeypatch.setenv("MLOPS_WIDGETS", "1")
    assert ip.run_cell("%%mlops stage train\n%mlops params lr=0.1\n%mlops metric accuracy=0.8").success
    first = ip.run_line_magic("mlops", "status").run_id
    ip.run_line_magic("mlops", "end")
    assert ip.run_cell("%%mlops stage train\n%mlops params lr=0.2\n%mlops metric accuracy=0.9").success
    table = ip.run_line_magic("mlops", "runs --widget --status succeeded,running --sort metrics.accuracy")
    assert type(table).__name__ == "RunsTable" and len(table.records) == 2
    assert table.records[0]["metrics"]["accuracy"] == 0.9
    assert type(ip.run_line_magic("mlops", "runs")).__name__ == "DataFrame"
    compare = ip.run_line_magic("mlops", f"compare {first[:8]} latest")
    assert compare.differing_params == ["lr"]
    plot = ip.run_line_magic("mlops", "plot accuracy")
    assert plot.mode == "steps" and plot.series[0].y == [0.9]
    across = ip.run_line_magic("mlops", "plot accuracy --across-runs")
    assert across.series[0].y == [0.8, 0.9]
    path = write_notebook(store_dir)
    params = ip.run_line_magic("mlops", f"params --widget --notebook {path}")
    assert type(params).__name__ == "ParamsPanel" and params.values()["epochs"] == 10
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(path))
    assert ip.run_line_magic("mlops", "params --widget").cell.cell_index == 1
    ip.run_line_magic("mlops", "params depth=4")  # the core's spelling still sets and logs
    assert ip.user_ns["depth"] == 4


@pytest.mark.parametrize("line, message", [
    ("compare onlyone", "the following arguments are required: RUN; usage: %mlops compare [-h] RUN RUN [RUN ...]"),
    ("compare nosuchrun1 nosuchrun2", "no run 'nosuchrun1'"),
    ("plot --across-runs", "name the metrics"),
    ("params --widget --notebook missing.ipynb", "no such notebook"),
])
def test_bad_arguments_are_one_line_usage_errors(ip, monkeypatch, line, message) -> None:
    monkeypatch.setenv("MLOPS_WIDGETS", "1")
    ip.run_cell("%%mlops stage data\nx = 1")
    with pytest.raises(UsageError, match=re.escape(message)):
        ip.run_line_magic("mlops", line)

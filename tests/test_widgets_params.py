"""The parameters panel: the cell parsed (never run) into typed controls, typed values to `mlops run`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.tracking.session import get_session
from mlops_magic.tracking.values import parse_literal
from mlops_magic.widgets.parameters import cli_value, parse_parameters, read_parameters, run_args
from mlops_magic.widgets.params_panel import Launch, ParamsPanel

CELL = '''\
# defaults for headless runs
epochs = 10
lr: float = 0.001
use_gpu = False
model = "gbm"  # choices: gbm, rf, 'linear model'
seed = -3  # choices: -3, 0, 7
note = "# choices: not, a, comment"
threshold = 1e-3
%matplotlib inline
data = load()            # not a literal: skipped, never called
shape = (3, 4)
'''


def write_notebook(folder: Path, source: str = CELL) -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# t", "id": "m"},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": source, "id": "p",
         "outputs": [], "execution_count": None},
    ]}
    path = folder / "train.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_parameters_cell_is_typed_with_choices_and_never_executed() -> None:
    specs, skipped = parse_parameters(CELL)
    got = {s.name: (s.value, s.kind, s.choices) for s in specs}
    assert got == {
        "epochs": (10, "int", ()), "lr": (0.001, "float", ()), "use_gpu": (False, "bool", ()),
        "model": ("gbm", "str", ("gbm", "rf", "linear model")), "seed": (-3, "int", (-3, 0, 7)),
        "note": ("# choices: not, a, comment", "str", ()), "threshold": (0.001, "float", ()),
    }
    assert skipped == ["data: not a literal value", "shape: tuple values have no control"]


def test_magic_spelling_and_bad_choices() -> None:
    specs, skipped = parse_parameters("%mlops params depth=3 name='x'\nk = 2  # choices: 1, two\n")
    assert {s.name: s.value for s in specs} == {"depth": 3, "name": "x", "k": 2}
    assert "k: choice" in skipped[0]
    with pytest.raises(InvalidInputError, match="not valid Python"):
        parse_parameters("x = = 1")


@pytest.mark.parametrize("value", [3, -7, 0.5, 1.0, 1e-05, 1e20, math.inf, True, False, "gbm", "3", "true",
                                   "none", "a b", '"quoted"', ""])
def test_cli_values_read_back_with_the_same_type(value) -> None:
    back = parse_literal(cli_value(value))
    assert type(back) is type(value) and back == value


def test_panel_controls_are_typed_and_run_headlessly_passes_typed_values(store_dir) -> None:
    path = write_notebook(store_dir)
    calls = []

    def launcher(notebook, params, store_url):
        calls.append((notebook, params, store_url))
        return Launch(argv=["mlops", *run_args(notebook, params)])

    panel = ParamsPanel(get_session(), read_parameters(path), launcher=launcher)
    panel.widget  # noqa: B018
    kinds = {n: type(c).__name__ for n, c in panel._controls.items()}
    assert kinds == {"epochs": "IntText", "lr": "FloatText", "use_gpu": "Checkbox", "model": "Dropdown",
                     "seed": "Dropdown", "note": "Text", "threshold": "FloatText"}
    panel._controls["epochs"].value = 25
    panel._controls["use_gpu"].value = True
    panel._controls["model"].value = "linear model"
    panel._controls["seed"].value = 7
    panel._controls["lr"].value = 1  # a FloatText holding an int still yields a float
    panel.run_headlessly()
    [(notebook, params, url)] = calls
    assert notebook == str(path) and url == get_session().store.url
    assert params == {"epochs": 25, "lr": 1.0, "use_gpu": True, "model": "linear model", "seed": 7,
                      "note": "# choices: not, a, comment", "threshold": 0.001}
    assert [type(v) for v in params.values()] == [int, float, bool, str, int, str, float]
    assert "mlops run" in panel._status.value
    panel.close()


def test_panel_static_views_escape_and_show_the_command(store_dir) -> None:
    evil = "<img src=x onerror=alert(1)>"
    path = write_notebook(store_dir, f"title = {evil!r}\n")
    panel = ParamsPanel(get_session(), read_parameters(path))
    html = panel.html()
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "run headlessly: <code>mlops run" in html
    assert f"title: str = {evil!r}" in panel.text()


def test_launch_reports_a_runner_that_exits_early(store_dir) -> None:
    import sys

    path = write_notebook(store_dir)

    def launcher(notebook, params, store_url):
        import subprocess

        argv = [sys.executable, "-c", "import sys; print('no such command'); sys.exit(2)"]
        log = store_dir / "log.txt"
        with log.open("wb") as fh:
            proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT)
        return Launch(argv=argv, process=proc, log_path=str(log))

    panel = ParamsPanel(get_session(), read_parameters(path), launcher=launcher)
    panel.run_headlessly()
    import time

    deadline = time.monotonic() + 10
    while "exit status 2" not in panel.status_html:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "no such command" in panel.status_html


@pytest.mark.slow
def test_run_headlessly_through_the_runner_with_typed_values(store_dir) -> None:
    import time

    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [
              {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "id": "p", "outputs": [],
               "execution_count": None, "source": 'epochs = 1\nmodel = "gbm"  # choices: gbm, rf, 3\n'},
              {"cell_type": "code", "metadata": {}, "id": "e", "outputs": [], "execution_count": None,
               "source": "%load_ext mlops_magic"},
              {"cell_type": "code", "metadata": {}, "id": "s", "outputs": [], "execution_count": None,
               "source": "%%mlops stage train\nimport mlops_magic as m\n"
                         "assert isinstance(epochs, int) and isinstance(model, str), (epochs, model)\n"
                         "m.log_metric('epochs', epochs)"},
          ]}
    path = store_dir / "headless.ipynb"
    path.write_text(json.dumps(nb))
    session = get_session()
    panel = ParamsPanel(session, read_parameters(path))
    panel.widget  # noqa: B018
    panel._controls["epochs"].value = 3
    panel._controls["model"].value = "3"  # a string choice that looks like a number stays a string
    launch = panel.run_headlessly()
    assert launch.run_id and launch.thread is not None
    deadline = time.monotonic() + 120
    while panel.run_panel is None or panel.run_panel.run.status == "running":
        assert time.monotonic() < deadline, panel.status_html
        time.sleep(0.2)
    run = session.store.get_run(launch.run_id)
    assert run.status == "succeeded", (run.error, launch.error)
    assert session.store.run_requested_params(run.id) == {"epochs": 3, "model": "3"}
    assert [m.value for m in session.store.metric_history(run.id, "epochs")] == [3.0]
    assert panel.run_panel.status_of("train") == "succeeded"
    assert panel._run_box.children == (panel.run_panel.widget,)
    panel.close()

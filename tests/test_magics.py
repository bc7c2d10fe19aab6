"""Stage cells on a real IPython shell behave exactly like plain cells, and are recorded."""

from __future__ import annotations

import json
import subprocess

import pytest
from _support import PYTHON, python_env
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from mlops_magic.ipython.subcommands import SUBCOMMANDS
from mlops_magic.tracking.session import get_session


def stages(ip):
    session = get_session()
    return session.store.list_stages(session.active_run_id())


def test_stage_cell_keeps_namespace_display_and_records_variables(ip) -> None:
    result = ip.run_cell("%%mlops stage data\nimport pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})\ndf.shape")
    assert result.success and result.result == (3, 1)
    assert ip.user_ns["df"].shape == (3, 1)
    [stage] = stages(ip)
    assert (stage.kind, stage.name, stage.status, stage.attempt) == ("data", "data", "succeeded", 1)
    assert {v.name: v.shape for v in stage.variables}["df"] == [3, 1]
    assert [f.name for f in stage.fingerprints] == ["df"] and stage.fingerprints[0].rows == 3
    assert stage.code_digest and stage.ended >= stage.started


def test_failing_stage_cell_reraises_user_error_with_cell_lines_and_next_cell_works(ip) -> None:
    with capture_output() as captured:
        result = ip.run_cell("%%mlops stage train --name gbm\nx = 1\n\nraise ValueError('bad data')")
    assert isinstance(result.error_in_exec, ValueError) and str(result.error_in_exec) == "bad data"
    assert "line 4" in captured.stdout  # the header line still counts: tracebacks match the cell
    [stage] = stages(ip)
    assert (stage.status, stage.error_type, stage.error_message, stage.error_line) == (
        "failed", "ValueError", "bad data", 4)
    after = ip.run_cell("%%mlops stage train --name gbm\ny = 2\ny")
    assert after.success and after.result == 2
    assert [(s.attempt, s.status) for s in stages(ip)] == [(1, "failed"), (2, "succeeded")]
    assert ip.run_cell("z = 3\nz").result == 3


def test_syntax_error_in_stage_marks_it_failed(ip) -> None:
    result = ip.run_cell("%%mlops stage evaluate\nx = = 1")
    assert result.error_before_exec is not None
    [stage] = stages(ip)
    assert stage.status == "failed" and stage.error_type == "SyntaxError"


def test_line_magics_and_assignment_inside_stage(ip) -> None:
    cell = ("%%mlops stage train\n%mlops params lr=0.1 depth=3 name='gbm' warm=true\n"
            "acc = 0.5 + lr\n%mlops metric accuracy=acc --step 3\n%mlops metric loss=nan\n"
            "runs = %mlops runs\nlen(runs)")
    result = ip.run_cell(cell)
    assert result.success, result.error_in_exec
    assert (ip.user_ns["lr"], ip.user_ns["depth"], ip.user_ns["name"], ip.user_ns["warm"]) == (0.1, 3, "gbm", True)
    assert result.result == 1
    run = get_session().active_run()
    assert run.params == {"lr": 0.1, "depth": 3, "name": "gbm", "warm": True}
    history = [m for m in get_session().store.metric_history(run.id) if not m.key.startswith("system.")]
    assert {(m.key, m.step) for m in history} == {("accuracy", 3), ("loss", 0)}
    assert all(m.stage_id == stages(ip)[0].id for m in history)


def test_display_and_rich_outputs_work_inside_stage(ip) -> None:
    with capture_output() as captured:
        ip.run_cell("%%mlops stage evaluate\nfrom IPython.display import display, HTML\n"
                    "display(HTML('<b>hi</b>'))\nprint('printed')")
    assert "printed" in captured.stdout
    assert len(captured.outputs) == 1  # display() published a rich output (HTML in a notebook frontend)


def test_rerunning_data_makes_train_stale_and_order_is_checked(ip) -> None:
    ip.run_cell("%%mlops stage train\nm = 1")
    ip.run_cell("%%mlops stage data\nd = 1")
    view = ip.run_line_magic("mlops", "status")
    train = next(s for s in view.view.stages if s.kind == "train")
    assert any("out of lifecycle order" in w for w in train.warnings)
    ip.run_cell("%%mlops stage train\nm = 2")
    ip.run_cell("%%mlops stage data\nd = 2")
    train = next(s for s in ip.run_line_magic("mlops", "status").view.stages if s.kind == "train")
    assert train.attempt == 2 and any("stale: data ran again" in w for w in train.warnings)
    assert "stale" in repr(ip.run_line_magic("mlops", "status"))


def test_a_failed_earlier_stage_warns_every_later_stage_until_it_succeeds(ip) -> None:
    def warnings() -> dict[str, list[str]]:
        view = ip.run_line_magic("mlops", "status --static").view
        return {s.name: s.warnings for s in view.stages if s.status != "not run"}

    ip.run_cell("%%mlops stage problem\ngoal = 'churn'")
    ip.run_cell("%%mlops stage data\nraise ValueError('no file')")
    ip.run_cell("%%mlops stage train\nm = 1")
    ip.run_cell("%%mlops stage evaluate\ne = 1")
    before = warnings()
    assert before["problem"] == [] and before["data"] == []  # earlier and failing stages are not warned
    assert "upstream data failed" in before["train"] and "upstream data failed" in before["evaluate"]
    ip.run_cell("%%mlops stage data\nd = 1")  # fixed: no longer failed, now the later stages are stale
    after = warnings()
    assert not any("upstream" in w for ws in after.values() for w in ws)
    assert any("stale: data ran again" in w for w in after["train"])


@pytest.mark.parametrize("line, message", [
    ("bogus", "unknown subcommand 'bogus'; use one of: init"),
    ("metric acc", "malformed metric 'acc'; write NAME=VALUE"),
    ("metric acc=high", "neither a number nor a variable"),
    ("params 1x=3", "not a valid Python name"),
    ("params class=3", "'class' is not a valid Python name"),
    ("params lr=", "lr= has no value; write lr='' for an empty string"),
    ("params a=1 lr=", "lr= has no value"),
    ("show nosuchrun", "no run 'nosuchrun'"),
    ("runs --status nope", "unknown status 'nope'"),
    ("metric --step", "expected one argument"),
])
def test_bad_input_is_a_one_line_usage_error(ip, line, message) -> None:
    with pytest.raises(UsageError, match=message) as info:
        ip.run_line_magic("mlops", line)
    assert "\n" not in str(info.value)


def test_params_take_any_python_name_and_a_quoted_empty_string(ip) -> None:
    ip.run_line_magic("mlops", "params 学习率=0.1 name='' other=\"\" text='a b'")
    assert ip.user_ns["学习率"] == 0.1 and ip.user_ns["name"] == "" and ip.user_ns["other"] == ""
    assert ip.user_ns["text"] == "a b"
    session = get_session()
    assert session.store.get_run(session.active_run_id()).params["学习率"] == 0.1


def test_unknown_stage_kind_is_refused_and_the_body_does_not_run(ip) -> None:
    with capture_output() as captured:
        result = ip.run_cell("%%mlops stage trian\nran = True")
    assert isinstance(result.error_in_exec, UsageError)
    assert "unknown stage kind 'trian'" in captured.stderr + captured.stdout
    assert "ran" not in ip.user_ns  # the header was refused before the body could run
    store = get_session().store
    assert [s for r in store.list_runs() for s in store.list_stages(r.id)] == []  # and nothing was recorded


def test_reference_is_what_mlops_question_mark_shows_and_lists_every_subcommand(ip) -> None:
    doc = ip.object_inspect_text("%mlops")  # IPython's inspector: what %mlops? shows
    assert "%%mlops stage KIND" in doc and "%mlops?" in ip.find_line_magic("mlops").__doc__
    for name in SUBCOMMANDS:
        assert f"%mlops {name}" in doc
    with capture_output() as captured:
        ip.run_line_magic("mlops", "")
    assert "%mlops metric" in captured.stdout
    with capture_output() as captured:
        ip.run_line_magic("mlops", "metric -h")
    assert "--step" in captured.stdout


def test_tab_completion_of_subcommands_and_stage_kinds(ip) -> None:
    _, matches = ip.complete("", "%mlops sh")
    assert "show" in matches
    _, matches = ip.complete("", "%%mlops stage tr")
    assert "train" in matches


def test_tag_form_stage_is_the_same_stage(ip, store_dir, monkeypatch) -> None:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"id": "cell-a", "cell_type": "code", "metadata": {"tags": ["mlops:train"]}, "source": "w = 1",
         "outputs": [], "execution_count": None}]}
    (store_dir / "nb.ipynb").write_text(json.dumps(nb))
    monkeypatch.setenv("MLOPS_NOTEBOOK_SOURCE", str(store_dir / "nb.ipynb"))
    ip.run_cell("w = 1", cell_id="cell-a")
    ip.run_cell("%%mlops stage train\nw = 1")
    first, second = stages(ip)
    assert (first.kind, second.kind) == ("train", "train") and first.code_digest == second.code_digest
    assert second.attempt == 2


def test_headless_run_is_attached_and_requested_params_win(ip, store, monkeypatch) -> None:
    run = store.create_run(trigger="manual", params={"lr": 0.5}, notebook="demo.ipynb")
    session = get_session()
    session.attached_run_id = run.id
    ip.run_cell("%%mlops stage train\n%mlops params lr=0.1 depth=2")
    assert ip.user_ns["lr"] == 0.5 and ip.user_ns["depth"] == 2
    assert [s.run_id for s in store.list_stages(run.id)] == [run.id]
    assert len(store.list_runs()) == 1
    with pytest.raises(UsageError, match="belongs to the headless runner"):
        ip.run_line_magic("mlops", "end")


def test_show_and_artifact_and_fingerprint(ip, store_dir) -> None:
    (store_dir / "report.txt").write_text("hello")
    ip.run_cell("%%mlops stage evaluate\n%mlops artifact report.txt\nimport numpy as np\narr = np.ones(4)\n"
                "fp = %mlops fingerprint arr --role output")
    view = ip.run_line_magic("mlops", "show")
    assert view["artifacts"][0]["name"] == "report.txt"
    html = view._repr_html_()
    assert "report.txt" in html and "Data fingerprints" in html
    assert ip.user_ns["fp"].kind == "array"


def test_names_are_escaped_in_html(ip) -> None:
    import mlops_magic

    mlops_magic.log_metric("<img src=x onerror=alert(1)>", 1)
    ip.run_line_magic("mlops", "params p='<script>alert(1)</script>'")
    html = ip.run_line_magic("mlops", "show")._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img src" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_load_ext_imports_nothing_heavy(store_dir) -> None:
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell;"
            "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'mlops_magic');"
            "heavy = ['pandas', 'sklearn', 'papermill', 'ipywidgets', 'numpy', 'scipy', 'matplotlib'];"
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.strip().splitlines()[-1]
    assert all(m not in loaded for m in ("'pandas'", "'sklearn'", "'papermill'", "'ipywidgets'")), loaded


def test_autolog_and_the_stage_cache_load_with_the_first_stage_that_needs_them(store_dir) -> None:
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell;"
            "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'mlops_magic');"
            "mods = ['mlops_magic.autolog.observer', 'mlops_magic.cache.observer', 'importlib.metadata'];"
            "print([m in sys.modules for m in mods]);"
            "ip.run_cell('%%mlops stage data\\nx = 1');"
            "print([m in sys.modules for m in mods]);"
            "ip.run_cell('%%mlops stage train --cache\\ny = x + 1');"
            "print([m in sys.modules for m in mods], ip.user_ns['y'])")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=120,
                         cwd=store_dir)
    assert out.returncode == 0, out.stderr
    loaded, first, cached = out.stdout.strip().splitlines()[-3:]
    assert loaded == "[False, False, False]"
    assert first.startswith("[True, False")  # every stage may autolog; only --cache needs the cache
    assert cached.startswith("[True, True") and cached.endswith(" 2")


def test_extension_loads_through_config(store_dir, tmp_path) -> None:
    code = ("from traitlets.config import Config; from IPython.testing.globalipapp import start_ipython;"
            "from IPython.terminal.ipapp import TerminalIPythonApp;"
            "cfg = Config({'InteractiveShellApp': {'extensions': ['mlops_magic']}});"
            "app = TerminalIPythonApp.instance(config=cfg);"
            "app.initialize([]); print('mlops' in app.shell.magics_manager.magics['line'])")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                         env=python_env(IPYTHONDIR=str(tmp_path / "ipy")))
    assert out.stdout.strip().endswith("True"), out.stderr


def test_unexpected_errors_are_one_line_unless_debugging(ip, monkeypatch) -> None:
    from mlops_magic.ipython.parsers import Subcommand

    monkeypatch.setitem(SUBCOMMANDS, "boom", Subcommand("boom", "_support:failing_subcommand", "a bug"))
    with pytest.raises(UsageError, match="KeyError: 'internal detail' \\(set MLOPS_DEBUG=1"):
        ip.run_line_magic("mlops", "boom")
    monkeypatch.setenv("MLOPS_DEBUG", "1")
    with pytest.raises(KeyError):
        ip.run_line_magic("mlops", "boom")


def test_a_cell_magic_stacked_under_the_stage_header_still_runs(ip) -> None:
    with capture_output() as captured:
        result = ip.run_cell("%%mlops stage train\n%%capture out\nprint('hidden')\nz = 41 + 1")
    assert result.success, result.error_in_exec
    assert ip.user_ns["z"] == 42 and "hidden" not in captured.stdout
    assert "hidden" in ip.user_ns["out"].stdout
    [stage] = stages(ip)
    assert stage.status == "succeeded" and "z" in {v.name for v in stage.variables}


def test_big_outputs_are_described_but_not_fingerprinted_automatically(ip, monkeypatch) -> None:
    import mlops_magic.tracking.background as background

    monkeypatch.setattr(background, "AUTO_FINGERPRINT_MAX_OBJECTS", 10)
    ip.run_cell("%%mlops stage data\nimport pandas as pd\nwide = pd.DataFrame({'s': ['x'] * 100})\n"
                "nums = pd.DataFrame({'n': range(100)})")
    [stage] = stages(ip)
    assert {v.name for v in stage.variables} >= {"wide", "nums"}
    assert [f.name for f in stage.fingerprints] == ["nums"]


def test_cells_sharing_a_stage_are_one_stage_run_and_reruns_are_attempts(ip) -> None:
    from mlops_magic.tracking.stages import code_digest, combined_digest

    cells = {"c1": "%%mlops stage train\na = 1", "c2": "%%mlops stage train\nb = 2",
             "c3": "%%mlops stage train\nc = a + b"}
    for cell_id, source in cells.items():
        assert ip.run_cell(source, cell_id=cell_id).success
    [stage] = stages(ip)
    assert (stage.name, stage.attempt, stage.status) == ("train", 1, "succeeded")
    assert stage.code_digest == combined_digest([code_digest(s) for s in cells.values()])
    assert sorted(v.name for v in stage.variables) == ["a", "b", "c"]
    view = ip.run_line_magic("mlops", "status").view
    assert [(s.name, s.attempt) for s in view.stages if s.attempt] == [("train", 1)]
    ip.run_cell(cells["c1"], cell_id="c1")  # the same cell again: a re-execution, a new attempt
    ip.run_cell("%%mlops stage train\nraise ValueError('second cell')", cell_id="c2")
    ip.run_cell(cells["c3"], cell_id="c3")  # runs after the failure: the attempt stays failed
    first, second = stages(ip)
    assert (second.attempt, second.status, second.error_type) == (2, "failed", "ValueError")
    assert second.error_message == "second cell" and first.status == "succeeded"
    assert ip.run_cell(cells["c1"]).success  # no cell id (a terminal): every stage cell is an attempt
    assert ip.run_cell(cells["c2"]).success
    assert [s.attempt for s in stages(ip)] == [1, 2, 3, 4]


def test_a_kernel_exiting_mid_stage_leaves_no_running_stage(session) -> None:
    stage = session.begin_stage("train")  # shut down (or papermill's timeout) before post_run_cell
    session.close_implicit_run()
    run = session.store.get_run(stage.run_id)
    assert (run.status, run.error) == ("killed", "the kernel exited while stage train ran")
    [after] = session.store.list_stages(run.id)
    assert (after.status, after.error_type) == ("failed", "KernelExit")

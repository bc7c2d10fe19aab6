"""Headless runs through real kernels: status mapping, stages, parameters, retries, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.entities import result_metrics
from mlops_magic.errors import ExecutionError
from mlops_magic.runner import RunRequest, run_notebook, run_notebooks
from mlops_magic.runner.prepare import select_cells
from mlops_magic.runner.request import RunFailure
from mlops_magic.store import clear_cache, open_store
from mlops_magic.tracking.stages import read_notebook_json

FIXTURES = Path(__file__).parent / "notebooks"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with the fixture notebooks and its own store."""
    for nb in FIXTURES.glob("*.ipynb"):
        shutil.copy(nb, tmp_path / nb.name)
    (tmp_path / ".mlops").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    clear_cache()
    yield tmp_path
    clear_cache()


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_records_params_stages_metrics_and_the_executed_notebook(project):
    result = cli("run", "pipeline.ipynb", "-p", "alpha", "3", "-p", "rows", "4", "-o", "out/")
    assert result.exit_code == 0, result.output
    store = open_store()
    run = store.get_run("latest")
    assert run.status == "succeeded" and run.trigger == "manual"
    assert run.notebook == "pipeline.ipynb"
    assert run.params == {"alpha": 3, "rows": 4}
    # both stage spellings recorded into the runner's run: magic (data, evaluate) and tag (train)
    assert [s.name for s in store.list_stages(run.id)] == ["data", "train", "evaluate"]
    assert result_metrics(store.latest_metrics([run.id])[run.id]) == {"total": 18.0}  # system.* aside
    [artifact] = store.list_artifacts(run.id)
    executed = json.loads(Path(artifact.path).read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in executed["cells"])
    assert (project / "out" / "pipeline.ipynb").exists()
    assert (project / ".mlops" / "runs" / run.id / "output.ipynb").exists()


def test_failing_cell_names_stage_and_cell_and_keeps_partial_notebook(project):
    result = cli("run", "failing.ipynb")
    assert result.exit_code == 1
    run = open_store().get_run("latest")
    assert run.status == "failed"
    assert run.error == "stage train (cell 2) failed: ValueError: boom in train"
    stages = {s.name: s.status for s in open_store().list_stages(run.id)}
    assert stages == {"data": "succeeded", "train": "failed"}
    [artifact] = open_store().list_artifacts(run.id)
    cells = json.loads(Path(artifact.path).read_text())["cells"]
    assert not any(o.get("text") == ["never\n"] for c in cells for o in c.get("outputs", []))


def test_a_failing_cell_is_a_typed_failure_naming_its_stage_and_cell(project):
    failed, gate, setup, fine = run_notebooks([RunRequest(nb) for nb in
                                               ("failing.ipynb", "gate.ipynb", "needs_param.ipynb", "sysexit0.ipynb")])
    assert failed.failure == RunFailure(stage="train", cell_index=2, ename="ValueError", evalue="boom in train")
    assert not failed.failure.gate_failed and not failed.gate_failed
    with pytest.raises(ExecutionError) as info:
        failed.check()
    assert (info.value.stage, info.value.cell_index) == ("train", 2) and "boom in train" in str(info.value)
    assert gate.failure.ename == "GateFailedError" and gate.failure.gate_failed and gate.exit_code == 3
    assert setup.failure.stage is None and setup.failure.ename == "AssertionError"
    assert setup.error == f"setup cell {setup.failure.cell_index} failed: {setup.failure.ename}: {setup.failure.evalue}"
    assert fine.failure is None and fine.check() is fine


def test_dead_kernel_is_killed_and_timeout_is_timed_out(project):
    results = run_notebooks([RunRequest("dies.ipynb"), RunRequest("endless.ipynb", timeout=2)])
    dies, endless = results
    assert dies.status == "killed" and dies.exit_code == 5
    assert "the kernel died in stage train (cell 1)" in dies.error
    assert endless.status == "timed-out" and endless.exit_code == 4
    assert endless.error.startswith("timed out after 2s in stage train (cell 1)")
    assert endless.duration < 15
    assert open_store().get_run(endless.run_id).status == "timed-out"


def test_sys_exit_zero_stops_early_and_succeeds(project):
    result = run_notebook("sysexit0.ipynb")
    assert result.status == "succeeded" and result.exit_code == 0


def test_missing_and_unknown_parameters(project):
    missing = cli("run", "needs_param.ipynb")
    assert missing.exit_code == 1
    assert "AssertionError: pass -p data_path PATH" in open_store().get_run("latest").error
    (project / "in.txt").write_text("hello\n")
    given = cli("run", "needs_param.ipynb", "-p", "data_path", "in.txt", "-p", "nope", "1")
    assert given.exit_code == 0, given.output
    assert "warning: needs_param.ipynb has no parameter 'nope' (its parameters: data_path)" in given.output


def test_gate_failure_exits_3(project):
    result = cli("run", "gate.ipynb")
    assert result.exit_code == 3
    assert open_store().get_run("latest").status == "failed"


def test_stage_selection_runs_setup_plus_chosen_stages(project):
    result = run_notebook("pipeline.ipynb", stages=("data", "train"))
    assert result.status == "succeeded"
    store = open_store()
    assert [s.name for s in store.list_stages(result.run_id)] == ["data", "train"]
    assert store.get_run(result.run_id).tags["mlops.stages"] == "data,train"


def test_from_stage_keeps_setup_cells_and_later_stages():
    nb = read_notebook_json(FIXTURES / "pipeline.ipynb")
    _, kept = select_cells(nb, (), "train", "pipeline.ipynb")
    assert kept == [0, 1, 2, 4, 5]
    _, kept = select_cells(nb, ("evaluate",), None, "pipeline.ipynb")
    assert kept == [0, 1, 2, 5]


def test_bad_input_is_one_line_exit_2_and_records_nothing(project):
    (project / "broken.ipynb").write_text("{not json")
    for args, words in [
        (["run", "pipeline.ipynb", "--stages", "trian"], "has no stage 'trian'; its stages: data, train, evaluate"),
        (["run", "missing.ipynb"], "no such notebook: missing.ipynb"),
        (["run", "broken.ipynb"], "is not a valid notebook"),
        (["run", "tiny.ipynb", "--kernel", "nosuchkernel"], "no Jupyter kernel named 'nosuchkernel'"),
        (["run", "tiny.ipynb", "--watch", "data/*.csv"], "matches no file"),
        (["run", "tiny.ipynb", "-f", "nofile.yaml"], "no such parameters file"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert open_store().count_runs() == 0


def test_retries_rerun_within_the_same_run(project):
    result = run_notebook("failing.ipynb", retries=1, retry_delay=0)
    assert result.status == "failed" and result.attempts == 2
    store = open_store()
    attempts = [s.attempt for s in store.list_stages(result.run_id) if s.name == "train"]
    assert attempts == [1, 2]
    assert store.get_run(result.run_id).tags["mlops.attempts"] == "2"


def test_if_changed_skips_until_a_watched_input_changes(project):
    data = project / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    args = ["run", "tiny.ipynb", "--if-changed", "--watch", "data/*.csv"]
    assert cli(*args).exit_code == 0
    second = cli(*args)
    assert second.exit_code == 0 and "skipped" in second.output
    skipped = open_store().get_run("latest")
    assert skipped.status == "skipped" and "nothing changed since run" in skipped.error
    (data / "a.csv").write_text("x\n2\n")  # one byte
    assert cli(*args).exit_code == 0
    assert open_store().get_run("latest").status == "succeeded"
    assert cli("run", "tiny.ipynb", "--if-changed", "--watch", "data/*.csv", "-p", "n", "5").exit_code == 0
    assert open_store().get_run("latest").status == "succeeded"  # new parameters: not skipped


def test_parallel_batch_runs_each_notebook_in_its_own_kernel(project):
    import nbformat

    for i in range(3):  # each notebook records the pid of the kernel that ran it
        nb = nbformat.read(project / "tiny.ipynb", as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(
            "import os, mlops_magic as mlops\nmlops.log_metric('kernel_pid', os.getpid())"))
        nbformat.write(nb, project / f"t{i}.ipynb")
    result = cli("run", "t0.ipynb", "t1.ipynb", "t2.ipynb", "failing.ipynb", "--parallel", "2")
    assert result.exit_code == 1, result.output
    store = open_store()
    runs = store.list_runs()
    assert sorted(r.status for r in runs) == ["failed", "succeeded", "succeeded", "succeeded"]
    kernels = [store.latest_metrics([r.id])[r.id]["kernel_pid"] for r in runs if r.status == "succeeded"]
    assert len(set(kernels)) == 3, kernels  # three notebooks, three kernels: none shared
    assert not set(kernels) & {r.pid for r in runs}  # and none of them is the runner's own process


def test_old_notebook_without_cell_ids_still_records_tag_form_stages(project):
    nb = {"nbformat": 4, "nbformat_minor": 4,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [
              {"cell_type": "markdown", "metadata": {}, "source": "%%mlops stage train\nprose, not code"},
              {"cell_type": "code", "metadata": {"tags": ["mlops:data"]}, "execution_count": None, "outputs": [],
               "source": "x = [1, 2, 3]\r\n"},
              {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
               "source": "%%mlops stage train --name 'modèle'\r\ny = sum(x)"},
          ]}
    (project / "ödd nötebook.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    result = cli("run", "ödd nötebook.ipynb")
    assert result.exit_code == 0, result.output
    store = open_store()
    run = store.get_run("latest")
    assert [(s.kind, s.name, s.status) for s in store.list_stages(run.id)] == [
        ("data", "data", "succeeded"), ("train", "modèle", "succeeded")]


def test_cells_are_named_by_their_place_in_the_file_after_an_earlier_papermill_failure(project):
    import subprocess
    import sys

    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# Churn"), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("%%mlops stage data\ny = 2"), nbformat.v4.new_code_cell("assert False")]
    nbformat.write(nb, project / "src.ipynb")
    # a real earlier failure: papermill writes its banner cells into the notebook the user then opens
    done = subprocess.run([sys.executable, "-m", "papermill", "src.ipynb", "banners.ipynb"], cwd=project,
                          capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    cells = json.loads((project / "banners.ipynb").read_text())["cells"]
    failing = next(i for i, c in enumerate(cells) if "".join(c["source"]) == "assert False")
    assert failing == 5 and sum("papermill-error-cell-tag" in c["metadata"].get("tags", []) for c in cells) == 2
    result = cli("run", "banners.ipynb", "-p", "x", "3")
    assert result.exit_code == 1
    assert open_store().get_run("latest").error == f"setup cell {failing} failed: AssertionError"
    # a papermill output with parameters holds its injected cell too: replaced in place, or run as it is
    done = subprocess.run([sys.executable, "-m", "papermill", "src.ipynb", "injected.ipynb", "-p", "x", "2"],
                          cwd=project, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    cells = json.loads((project / "injected.ipynb").read_text())["cells"]
    failing = next(i for i, c in enumerate(cells) if "".join(c["source"]) == "assert False")
    assert failing == 6 and any("injected-parameters" in c["metadata"].get("tags", []) for c in cells)
    for extra in ([], ["-p", "x", "5"]):
        assert cli("run", "injected.ipynb", *extra).exit_code == 1
        assert open_store().get_run("latest").error == f"setup cell {failing} failed: AssertionError"
    (project / "banners.ipynb").write_text(json.dumps(
        {**json.loads((project / "banners.ipynb").read_text()),
         "cells": [*cells[:4], {"cell_type": "code", "metadata": {"tags": ["mlops:train"]}, "outputs": [],
                                "execution_count": None, "source": "raise ValueError('late')"}, *cells[4:]]}))
    assert cli("run", "banners.ipynb").exit_code == 1
    assert open_store().get_run("latest").error == "stage train (cell 4) failed: ValueError: late"


def test_a_notebook_without_kernel_metadata_runs_on_the_python_kernel(project):
    import nbformat

    nb = nbformat.v4.new_notebook()  # no kernelspec, no language_info: what jupytext writes by default
    params = nbformat.v4.new_code_cell("lr = 0.5")
    params.metadata["tags"] = ["parameters"]
    train = nbformat.v4.new_code_cell("%mlops metric lr_used=lr")
    train.metadata["tags"] = ["mlops:train"]
    nb.cells = [params, train]
    nbformat.write(nb, project / "bare.ipynb")
    result = CliRunner().invoke(main, ["run", "bare.ipynb", "-p", "lr", "0.1"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output and "parameter" not in result.output
    store = open_store()
    run = store.get_run("latest")
    assert run.status == "succeeded" and store.latest_metrics([run.id])[run.id]["lr_used"] == 0.1
    assert [(s.kind, s.status) for s in store.list_stages(run.id)] == [("train", "succeeded")]
    assert json.loads((project / "bare.ipynb").read_text())["metadata"] == {}  # the user's file is untouched
    wrong = CliRunner().invoke(main, ["run", "bare.ipynb", "--kernel", "nosuch"])
    assert wrong.exit_code == 2 and "no Jupyter kernel named 'nosuch'" in wrong.output


def test_a_notebook_without_kernel_metadata_runs_this_interpreter_whatever_python3_points_at(project, tmp_path):
    import subprocess
    import sys

    import nbformat
    from _support import python_env

    decoy = tmp_path / "jupyter" / "kernels" / "python3"  # a user's python3 kernelspec for another Python
    decoy.mkdir(parents=True)
    (decoy / "kernel.json").write_text(json.dumps({"argv": ["/bin/false", "{connection_file}"],
                                                   "display_name": "Other Python", "language": "python"}))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys\n%mlops tag python={sys.executable}")]
    nbformat.write(nb, project / "bare.ipynb")
    env = python_env(JUPYTER_PATH=str(tmp_path / "jupyter"))
    done = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "run", "bare.ipynb"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    run = open_store(str(project)).get_run("latest")
    assert run.status == "succeeded" and run.tags["python"] == sys.executable
    named = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "run", "bare.ipynb", "--kernel", "python3"],
                           cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert named.returncode == 5  # asked for by name: the decoy kernelspec is used, and cannot start


def _processes_with_env(entry: str) -> list[int]:
    """Pids of live processes whose environment holds ``entry`` (e.g. this run's MLOPS_RUN_ID)."""
    import os

    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if entry.encode() in env and state != "Z":
            found.append(int(pid))
    return found


@pytest.mark.parametrize("extra", [[], ["--parallel", "2"]])
def test_ctrl_c_is_one_line_exit_130_the_run_killed_and_no_kernel_left(project, extra):
    import os
    import signal
    import subprocess
    import sys
    import time

    from _support import python_env

    notebooks = ["endless.ipynb"] if not extra else ["endless.ipynb", "e2.ipynb"]
    if extra:
        shutil.copy(project / "endless.ipynb", project / "e2.ipynb")
    # a terminal's Ctrl-C: SIGINT to the runner's whole process group (kernels live in their own sessions)
    proc = subprocess.Popen([sys.executable, "-m", "mlops_magic.cli", "run", *notebooks, *extra], cwd=project,
                            env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    store = open_store(str(project))
    deadline = time.monotonic() + 120
    while len([s for r in store.list_runs() for s in store.list_stages(r.id)]) < len(notebooks):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    runs = store.list_runs()
    assert all(_processes_with_env(f"MLOPS_RUN_ID={r.id}") for r in runs)  # the kernels are running
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == (["interrupted: the runs in progress are recorded as killed"] if extra
                                        else [f"interrupted: run {runs[0].id[:8]} killed"])
    for run in runs:
        run = store.get_run(run.id)
        assert (run.status, run.error) == ("killed", "interrupted (Ctrl-C) in stage train (cell 1)")
        left = _processes_with_env(f"MLOPS_RUN_ID={run.id}")
        while left and time.monotonic() < deadline:  # SIGKILLed; give the OS a moment to reap it
            time.sleep(0.1)
            left = _processes_with_env(f"MLOPS_RUN_ID={run.id}")
        assert left == []


def test_a_timeout_prints_only_its_own_line(project):
    import subprocess
    import sys

    from _support import python_env

    done = subprocess.run([sys.executable, "-m", "mlops_magic.cli", "run", "endless.ipynb", "--timeout", "2"],
                          cwd=project, env=python_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    run = open_store(str(project)).get_run("latest")
    assert done.stderr.strip().splitlines() == [f"mlops: run {run.id[:8]} of endless.ipynb timed-out: "
                                                "timed out after 2s in stage train (cell 1)"]
    log = (project / ".mlops" / "runs" / run.id / "runner.log").read_text()
    assert "Kernel died while waiting for execute reply" in log


def test_a_stage_over_several_tagged_cells_is_one_stage_run(project):
    import nbformat

    from mlops_magic.tracking.stages import code_digest, combined_digest

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    sources = ["import math", "w = 1", "w += 1", "%mlops metric w=w"]
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    for cell in nb.cells[1:]:
        cell.metadata["tags"] = ["mlops:train"]
    nbformat.write(nb, project / "split.ipynb")
    result = cli("run", "split.ipynb")
    assert result.exit_code == 0, result.output
    store = open_store()
    run = store.get_run("latest")
    [stage] = store.list_stages(run.id)
    assert (stage.name, stage.attempt, stage.status) == ("train", 1, "succeeded")
    assert stage.code_digest == combined_digest([code_digest(s) for s in sources[1:]])
    status = cli("status", run.id)
    assert "#3" not in status.output and "#2" not in status.output, status.output
    from mlops_magic.tracking.queries import notebook_lifecycle

    rows = notebook_lifecycle(store, project / "split.ipynb")["stages"]
    assert [(r["attempt"], r["code_changed"]) for r in rows] == [(1, False)] * 3
    nb.cells[2].source = "raise ValueError('half way')"
    nbformat.write(nb, project / "split.ipynb")
    retried = run_notebook("split.ipynb", retries=1, retry_delay=0)
    assert retried.status == "failed" and retried.error == "stage train (cell 2) failed: ValueError: half way"
    assert [(s.attempt, s.status) for s in store.list_stages(retried.run_id)] == [(1, "failed"), (2, "failed")]


def _plain_papermill_notebook(path: Path, *extra_cells) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    cells = [nbformat.v4.new_code_cell("%load_ext mlops_magic"), nbformat.v4.new_markdown_cell("# Churn"),
             nbformat.v4.new_code_cell("lr = 0.5"), nbformat.v4.new_code_cell("x = [1, 2, 3]"),
             nbformat.v4.new_code_cell("w = sum(x)"), nbformat.v4.new_code_cell("w *= lr\n%mlops metric w=w"),
             nbformat.v4.new_code_cell("%%mlops stage evaluate\nscore = w"), *extra_cells]
    for index, tag in ((2, "parameters"), (3, "mlops:data"), (4, "mlops:train"), (5, "mlops:train")):
        cells[index].metadata["tags"] = [tag]
    nb.cells = cells
    nbformat.write(nb, path)


def _papermill(project: Path, *args: str, cwd: Path | None = None, store: bool = True):
    import subprocess

    from _support import python_env

    papermill = Path(__import__("sys").executable).with_name("papermill")
    env = python_env()
    if store:
        env["MLOPS_STORE"] = str(project)
    else:  # the kernel finds the project itself
        env.pop("MLOPS_STORE", None)
    return subprocess.run([str(papermill), *args], cwd=cwd or project, env=env, capture_output=True, text=True,
                          timeout=300)


def test_plain_papermill_tracks_tag_form_and_header_stages_with_notebook_and_trigger(project):
    import nbformat

    from mlops_magic.report.data import run_data

    # finding the papermill command must not import papermill (seconds of jsonschema) into the kernel
    _plain_papermill_notebook(project / "plain.ipynb", nbformat.v4.new_code_cell(
        "import sys\nprint('heavy:', [m for m in ('papermill', 'nbformat', 'jsonschema') if m in sys.modules])"))
    (project / "out").mkdir()
    done = _papermill(project, "plain.ipynb", "out/plain-out.ipynb", "-p", "lr", "2")
    assert done.returncode == 0, done.stderr
    store = open_store(str(project))
    [run] = store.list_runs()
    assert (run.notebook, run.trigger, run.status) == ("plain.ipynb", "papermill", "succeeded")
    stages = store.list_stages(run.id)
    assert [(s.kind, s.attempt, s.status) for s in stages] == [
        ("data", 1, "succeeded"), ("train", 1, "succeeded"), ("evaluate", 1, "succeeded")]
    assert sorted(v.name for v in stages[1].variables) == ["w"]
    assert store.latest_metrics([run.id])[run.id]["w"] == 12
    [executed] = [a for a in store.list_artifacts(run.id) if a.name == "executed.ipynb"]
    cells = json.loads(Path(executed.path).read_text())["cells"]
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in cells)
    assert run_data(store, run.id)["executed_path"] == executed.path
    assert cells[-1]["outputs"][0]["text"] == ["heavy: []\n"]


def test_plain_papermill_failure_names_the_cell_of_the_file(project):
    import nbformat

    _plain_papermill_notebook(project / "plain.ipynb", nbformat.v4.new_code_cell("assert False, 'stop'"))
    done = _papermill(project, "plain.ipynb", "plain-out.ipynb")
    assert done.returncode == 1
    run = open_store(str(project)).get_run("latest")
    assert (run.trigger, run.status, run.error) == ("papermill", "failed", "setup cell 7 failed: AssertionError: stop")


def test_the_run_command_does_not_compile_the_iri_grammar():
    """jsonschema (via nbformat) would import rfc3987_syntax, 1.2 s of lark grammar a `mlops run` never uses."""
    import subprocess
    import sys

    from _support import python_env

    code = ("import sys, mlops_magic.cli.run, papermill, nbformat, jsonschema\n"
            "print(sys.modules['rfc3987_syntax'] is None, 'date-time' in jsonschema.FormatChecker.checkers)")
    done = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["True", "True"], done.stderr


def test_the_runner_loads_papermill_without_its_remote_path_handlers():
    """boto3 and pyarrow.fs (~0.2 s of each `mlops run`) serve only s3:// and hdfs:// notebook paths, which the
    runner never hands papermill; they stay importable for anything else afterwards."""
    import subprocess
    import sys

    from _support import python_env

    code = ("import sys\nfrom mlops_magic.runner.engine import import_papermill, register\n"
            "import_papermill(); register()\n"
            "print(sorted(m for m in ('boto3', 'pyarrow.fs', 'papermill.s3') if m in sys.modules),"
            " 'papermill.execute' in sys.modules)\n"
            "import pyarrow.fs; print(pyarrow.fs.LocalFileSystem.__name__)")
    done = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[] True", "LocalFileSystem"]


def test_plain_papermill_typed_outside_the_project_records_into_the_notebooks_project(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _plain_papermill_notebook(project / "plain.ipynb")
    done = _papermill(project, str(project / "plain.ipynb"), "out.ipynb", cwd=elsewhere, store=False)
    assert done.returncode == 0, done.stderr
    run = open_store(str(project)).get_run("latest")
    assert (run.notebook, run.trigger, run.status) == ("plain.ipynb", "papermill", "succeeded")
    assert not (elsewhere / ".mlops").exists()
    assert [a.name for a in open_store(str(project)).list_artifacts(run.id)] == ["executed.ipynb"]

"""The `mlops` command: init, runs (the JSON contract), show, status, errors as one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _support import PYTHON, python_env
from click.testing import CliRunner

import mlops_magic
from mlops_magic.cli.main import main


@pytest.fixture
def cli(store_dir):
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def make_runs(store) -> list[str]:
    ids = []
    for i, (status, trigger) in enumerate([("succeeded", "manual"), ("failed", "schedule"), ("succeeded", "ci")]):
        run = store.create_run(notebook=f"nb{i % 2}.ipynb", trigger=trigger, params={"i": i})
        store.log_metric(run.id, "accuracy", 0.8 + i / 100)
        store.finish_run(run.id, status)
        ids.append(run.id)
    return ids


def test_init_creates_the_project_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    result = CliRunner().invoke(main, ["init", str(tmp_path / "proj")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "proj" / ".mlops" / "mlops.db").exists()
    assert "Initialised mlops project" in result.output


def test_init_with_store_url_points_the_project_elsewhere(tmp_path: Path, monkeypatch) -> None:
    from mlops_magic.store import clear_cache, resolve_location

    monkeypatch.delenv("MLOPS_STORE", raising=False)
    clear_cache()
    target = tmp_path / "shared" / "team.db"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "proj"), "--store", f"sqlite:///{target}"])
    assert result.exit_code == 0, result.output
    assert target.exists()
    assert resolve_location(start=tmp_path / "proj").db_path == target


def test_runs_json_is_an_array_newest_first_with_the_contract_fields(cli, store) -> None:
    ids = make_runs(store)
    result = cli("runs", "--format", "json")
    records = json.loads(result.output)
    assert [r["id"] for r in records] == ids[::-1]
    for r in records:
        assert {"id", "notebook", "status", "trigger", "started"} <= set(r)
    assert records[0]["metrics"] == {"accuracy": pytest.approx(0.82)}


def test_runs_filters_and_formats(cli, store) -> None:
    make_runs(store)
    assert len(json.loads(cli("runs", "--format", "json", "--status", "failed").output)) == 1
    assert len(json.loads(cli("runs", "--format", "json", "--trigger", "manual,ci").output)) == 2
    assert len(json.loads(cli("runs", "--format", "json", "--notebook", "nb0.ipynb").output)) == 2
    table = cli("runs").output.splitlines()
    assert table[0].startswith("ID") and len(table) == 4
    csv_lines = cli("runs", "--format", "csv").output.splitlines()
    assert csv_lines[0].startswith("id,notebook") and len(csv_lines) == 4


KILLED_MID_STAGE = """
import os, signal, sys
from mlops_magic.store import open_store
store = open_store(sys.argv[1])
run = store.create_run(notebook="nb.ipynb", trigger="interactive")
store.start_stage(run.id, "train")
print(run.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer ends a kernel: nothing closes the run
"""


def test_runs_lists_a_killed_processs_run_as_killed(cli, store, store_dir) -> None:
    proc = subprocess.run([PYTHON, "-c", KILLED_MID_STAGE, str(store_dir)], env=python_env(), capture_output=True,
                          text=True, timeout=120)
    run_id = proc.stdout.strip()
    assert proc.returncode == -9 and run_id, proc.stderr
    assert store.get_run(run_id).status == "running"  # nothing changed it yet: reading never writes
    [record] = json.loads(cli("runs", "--format", "json").output)
    assert record["id"] == run_id and record["status"] == "killed"
    assert "exited without closing the run" in record["error"]
    assert [s.status for s in store.list_stages(run_id)] == ["failed"]


def test_show_and_status(cli, store) -> None:
    run = store.create_run(notebook="nb.ipynb")
    stage = store.start_stage(run.id, "train")
    store.finish_stage(stage.id, "succeeded")
    out = cli("show", run.id[:8]).output
    assert run.id in out and "train" in out
    assert json.loads(cli("show", run.id, "--format", "json").output)["stages"][0]["kind"] == "train"
    assert "train" in cli("status", run.id).output


@pytest.mark.parametrize("args, message", [
    (["show", "nope"], "no run 'nope'"),
    (["runs", "--status", "bad"], "unknown status 'bad'"),
    (["runs", "--limit", "0"], "0"),
])
def test_errors_are_one_line_and_non_zero(store_dir, args, message) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_every_command_has_help_and_version_works(store_dir) -> None:
    runner = CliRunner()
    for name in main.list_commands(None):  # type: ignore[arg-type]
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name
    assert mlops_magic.__version__ in runner.invoke(main, ["--version"]).output


def test_console_script_runs_as_a_process(store_dir) -> None:
    out = subprocess.run([PYTHON, "-m", "mlops_magic.cli", "runs", "--format", "json"], capture_output=True,
                         text=True, env=python_env(), timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout) == []
    bad = subprocess.run([PYTHON, "-m", "mlops_magic.cli", "show", "zzz"], capture_output=True, text=True,
                         env=python_env(), timeout=60)
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0 and "no run" in bad.stderr


def test_read_commands_outside_a_project_say_so_and_create_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    from mlops_magic.store import find_project_dir

    if find_project_dir() is not None:
        pytest.skip(f"a .mlops/ folder above {tmp_path} makes this machine's temp dir a project")
    for args in (["runs"], ["show", "latest"], ["models", "list"], ["report", "--index", "site"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "no mlops project here" in result.output, args
    assert not (tmp_path / ".mlops").exists()

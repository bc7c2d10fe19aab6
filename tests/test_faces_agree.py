"""Two faces, one rule: each case drives two faces of the same behaviour and compares what they say."""

from __future__ import annotations

import json
import subprocess

import nbformat
import pytest
from _support import PYTHON, python_env
from click.testing import CliRunner

from mlops_magic.cli.main import main


@pytest.mark.parametrize("command", [["runs"], ["schedule", "list"], ["models", "list"], ["scheduler", "tick"]])
def test_reading_commands_in_an_empty_folder_refuse_alike_and_create_nothing(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPS_STORE", raising=False)
    runs = CliRunner().invoke(main, ["runs"])
    other = CliRunner().invoke(main, command)
    assert other.exit_code == runs.exit_code == 1
    assert other.output == runs.output
    assert "no mlops project here" in other.output
    assert list(tmp_path.iterdir()) == []


def test_magic_and_python_api_pick_the_same_run_when_none_is_given(ip) -> None:
    import mlops_magic as mlops

    assert ip.run_cell("%%mlops stage data\nx = 1").success
    first = mlops.get_session().active_run_id()
    mlops.end_run()  # this kernel now has no active run: "the run" is the newest one
    with mlops.start_run(name="later"):
        mlops.log_metric("m", 1)
    assert mlops.get_session().active_run_id() is None
    magic_view = ip.run_line_magic("mlops", "show")
    api_view = mlops.show()
    assert magic_view.detail["id"] == api_view.detail["id"] != first


def test_status_of_a_run_in_another_process_is_followed_by_both_faces(ip, monkeypatch, store) -> None:
    import mlops_magic as mlops

    monkeypatch.setenv("MLOPS_WIDGETS", "1")
    other = store.create_run(notebook="elsewhere.ipynb", trigger="manual", pid=1)  # another process's run
    from_magic = ip.run_line_magic("mlops", f"status {other.id[:8]}")
    from_api = mlops.status(other.id[:8])
    try:
        for panel in (from_magic, from_api):
            assert panel.run_id == other.id
            assert panel._poller is not None and panel._poller.running, "a running run of another process is polled"
    finally:
        from_magic.close()
        from_api.close()


def test_a_headless_parameter_wins_over_the_magic_and_the_python_api_alike(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext mlops_magic"),
        nbformat.v4.new_code_cell("%mlops params lr=0.1"),
        nbformat.v4.new_code_cell("import mlops_magic as mlops\nforce = mlops.log_params({'force': 1.0})['force']"),
        nbformat.v4.new_code_cell("mlops.log_metric('seen_lr', lr)\nmlops.log_metric('seen_force', force)"),
    ]
    path = tmp_path / "params.ipynb"
    nbformat.write(nb, path)
    env = python_env(MLOPS_STORE=str(tmp_path / "store"))
    done = subprocess.run([PYTHON, "-m", "mlops_magic.cli", "run", str(path), "-p", "lr", "0.5", "-p", "force", "7"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr
    out = subprocess.run([PYTHON, "-m", "mlops_magic.cli", "runs", "--format", "json"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, check=True).stdout
    run = json.loads(out)[0]
    assert run["metrics"]["seen_lr"] == 0.5 and run["metrics"]["seen_force"] == 7.0
    assert run["params"]["lr"] == 0.5 and run["params"]["force"] == 7


def test_python_log_params_returns_the_values_in_force(session) -> None:
    run = session.store.create_run(notebook="x.ipynb", trigger="manual", params={"lr": 0.5})
    session.attached_run_id = run.id  # as a headless run's kernel does from MLOPS_RUN_ID
    assert session.log_params({"lr": 0.1, "depth": 3}) == {"lr": 0.5, "depth": 3}
    assert session.store.get_run(run.id).params == {"lr": 0.5, "depth": 3}



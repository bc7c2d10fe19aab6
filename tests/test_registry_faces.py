"""The registry's faces: %mlops model / %mlops gate on a real IPython shell, and `mlops models` / `mlops serve`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.store import clear_cache
from mlops_magic.tracking.session import reset_session


@pytest.fixture
def ip(tmp_path, monkeypatch):
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    from IPython.testing.globalipapp import start_ipython

    import mlops_magic

    monkeypatch.setenv("MLOPS_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    clear_cache()
    reset_session()
    start_ipython()
    shell = TerminalInteractiveShell.instance()
    mlops_magic.load_ipython_extension(shell)  # this test's fresh session, even if a previous test loaded it
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    shell.user_ns.update(X_train=X, clf=LogisticRegression().fit(X, (X.a > 0).astype(int)))
    yield shell
    clear_cache()
    reset_session()


def _cell(ip, code):
    result = ip.run_cell(code)
    return result.result, result.error_in_exec


def test_notebook_flow_register_promote_load_rollback(ip):
    ip.run_line_magic("mlops", "metric accuracy=0.9 auc=0.95")
    ip.run_cell('%mlops gate "accuracy >= 0.85 and auc >= 0.90"')
    v1, err = _cell(ip, "%mlops model register clf --name churn --input X_train")
    assert err is None and str(v1) == "churn v1" and v1.gates_passed and v1.columns == ["a", "b"]
    ip.run_line_magic("mlops", "end")
    ip.run_line_magic("mlops", "metric accuracy=0.93 auc=0.96")
    v2, _ = _cell(ip, "%mlops model register clf --name churn --input X_train")
    assert v2.version == 2
    out, err = _cell(ip, "%mlops model promote churn --to production --version 1 --reason first")
    assert err is None and out.promoted
    out, _ = _cell(ip, "%mlops model promote churn --to production --if-better accuracy")
    assert out.promoted and out.comparison["champion_value"] == 0.9
    _cell(ip, "model = %mlops model load churn@production")
    assert ip.user_ns["model"].predict(ip.user_ns["X_train"]).shape == (100,)
    out, _ = _cell(ip, "%mlops model rollback churn --alias production")
    assert out.change.to_version == 1
    history, _ = _cell(ip, "%mlops model history churn")
    assert list(history.action) == ["rollback", "promote", "promote"]
    versions, _ = _cell(ip, "%mlops model show churn")
    assert list(versions["metrics.accuracy"]) == [0.9, 0.93]


def test_registering_a_custom_class_warns_in_one_line(ip):
    from IPython.utils.capture import capture_output

    ip.run_cell("class Scaled:\n    def predict(self, X):\n        return X\nscaled = Scaled()")
    with capture_output() as captured:
        version, err = _cell(ip, "%mlops model register scaled --name scaled")
    assert err is None and version.version == 1
    lines = [ln for ln in captured.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mlops: warning: scaled holds types that will be trusted")
    assert "__main__.Scaled" in lines[0]


def test_promote_refused_by_a_gate_is_a_gate_failure(ip):
    ip.run_line_magic("mlops", "metric accuracy=0.7")
    ip.run_cell('%mlops gate "accuracy >= 0.85" --soft')
    ip.run_line_magic("mlops", "model register clf --name churn --input X_train")
    _, err = _cell(ip, "%mlops model promote churn --to production")
    assert type(err).__name__ == "GateFailedError"  # a headless run exits with the gate status
    assert "churn v1 failed its quality gate: accuracy >= 0.85 (got 0.7)" in str(err)


@pytest.mark.parametrize(("line", "message"), [
    ("model register X_train --name churn", "X_train is a DataFrame, not a model"),
    ("model register nothing --name churn", "no variable 'nothing'"),
    ("model register clf --name 'bad name'", "model name 'bad name' is not allowed"),
    ("model register clf", "the following arguments are required: --name"),
    ("model load ghost@production", "no model 'ghost'"),
    ("model frobnicate", "unknown action 'frobnicate'"),
    ('gate "accuracy >> 1"', "cannot parse gate"),
])
def test_bad_input_is_one_line(ip, line, message):
    _, err = _cell(ip, f"%mlops {line}")
    assert err is not None and message in str(err)
    assert type(err).__name__ == "UsageError"


def test_cli_models_and_serve_errors(ip, tmp_path):
    ip.run_line_magic("mlops", "metric accuracy=0.9")
    ip.run_line_magic("mlops", "model register clf --name churn --input X_train")
    ip.run_line_magic("mlops", "model register clf --name churn --input X_train")
    runner = CliRunner()
    listed = runner.invoke(main, ["models", "list"])
    assert listed.exit_code == 0 and "churn  v2" in listed.output
    promoted = runner.invoke(main, ["models", "promote", "churn", "--to", "production", "--version", "1"])
    assert promoted.output.strip() == "churn@production: nothing → v1 (promote)"
    again = runner.invoke(main, ["models", "promote", "churn", "--to", "production", "--if-better", "accuracy"])
    assert "stays at v1" in again.output  # equal accuracy is not better
    shown = runner.invoke(main, ["models", "show", "churn@production", "--format", "json"])
    assert json.loads(shown.output)["version"] == 1
    detail = runner.invoke(main, ["models", "show", "churn@1"]).output
    assert "a:float64, b:float64" in detail and "lineage" in detail
    history = runner.invoke(main, ["models", "history", "churn", "--format", "json"])
    assert [h["action"] for h in json.loads(history.output)] == ["refused", "promote"]
    failed = runner.invoke(main, ["models", "rollback", "churn"])
    assert failed.exit_code == 1 and "no earlier version" in failed.output
    unknown = runner.invoke(main, ["serve", "churn@staging", "--port", "0"])
    assert unknown.exit_code == 1 and "has no alias 'staging'" in unknown.output


def test_heavy_modules_stay_unimported():
    code = ("import sys, mlops_magic, mlops_magic.registry.gates, mlops_magic.registry.versions, "
            "mlops_magic.registry.aliases, mlops_magic.ipython.models, mlops_magic.registry.model_files, "
            "mlops_magic.serving.app, mlops_magic.serving.inputs;"
            "print(sorted(m for m in ('pandas', 'sklearn', 'skops', 'starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

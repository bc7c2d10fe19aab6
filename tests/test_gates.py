"""Quality gates: the grammar, evaluation per clause, recording, and the magic's one-line failures."""

from __future__ import annotations

import math

import pytest

from mlops_magic.errors import GateFailedError, InvalidInputError
from mlops_magic.registry import gates

METRICS = {"accuracy": 0.9, "auc": 0.85, "val loss": 0.2, "eval/f1": 0.7, "nanny": math.nan}


@pytest.mark.parametrize(("expr", "passed"), [
    ("accuracy >= 0.85", True),
    ("accuracy > 0.9", False),
    ("accuracy >= 0.85 and auc >= 0.90", False),
    ("accuracy >= 0.85 or auc >= 0.90", True),
    ("accuracy >= 0.95 or auc >= 0.90 and eval/f1 > 0", False),  # and binds tighter than or
    ("(accuracy >= 0.95 or auc >= 0.80) and eval/f1 > 0.5", True),
    ("`val loss` < 0.3 AND accuracy != 1", True),
    ("auc == 0.85", True),
    ("auc <= 8.5e-1", True),
    ("nanny >= 0 or nanny < 0", False),  # NaN never passes, whatever the operator
    ("nanny != 0", False),
    ("nanny == 0", False),
    ("nanny <= 1", False),
    ("nanny > -1", False),
    ("accuracy >= -1", True),
])
def test_gate_truth_table(expr, passed):
    assert gates.evaluate(expr, METRICS).passed is passed


def test_every_clause_is_evaluated_and_named():
    result = gates.evaluate("accuracy >= 0.95 or (auc >= 0.8 and eval/f1 > 0.9)", METRICS)
    assert [c.passed for c in result.clauses] == [False, True, False]
    assert result.describe_failure() == "accuracy >= 0.95 (got accuracy = 0.9); eval/f1 > 0.9 (got eval/f1 = 0.7)"


@pytest.mark.parametrize(("expr", "column", "expected"), [
    ("accuracy 0.85", 10, "an operator"),
    ("accuracy >=", 12, "a number"),
    ("(accuracy >= 1", 15, "')'"),
    ("accuracy >= 1 xor auc > 1", 15, "'and', 'or'"),
    ("accuracy >= 1 and", 18, "a metric name"),
    ("accuracy >= 1)", 14, "'and', 'or'"),
    ("__import__('os').system('x') > 1", 12, "unexpected"),
    ("accuracy >= 0.8x", 13, "unexpected"),
])
def test_parse_errors_say_where(expr, column, expected):
    with pytest.raises(InvalidInputError) as info:
        gates.parse_gate(expr)
    assert f"column {column}" in str(info.value)
    assert expected in str(info.value)


def test_empty_gate():
    with pytest.raises(InvalidInputError, match="empty gate"):
        gates.parse_gate("  ")


def test_missing_metric_lists_the_runs_metrics():
    with pytest.raises(InvalidInputError, match=r"'f1'.*its metrics: accuracy, auc"):
        gates.evaluate("f1 > 0.5", {"accuracy": 1.0, "auc": 1.0})


def test_gate_records_on_run_and_stage(session):
    with session.stage("evaluate"):
        session.log_metrics({"accuracy": 0.9, "auc": 0.95})
        result = gates.gate("accuracy >= 0.85 and auc >= 0.9")
        stage_id = session.current_stage.id
    assert result.passed and result.stage_id == stage_id
    with pytest.raises(GateFailedError, match=r"accuracy >= 0.95"), session.stage("evaluate", "strict"):
        gates.gate("accuracy >= 0.95")
    soft = gates.gate("auc >= 0.99", soft=True)
    assert not soft.passed and soft.soft
    recorded = gates.run_gates(session.store, session.recording_run_id())
    assert [(g.expression, g.passed) for g in recorded] == [
        ("accuracy >= 0.85 and auc >= 0.9", True), ("accuracy >= 0.95", False), ("auc >= 0.99", False)]
    stages = {s.name: s for s in session.store.list_stages(session.recording_run_id())}
    assert stages["strict"].status == "failed" and stages["strict"].error_type == "GateFailedError"


def test_bad_gate_writes_nothing(session):
    session.log_metric("accuracy", 0.9)
    for bad in ("accuracy >=", "f1 > 0.2"):
        with pytest.raises(InvalidInputError):
            gates.gate(bad)
    assert gates.run_gates(session.store, session.recording_run_id()) == []


def test_reevaluated_gate_replaces_itself(session):
    session.log_metric("accuracy", 0.8)
    gates.gate("accuracy >= 0.85", soft=True)
    session.log_metric("accuracy", 0.9)
    gates.gate("accuracy >= 0.85")
    assert [g.passed for g in gates.run_gates(session.store, session.recording_run_id())] == [True]


def test_gate_magic_one_line_with_distinct_name(session, capsys):
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    from IPython.testing.globalipapp import start_ipython

    import mlops_magic

    start_ipython()
    ip = TerminalInteractiveShell.instance()
    mlops_magic.load_ipython_extension(ip)
    ip.run_line_magic("mlops", "metric accuracy=0.8 auc=0.95")
    ok = ip.run_cell('%mlops gate "auc >= 0.9"')
    assert ok.error_in_exec is None and ok.result.passed
    failed = ip.run_cell('%mlops gate "accuracy >= 0.85 and auc >= 0.9"')
    assert type(failed.error_in_exec).__name__ == "GateFailedError"  # the runner's exit status keys on this
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "GateFailedError: gate failed: accuracy >= 0.85 (got accuracy = 0.8)" in err
    assert "Traceback" not in err
    soft = ip.run_cell('%mlops gate "accuracy >= 0.85" --soft')
    assert soft.error_in_exec is None
    missing = ip.run_cell('%mlops gate "f1 > 0.5"')
    assert "its metrics: accuracy, auc" in str(missing.error_in_exec)


@pytest.mark.slow
def test_failed_gate_in_a_real_kernel_names_itself(tmp_path, monkeypatch):
    """Under papermill the failing cell's ename is what the runner maps to its gate exit status."""
    import nbformat
    import papermill

    monkeypatch.setenv("MLOPS_STORE", str(tmp_path / "store"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "%load_ext mlops_magic", "%mlops metric accuracy=0.5", '%mlops gate "accuracy >= 0.9 and accuracy > 0"')]
    nbformat.write(nb, tmp_path / "gate.ipynb")
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(tmp_path / "gate.ipynb"), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                                   progress_bar=False, kernel_name="python3")
    assert info.value.ename == "GateFailedError"
    assert "accuracy >= 0.9 (got accuracy = 0.5)" in info.value.evalue
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    errors = [o for c in out.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert len(errors[0]["traceback"]) == 1  # one line, no Python traceback

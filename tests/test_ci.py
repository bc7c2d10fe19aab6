"""``mlops ci`` on a real git repository with real kernels: pull requests as branches of ``main``.

One repository per module: ``main`` holds three tiny notebooks and a data file, two of the notebooks
are run there by ``mlops run`` (the recorded baselines), and each test checks out one branch, runs
``mlops ci --base main`` in-process and reads its exit status, its Markdown report, its JUnit file and
the store. Notebooks are pure Python (a sum over a four-line file) so a run costs one kernel start.
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlops_magic.cli.main import main
from mlops_magic.store import clear_cache, open_store

DATA = """%%mlops stage data
values = [int(x) for x in open("data/values.csv").read().split()]
%mlops fingerprint data/values.csv --role input"""
TRAIN = """%%mlops stage train
model = sum(values) * scale"""
EVALUATE = """%%mlops stage evaluate
accuracy = model / 100
%mlops metric accuracy=accuracy
%mlops gate accuracy >= 0.2"""
OTHER = """%%mlops stage train
import mlops_magic as mlops
mlops.log_metric("loss", 0.5)"""
LONELY = """%%mlops stage train
import mlops_magic as mlops
mlops.log_metric("loss", {loss})"""
DEPLOY = """%%mlops stage deploy
from sklearn.dummy import DummyClassifier
clf = DummyClassifier().fit([[0], [1]], [0, 1])
%mlops model register clf --name churner
%mlops model promote churner --to production"""


def write_notebook(path: Path, cells: list[tuple[str, str] | tuple[str, str, list[str]]]) -> None:
    """cells: (kind, source[, tags]) with kind "code" or "markdown"."""
    out = []
    for i, cell in enumerate(cells):
        kind, source = cell[0], cell[1]
        tags = list(cell[2]) if len(cell) > 2 else []  # type: ignore[misc]
        body: dict[str, Any] = {"cell_type": kind, "id": f"c{i}", "metadata": {"tags": tags}, "source": source}
        if kind == "code":
            body.update(outputs=[], execution_count=None)
        out.append(body)
    nb = {"cells": out, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                     "language": "python"}, "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")


def churn(train: str = TRAIN, intro: str = "# Churn\nWho leaves?") -> list[Any]:
    return [("code", "%load_ext mlops_magic"), ("code", "scale = 1", ["parameters"]), ("markdown", intro),
            ("code", DATA), ("code", train), ("code", EVALUATE)]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def branch(root: Path, name: str, change: Any) -> None:
    """A pull request: branch ``name`` from main, ``change(root)``, one commit."""
    git(root, "checkout", "-q", "-b", name, "main")
    change(root)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", name)
    git(root, "checkout", "-q", "main")


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("ci-repo")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    for var in ("MLOPS_STORE", "MLOPS_RUN_ID", "MLOPS_NOTEBOOK", "MLOPS_NOTEBOOK_SOURCE", "JPY_SESSION_NAME",
                "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "GITHUB_RUN_ID", "CI_COMMIT_REF_NAME", "CI_JOB_URL",
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"):
        mp.delenv(var, raising=False)
    clear_cache()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "ci")
    (root / ".gitignore").write_text(".mlops/\n")
    (root / "data").mkdir()
    (root / "data" / "values.csv").write_text("10\n20\n30\n40\n")
    write_notebook(root / "churn.ipynb", churn())
    write_notebook(root / "other.ipynb", [("code", "%load_ext mlops_magic"), ("code", OTHER)])
    write_notebook(root / "lonely.ipynb", [("code", "%load_ext mlops_magic"), ("code", LONELY.format(loss=1))])
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main")
    (root / ".mlops").mkdir()
    recorded = cli("run", "churn.ipynb", "other.ipynb")  # the baselines: main's runs of two notebooks
    assert recorded.exit_code == 0, recorded.output

    branch(root, "docs", lambda r: write_notebook(r / "churn.ipynb", churn(
        train=TRAIN.replace("scale", "scale   \n\n"), intro="# Churn, explained better")))
    branch(root, "train", lambda r: write_notebook(r / "churn.ipynb", churn(train=TRAIN + " * 0.5")))
    branch(root, "gate", lambda r: write_notebook(r / "churn.ipynb", churn(train=TRAIN + " * 0.1")))
    branch(root, "broken", lambda r: write_notebook(r / "churn.ipynb", churn(
        train=TRAIN + "\nraise ValueError('boom <b>bold</b> | ```')")))
    branch(root, "new", lambda r: write_notebook(r / "deploy.ipynb", [("code", "%load_ext mlops_magic"),
                                                                     ("code", DEPLOY)]))
    branch(root, "lonely", lambda r: write_notebook(r / "lonely.ipynb", [
        ("code", "%load_ext mlops_magic"), ("code", LONELY.format(loss=0.25))]))
    branch(root, "data", lambda r: (r / "data" / "values.csv").write_text("10\n20\n30\n40\n50\n"))
    yield root
    clear_cache()
    mp.undo()


def ci_on(root: Path, name: str, *args: str) -> tuple[Any, str, ET.Element]:
    """``mlops ci --base main ARGS`` with branch ``name`` checked out: (click result, report, JUnit root)."""
    git(root, "checkout", "-q", name)
    try:
        result = cli("ci", "--base", "main", "--report", "report.md", "--junit", "junit.xml", *args)
    finally:
        git(root, "checkout", "-q", "main")
    report = (root / "report.md").read_text(encoding="utf-8") if (root / "report.md").exists() else ""
    junit = ET.parse(root / "junit.xml").getroot() if (root / "junit.xml").exists() else ET.Element("none")
    for name_ in ("report.md", "junit.xml"):
        (root / name_).unlink(missing_ok=True)
    return result, report, junit


def ci_runs() -> list[Any]:
    return open_store().list_runs(trigger="ci")


def rendered(report: str) -> str:
    """The report as a Markdown renderer that passes raw HTML through (as GitHub's does, before its
    sanitiser) turns it into HTML."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(report)


def failures(junit: ET.Element) -> dict[str, str]:
    return {c.get("name", ""): (c.find("failure").get("message") or "")  # type: ignore[union-attr]
            for c in junit.iter("testcase") if c.find("failure") is not None}


def test_a_markdown_or_whitespace_change_runs_nothing(repo: Path) -> None:
    before = len(ci_runs())
    result, report, junit = ci_on(repo, "docs")
    assert result.exit_code == 0, result.output
    assert "nothing to run" in result.output
    assert len(ci_runs()) == before
    assert "`churn.ipynb` | no code change | not run" in report
    assert junit.get("tests") == "0"


def test_a_changed_train_stage_runs_only_that_notebook_and_the_diff_names_it(repo: Path) -> None:
    base_run = next(r for r in open_store().list_runs(notebook="churn.ipynb") if r.trigger == "manual")
    before = {r.id for r in ci_runs()}
    result, report, junit = ci_on(repo, "train", "--fail-on", "accuracy < -0.9")
    assert result.exit_code == 0, result.output
    new = [r for r in ci_runs() if r.id not in before]
    assert [r.notebook for r in new] == ["churn.ipynb"]  # other.ipynb and lonely.ipynb did not run
    run = new[0]
    assert run.code_version == git(repo, "rev-parse", "train")
    assert run.tags["ci.branch"] == "train" and run.tags["ci.role"] == "head"
    assert run.tags["ci.base"] == git(repo, "rev-parse", "main") and run.tags["ci.base_ref"] == "main"
    assert "| ✅ | `churn.ipynb` | the code of train |" in report
    assert "**only the code of train changed; accuracy -0.5**" in report
    assert f"baseline: run `{base_run.id[:8]}` (succeeded, recorded at the base commit, same inputs)" in report
    assert "-model = sum(values) * scale\n+model = sum(values) * scale * 0.5" in report
    assert "| `accuracy` | 1 | 0.5 | -0.5 | ▼ worse |" in report
    assert "| `accuracy < -0.9` | held |" in report
    assert failures(junit) == {}
    assert {c.get("name") for c in junit.iter("testcase")} == {"run", "tolerance: accuracy < -0.9",
                                                               "gate: accuracy >= 0.2"}


def test_a_broken_tolerance_fails_the_check_with_a_junit_failure(repo: Path) -> None:
    result, report, junit = ci_on(repo, "train", "--fail-on", "accuracy < -0.1", "--fail-on", "accuracy < -0.9")
    assert result.exit_code == 1, result.output
    assert "FAIL  churn.ipynb" in result.output
    assert "| `accuracy < -0.1` | broken | accuracy -0.5 |" in report
    assert "| `accuracy < -0.9` | held |" in report
    assert report.startswith("<!-- mlops ci report -->\n## ❌ mlops ci: 1 notebook run, 1 failed")
    assert failures(junit) == {"tolerance: accuracy < -0.1": "accuracy < -0.1: broken (accuracy -0.5)"}
    assert junit.get("failures") == "1"


def test_a_failed_gate_fails_the_check_naming_the_stage(repo: Path) -> None:
    result, report, junit = ci_on(repo, "gate")
    assert result.exit_code == 1, result.output
    assert "**Failed**: stage evaluate (cell 5) failed: GateFailedError: gate failed: accuracy &gt;= 0.2" in report
    assert "| `accuracy >= 0.2` | failed | accuracy &gt;= 0.2 (got accuracy = 0.1) |" in report
    found = failures(junit)
    assert found["run"].startswith("stage evaluate (cell 5) failed: GateFailedError")
    assert found["gate: accuracy >= 0.2"] == "gate failed: accuracy >= 0.2 (got accuracy = 0.1)"


def test_a_failing_notebook_shows_its_stage_cell_and_error(repo: Path) -> None:
    result, report, junit = ci_on(repo, "broken")
    assert result.exit_code == 1, result.output
    assert ("**Failed**: stage train (cell 4) failed: ValueError: boom &lt;b&gt;bold&lt;/b&gt; \\| \\`\\`\\`"
            in report)
    html = rendered(report)
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html  # the error's markup is shown, never rendered
    assert "````text" in report  # the traceback's fence is longer than the ``` in the error text
    assert "ValueError: boom <b>bold</b> | ```" in report.split("````text", 1)[1]
    assert failures(junit)["run"] == "stage train (cell 4) failed: ValueError: boom <b>bold</b> | ```"


def test_a_new_notebook_runs_without_baseline_and_moves_no_alias(repo: Path) -> None:
    from sklearn.dummy import DummyClassifier

    from mlops_magic.registry.aliases import history, promote
    from mlops_magic.registry.versions import register, resolve_version_number

    store = open_store()
    register(store, DummyClassifier().fit([[0], [1]], [0, 1]), "churner")
    promote(store, "churner", "production")
    moves = len(history(store, "churner"))
    result, report, _ = ci_on(repo, "new")
    assert result.exit_code == 0, result.output
    assert "| ✅ | `deploy.ipynb` | new notebook |" in report
    assert "baseline: none (new in this pull request: no baseline)" in report
    assert "churner@production stays at v1: runs made by \\`mlops ci\\` never move an alias" in report
    assert resolve_version_number(store, "churner@production")[1] == 1
    assert resolve_version_number(store, "churner")[1] == 2  # registered, not promoted
    assert len(history(store, "churner")) == moves


def test_a_base_with_no_recorded_run_is_run_again_in_a_worktree(repo: Path) -> None:
    result, report, _ = ci_on(repo, "lonely")
    assert result.exit_code == 0, result.output
    assert "no recorded run of lonely.ipynb from the base's code" in report and "--rerun-base" in report
    result, report, _ = ci_on(repo, "lonely", "--rerun-base", "--fail-on", "loss > 0")
    assert result.exit_code == 0, result.output
    base = [r for r in ci_runs() if r.tags.get("ci.role") == "base"]
    assert len(base) == 1 and base[0].notebook == "lonely.ipynb"
    assert base[0].code_version == git(repo, "rev-parse", "main") and base[0].git_dirty is False
    assert "run again at the base, same inputs" in report
    assert "| `loss` | 1 | 0.25 | -0.75 | ▼ better |" in report
    assert "| `loss > 0` | held |" in report
    assert git(repo, "worktree", "list").count("\n") == 0  # the base's worktree is gone


def test_a_changed_data_file_is_reported_and_compared_only_when_allowed(repo: Path) -> None:
    result, report, junit = ci_on(repo, "data", "--fail-on", "accuracy > 0.1")
    assert result.exit_code == 0, result.output
    assert "| ✅ | `churn.ipynb` | input data/values.csv |" in report
    assert "**Inputs differ from the base's run** (metrics not held to the tolerances" in report
    assert "input \\`data/values.csv\\` changed: 4 → 5 rows" in report
    assert "| `accuracy > 0.1` | not checked | inputs differ from the base's run" in report
    skipped = [c for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert [c.get("name") for c in skipped] == ["tolerance: accuracy > 0.1"]
    result, report, junit = ci_on(repo, "data", "--fail-on", "accuracy > 0.1", "--allow-changed-inputs")
    assert result.exit_code == 1, result.output  # 100 → 150: accuracy +0.5, compared now and too high
    assert "| `accuracy > 0.1` | broken | accuracy +0.5 |" in report
    assert "**Inputs differ from the base's run**:" in report


def test_bad_input_is_one_line_and_exit_2(repo: Path, tmp_path: Path) -> None:
    for args, words in [
        (("--base", "nope"), "--base 'nope' names no commit"),
        (("--base", "main", "--fail-on", "auc <"), "cannot parse gate 'auc <' at column 6"),
        ((), "give --base"),
        (("--base", "main", "-p", "1x", "2"), "1x"),
    ]:
        result = cli("ci", *args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output and "Traceback" not in result.output
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(outside)
        mp.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
        result = cli("--store", str(repo), "ci", "--base", "main")
    assert result.exit_code == 2 and "is not in a git repository" in result.output

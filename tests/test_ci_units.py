"""The parts of ``mlops ci`` that need no kernel: which code changes count, the tolerances' semantics, a report
that is safe to post and bounded, JUnit that always parses, git's view of a rename, and the registry's
refusal to move an alias for a run made by CI."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from mlops_magic.ci.compare import Baseline
from mlops_magic.ci.git import Repo
from mlops_magic.ci.junit import render_junit
from mlops_magic.ci.outcome import CiResult, Failure, NotebookOutcome
from mlops_magic.ci.report import render_markdown
from mlops_magic.ci.select import NotebookChange, compare_code, notebook_code, select
from mlops_magic.ci.tolerances import check, check_expressions
from mlops_magic.display.markdown import md_cell, md_code, md_fence, md_text
from mlops_magic.errors import GateFailedError, InvalidInputError
from mlops_magic.registry.gates import evaluate

HOSTILE = "<script>alert(1)</script> | `x` **b** [l](javascript:alert(1)) &amp; ```"


def nb(*cells: tuple[str, str] | tuple[str, str, list[str]]) -> dict[str, Any]:
    out = []
    for cell in cells:
        tags = list(cell[2]) if len(cell) > 2 else []  # type: ignore[misc]
        out.append({"cell_type": cell[0], "source": cell[1], "metadata": {"tags": tags}, "outputs": []})
    return {"cells": out, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}


BASE = nb(("markdown", "# Title"), ("code", "n = 1", ["parameters"]), ("code", "import math"),
          ("code", "%%mlops stage data\nx = [1, 2]"), ("code", "%%mlops stage train\ny = sum(x)"),
          ("code", "z = 2", ["mlops:train"]))


def changed(new: dict[str, Any]) -> NotebookChange:
    return compare_code(NotebookChange("a.ipynb", "modified"), notebook_code(BASE), notebook_code(new))


def edit(index: int, source: str, base: dict[str, Any] = BASE) -> dict[str, Any]:
    copy = json.loads(json.dumps(base))
    copy["cells"][index]["source"] = source
    return copy


def test_markdown_whitespace_and_outputs_change_nothing() -> None:
    new = edit(0, "# Another title")
    new = edit(4, "%%mlops stage train   \ny = sum(x)   \n\n", new)
    new["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    c = changed(new)
    assert not c.runs and c.reasons() == ["no code change"]


def test_each_kind_of_code_change_is_named() -> None:
    assert changed(edit(4, "%%mlops stage train\ny = sum(x) * 2")).stages == ["train"]
    assert changed(edit(5, "z = 3")).stages == ["train"]  # a second cell of the same stage
    c = changed(edit(1, "n = 2"))
    assert c.parameters and c.runs and c.reasons() == ["the parameters cell"]
    assert changed(edit(2, "import math, os")).setup
    renamed = changed(edit(3, "%%mlops stage data --name load\nx = [1, 2]"))
    assert renamed.added_stages == ["load"] and renamed.removed_stages == ["data"]


def test_cells_of_one_stage_in_another_order_are_the_same_code() -> None:
    swapped = json.loads(json.dumps(BASE))
    swapped["cells"][4]["source"], swapped["cells"][5]["source"] = (
        "%%mlops stage train\nz = 2", "y = sum(x)")
    swapped["cells"][5]["metadata"]["tags"] = ["mlops:train"]
    assert not changed(swapped).stages


def test_select_keeps_matching_notebooks_and_those_whose_inputs_changed() -> None:
    from mlops_magic.ci.git import FileChange

    files = {"a.ipynb": BASE, "nb/b.ipynb": BASE, ".mlops/runs/x/output.ipynb": BASE}
    read = {p: json.dumps(v).encode() for p, v in files.items()}
    changes = [FileChange("a.ipynb", "modified"), FileChange("data/x.csv", "modified"),
               FileChange(".mlops/runs/x/output.ipynb", "added"), FileChange("gone.ipynb", "deleted")]
    found = select(changes, (), base_file=read.get, head_file=read.get, all_notebooks=list(files),
                   inputs_of=lambda p: ["data/*.csv"] if p == "nb/b.ipynb" else [])
    assert [(c.path, c.status, c.runs) for c in found] == [
        ("a.ipynb", "modified", False), ("gone.ipynb", "deleted", False), ("nb/b.ipynb", "inputs", True)]
    assert found[2].reasons() == ["input data/x.csv"]
    only = select(changes, ("nb/*",), base_file=read.get, head_file=read.get, all_notebooks=list(files),
                  inputs_of=lambda p: [])
    assert only == []
    with pytest.raises(InvalidInputError, match=r"a\.ipynb is not a valid notebook"):
        select([FileChange("a.ipynb", "modified")], (), base_file=read.get, head_file=lambda p: b"{nope",
               all_notebooks=[], inputs_of=lambda p: [])


def test_tolerances_fail_when_true_of_the_deltas() -> None:
    assert check("auc < -0.01", {"auc": -0.004}).verdict == "held"
    broken = check("auc < -0.01 or loss > 0.1", {"auc": -0.02, "loss": 0.0})
    assert broken.broken and broken.line() == "auc < -0.01 or loss > 0.1: broken (auc -0.02, loss +0)"
    assert check("auc < -0.01", {"loss": 1.0}).verdict == "not checked"
    assert check("auc < -0.01", {"auc": None}).reason == "no auc on both sides to compare"
    assert check("auc < -0.01", {"auc": float("nan")}).broken
    assert check("auc < -0.01", {"auc": -1.0}, reason="no baseline").verdict == "not checked"
    with pytest.raises(InvalidInputError, match="column 6"):
        check_expressions(["auc <"])


def test_markdown_helpers_leave_nothing_active() -> None:
    assert md_text(HOSTILE) == ("&lt;script&gt;alert(1)&lt;/script&gt; \\| \\`x\\` \\*\\*b\\*\\* \\[l\\](javascript:"
                                "alert(1)) &amp;amp; \\`\\`\\`")
    assert md_cell("a|b\nc<d>") == "a\\|b c&lt;d&gt;"
    assert md_code("a ``b`` |c") == "```a ``b`` \\|c```"
    assert md_code("`x`", table=False) == "`` `x` ``"
    assert md_fence("x\n````\ny", "diff") == ["`````diff", "x", "````", "y", "`````"]


def outcome(i: int, *, name: str = "nb", failed: bool = False) -> NotebookOutcome:
    change = NotebookChange(f"{name}{i:03d}.ipynb", "modified", stages=["train"], kinds={"train": "train"})
    out = NotebookOutcome(change, run_id=f"{i:016d}", status="failed" if failed else "succeeded", duration=1.0,
                          baseline=Baseline(note="no baseline"))
    out.metrics = {HOSTILE: {"a": 1.0, "b": 0.5, "delta": -0.5}}
    out.tolerances = [check("auc < -0.01", {"auc": -0.5})]
    out.gates = [evaluate("auc >= 0.9", {"auc": 0.5})]
    if failed:
        out.failure = Failure("stage train (cell 3)", f"ValueError: {HOSTILE}", f"Traceback\n{HOSTILE}\n")
    return out


def result(notebooks: list[NotebookOutcome], **extra: Any) -> CiResult:
    return CiResult(base_ref="origin/main", base_commit="a" * 40, head_commit="b" * 40, branch=HOSTILE,
                    notebooks=notebooks, fail_on=["auc < -0.01"], **extra)


def test_the_report_escapes_user_strings_for_markdown_and_html() -> None:
    from markdown_it import MarkdownIt

    res = result([outcome(1, name=HOSTILE, failed=True), outcome(2)],
                 job_url="https://example.com/x) [evil](javascript:alert(1)")
    text = render_markdown(res)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    assert "<script" not in html and "<strong>b</strong>" not in html
    assert html.count("<a ") == 1  # the job link, whose target stays one URL of the job's host
    assert 'href="https://example.com/x%29%20%5Bevil%5D%28javascript:alert%281%29"' in html
    for table in html.split("<table>")[1:]:  # every row keeps its column count despite the pipes
        rows = table.split("</table>")[0].split("<tr>")[1:]
        assert len({row.count("<td>") + row.count("<th>") for row in rows}) == 1
    assert "&lt;script&gt;" in html and "ValueError" in html
    assert res.exit_code == 1


def test_the_report_is_bounded_with_a_count_of_what_is_left_out() -> None:
    res = result([outcome(i) for i in range(120)])
    text = render_markdown(res, max_chars=20_000)
    assert len(text) <= 20_000
    assert "| … 90 more |" in text  # the summary table keeps 30 rows
    shown = text.count("\n### ")
    assert f"… {120 - shown} more notebooks not shown here" in text and 0 < shown < 120


def test_junit_always_parses_and_counts_failures() -> None:
    bad = outcome(1, failed=True)
    bad.failure = Failure("stage train (cell 3)", "ValueError: \x00\x1b[31mred\x07 <&>", "tb \x08")
    xml = render_junit(result([bad, outcome(2)]))
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.get("tests") == "6" and root.get("failures") == "5"
    message = root.find("testsuite/testcase/failure").get("message")  # type: ignore[union-attr]
    assert message == "stage train (cell 3) failed: ValueError: \ufffd\ufffd[31mred\ufffd <&>"


def test_git_reports_renames_and_changes_against_the_working_tree(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "old name.ipynb").write_text(json.dumps(BASE))
    (tmp_path / "keep.txt").write_text("x")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    git("mv", "old name.ipynb", "new name.ipynb")
    (tmp_path / "keep.txt").write_text("y")  # not committed: the working tree counts
    repo = Repo.find(tmp_path)
    base = repo.commit("main")
    assert {(c.path, c.status, c.old_path) for c in repo.changes(base)} == {
        ("new name.ipynb", "renamed", "old name.ipynb"), ("keep.txt", "modified", None)}
    assert repo.show(base, "old name.ipynb") is not None and repo.show(base, "nope") is None
    with pytest.raises(InvalidInputError, match="names no commit"):
        repo.commit("origin/nope")
    with pytest.raises(InvalidInputError, match="is not a git ref"):
        repo.commit("--output=x")


def test_the_registry_refuses_alias_moves_for_a_run_made_by_ci(store: Any) -> None:
    from sklearn.dummy import DummyClassifier

    from mlops_magic.registry.aliases import REFUSED_TAG, history, promote, rollback
    from mlops_magic.registry.versions import register, resolve_version_number

    model = DummyClassifier().fit([[0], [1]], [0, 1])
    register(store, model, "m")
    promote(store, "m", "production")
    register(store, model, "m")
    promote(store, "m", "production")
    run = store.create_run(notebook="x.ipynb", trigger="ci")
    register(store, model, "m", run_id=run.id)
    moves = len(history(store, "m"))
    result = promote(store, "m", "production", run_id=run.id)
    assert not result.promoted and str(result) == ("m@production stays at v2: runs made by `mlops ci` never move "
                                                   "an alias")
    assert not rollback(store, "m", "production", run_id=run.id).promoted
    assert resolve_version_number(store, "m@production")[1] == 2 and len(history(store, "m")) == moves
    assert json.loads(store.get_tag(run.id, REFUSED_TAG)) == [
        "m@production stays at v2: runs made by `mlops ci` never move an alias",
        "m@production stays at v2: runs made by `mlops ci` never move an alias"]
    other = store.create_run(notebook="x.ipynb", trigger="manual")
    assert promote(store, "m", "production", run_id=other.id).promoted  # only CI's runs are held back
    from dataclasses import replace

    from mlops_magic.registry.gates import record

    gated = store.create_run(notebook="x.ipynb", trigger="ci")
    record(store, replace(evaluate("auc >= 0.9", {"auc": 0.5}), run_id=gated.id))
    register(store, model, "m", run_id=gated.id)
    with pytest.raises(GateFailedError):  # a version that failed its gate is refused as before, CI or not
        promote(store, "m", "production", run_id=gated.id)

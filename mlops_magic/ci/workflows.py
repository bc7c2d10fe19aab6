"""``mlops ci init --github|--gitlab``: the CI configuration that runs ``mlops ci`` on every pull request.

GitHub: ``.github/workflows/mlops-ci.yml``: a full-history checkout (the base must be there to diff
against), Python, the install command, ``mlops ci`` against the pull request's base branch, the report
appended to ``$GITHUB_STEP_SUMMARY`` and, with ``comment``, posted (then edited in place) as a pull
request comment; the report, the JUnit file and the executed notebooks uploaded. GitLab: a
``.gitlab-ci.yml`` job for merge request pipelines whose JUnit file feeds the merge request's test
widget. Values a user gives (globs, tolerances, parameters, the install command) reach the shell
quoted once (``shlex.quote``) inside YAML block scalars, which need no escaping; the branch name goes
through an environment variable, never into the script text (a pull request can choose its name).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConflictError, InvalidInputError
from .report import MARKER
from .tolerances import check_expressions

GITHUB_PATH = ".github/workflows/mlops-ci.yml"
GITLAB_PATH = ".gitlab-ci.yml"
REPORT, JUNIT = "mlops-ci.md", "mlops-ci.xml"


@dataclass(frozen=True)
class WorkflowOptions:
    notebooks: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    python: str = "3.11"
    install: str = ""  # default: requirements.txt when the project has one, then mlops-magic
    comment: bool = True  # GitHub: post the report on the pull request
    rerun_base: bool = True


def ci_words(options: WorkflowOptions, base: str) -> list[str]:
    """The ``mlops ci`` command line as shell words, an option and its values together (``base`` is a
    shell word that expands to the base branch)."""
    words = ["mlops ci", f"--base {base}"]
    words += [f"--notebooks {shlex.quote(glob)}" for glob in options.notebooks]
    words += [f"-p {shlex.quote(name)} {shlex.quote(value)}" for name, value in options.params]
    words += [f"--fail-on {shlex.quote(expression)}" for expression in options.fail_on]
    words += ["--rerun-base"] if options.rerun_base else []
    return [*words, f"--report {REPORT}", f"--junit {JUNIT}"]


def _install(options: WorkflowOptions, root: Path) -> str:
    if options.install:
        return options.install
    return ("pip install -r requirements.txt mlops-magic" if (root / "requirements.txt").is_file()
            else "pip install mlops-magic")


def _check(options: WorkflowOptions) -> None:
    check_expressions(options.fail_on)
    for text in (*options.notebooks, *options.fail_on, options.install, options.python,
                 *[w for pair in options.params for w in pair]):
        if "${{" in text or "\n" in text or "\r" in text:
            raise InvalidInputError(f"{text!r}: a workflow value may not hold '${{{{' or a line break")


def _block(words: Sequence[str], indent: str) -> list[str]:
    """A long command as shell lines continued with backslashes (never inside one of ``words``), under a
    YAML block scalar."""
    lines, current = [], ""
    for word in words:
        if current and len(current) + len(word) > 90:
            lines.append(current + " \\")
            current = "  "
        current += ("" if current.strip() == "" else " ") + word
    lines.append(current)
    return [indent + line for line in lines]


def github_workflow(options: WorkflowOptions, root: Path) -> str:
    _check(options)
    comment = [
        "      - name: Comment on the pull request",
        "        if: always() && github.event_name == 'pull_request'",
        "        continue-on-error: true  # a pull request from a fork gets a read-only token",
        "        env:",
        "          GH_TOKEN: ${{ github.token }}",
        "          PR: ${{ github.event.pull_request.number }}",
        "        run: |",
        f"          test -f {REPORT} || exit 0",
        "          # one comment per pull request, found by the report's first line and edited on later pushes",
        "          id=$(gh api \"repos/$GITHUB_REPOSITORY/issues/$PR/comments\" --paginate \\",
        f"                 --jq '.[] | select(.body | startswith(\"{MARKER}\")) | .id' | tail -n 1)",
        "          if [ -n \"$id\" ]; then",
        f"            gh api -X PATCH \"repos/$GITHUB_REPOSITORY/issues/comments/$id\" -F body=@{REPORT} > /dev/null",
        "          else",
        f"            gh pr comment \"$PR\" --body-file {REPORT}",
        "          fi",
    ] if options.comment else []
    return "\n".join([
        "# mlops ci: runs the notebooks a pull request changed (by stage code, parameters or inputs), compares",
        "# each with the base branch's result and answers with a report. Written by `mlops ci init --github`.",
        "# Baselines: with a shared store (MLOPS_STORE, e.g. a PostgreSQL URL in a secret) the base's recorded",
        "# runs are reused; otherwise --rerun-base runs the base's version of each changed notebook as well.",
        "name: mlops ci",
        "on:",
        "  pull_request:",
        "permissions:",
        "  contents: read",
        *(["  pull-requests: write"] if options.comment else []),
        "jobs:",
        "  notebooks:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "        with:",
        "          fetch-depth: 0  # the base branch's history, to diff against",
        "      - uses: actions/setup-python@v5",
        "        with:",
        f"          python-version: '{options.python}'",
        "      - name: Install",
        "        run: |",
        "          python -m pip install --upgrade pip",
        f"          {_install(options, root)}",
        "      - name: mlops ci",
        "        env:",
        "          BASE_REF: ${{ github.base_ref }}",
        "        run: |",
        *_block(ci_words(options, '"origin/$BASE_REF"'), "          "),
        "      - name: Job summary",
        "        if: always()",
        "        run: |",
        f"          if [ -f {REPORT} ]; then cat {REPORT} >> \"$GITHUB_STEP_SUMMARY\"; fi",
        *comment,
        "      - uses: actions/upload-artifact@v4",
        "        if: always()",
        "        with:",
        "          name: mlops-ci",
        "          if-no-files-found: ignore",
        "          path: |",
        f"            {REPORT}",
        f"            {JUNIT}",
        "            .mlops/runs/",
        "",
    ])


def gitlab_job(options: WorkflowOptions, root: Path) -> str:
    _check(options)
    target = "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    return "\n".join([
        "# mlops ci: runs the notebooks a merge request changed (by stage code, parameters or inputs), compares",
        "# each with the target branch's result; its JUnit file shows in the merge request's test widget.",
        "# Written by `mlops ci init --gitlab`. Baselines: with a shared store (MLOPS_STORE as a CI/CD variable)",
        "# the target's recorded runs are reused; otherwise --rerun-base runs the target's version as well.",
        "mlops-ci:",
        f"  image: python:{options.python}",
        "  stage: test",
        "  rules:",
        "    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"",
        "  variables:",
        "    GIT_DEPTH: \"0\"  # the target branch's history, to diff against",
        "  script:",
        "    - python -m pip install --upgrade pip",
        f"    - {_install(options, root)}",
        f"    - git fetch --quiet origin \"+refs/heads/{target}:refs/remotes/origin/{target}\"",
        "    - |",
        *_block(ci_words(options, f'"origin/{target}"'), "      "),
        "  artifacts:",
        "    when: always",
        "    expose_as: mlops ci report",
        "    paths:",
        f"      - {REPORT}",
        f"      - {JUNIT}",
        "      - .mlops/runs/",
        "    reports:",
        f"      junit: {JUNIT}",
        "",
    ])


def write_workflow(kind: str, root: Path, options: WorkflowOptions, *, path: str | None = None,
                   force: bool = False) -> Path:
    """Write the GitHub workflow or the GitLab job under ``root``; an existing file is kept unless ``force``."""
    if kind not in ("github", "gitlab"):
        raise InvalidInputError(f"unknown CI system {kind!r}; use github or gitlab")
    target = root / (path or (GITHUB_PATH if kind == "github" else GITLAB_PATH))
    if target.exists() and not force:
        hint = (" or write the job elsewhere with --output .gitlab/mlops-ci.yml and include it from your "
                ".gitlab-ci.yml") if kind == "gitlab" else ""
        raise ConflictError(f"{target} exists; pass --force to replace it{hint}")
    text = github_workflow(options, root) if kind == "github" else gitlab_job(options, root)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target

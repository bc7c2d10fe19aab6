"""Where this check runs, from the variables GitHub Actions and GitLab CI set: the branch under test (a CI
checkout is a detached HEAD, so git alone cannot say) and the job's page (where the executed notebooks
are uploaded), for the run tags and the report's links."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .git import Repo

_BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_REF_NAME",
                     "GITHUB_REF_NAME")


def branch_name(repo: Repo, env: Mapping[str, str] | None = None) -> str | None:
    """The pull request's branch: the CI system's word for it, else the checked-out branch."""
    env = os.environ if env is None else env
    for name in _BRANCH_VARIABLES:
        if env.get(name):
            return env[name]
    return repo.branch()


def job_url(env: Mapping[str, str] | None = None) -> str | None:
    """The page of this CI job (GitHub Actions run, GitLab job), or None outside CI."""
    env = os.environ if env is None else env
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return env.get("CI_JOB_URL") or None

"""CI for notebooks: a pull request that changes a notebook is run, compared with its base, and answered.

``run_ci()`` is the core of ``mlops ci`` (``cli/ci.py``): ``git`` says what changed, ``select`` which
notebooks' stage code or inputs changed, the runner runs them (trigger ``ci``), ``compare`` finds each
one's baseline, ``tolerances`` holds metric deltas to ``--fail-on``, and ``report``/``junit`` render the
:class:`CiResult`. ``workflows`` writes the GitHub Actions workflow and the GitLab CI job that call it.
"""

from __future__ import annotations

from .check import CiOptions, run_ci
from .junit import render_junit
from .outcome import CiResult, NotebookOutcome
from .report import render_markdown
from .workflows import WorkflowOptions, write_workflow

__all__ = ["CiOptions", "CiResult", "NotebookOutcome", "WorkflowOptions", "render_junit", "render_markdown",
           "run_ci", "write_workflow"]

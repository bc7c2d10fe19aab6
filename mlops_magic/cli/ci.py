"""``mlops ci`` (check a pull request's notebooks against its base) and ``mlops ci init`` (write the CI config).

Exit status: 0 every run succeeded and every tolerance and gate held (or nothing needed running), 1 a run
failed, a tolerance broke or a gate failed, 2 a usage error (nothing run).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import MlopsError
from .run import UsageFailure, parse_params


def _usage(exc: MlopsError) -> click.ClickException:
    """Bad input (a 4xx error: unknown base, a tolerance that does not parse) is exit 2; the rest exit 1."""
    return UsageFailure(str(exc)) if exc.status < 500 else click.ClickException(str(exc))


def _write(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


@click.group("ci", invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--base", default=None, metavar="REF",
              help="The branch the pull request merges into, e.g. origin/main (compared from its merge base).")
@click.option("--notebooks", "globs", multiple=True, metavar="GLOB",
              help="Only notebooks matching this glob, relative to the repository (repeatable; default: all).")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="A parameter for every run (typed: int, float, bool, None, else string). Repeatable.")
@click.option("-f", "--params-file", "params_files", multiple=True, type=click.Path(dir_okay=False),
              help="YAML file of parameters; -p wins over it.")
@click.option("--fail-on", multiple=True, metavar="EXPR",
              help="Fail when this is true of the metric changes (head − base), e.g. \"auc < -0.01\" (gate "
                   "grammar: and/or, parentheses). Repeatable.")
@click.option("--rerun-base", is_flag=True,
              help="Run the base's notebook in a git worktree when no recorded run of it exists.")
@click.option("--allow-changed-inputs", is_flag=True,
              help="Compare with a baseline that read other data or parameters (said in the report).")
@click.option("--report", "report_path", default=None, metavar="PATH",
              help="Write the Markdown report here ('-': standard output), e.g. for $GITHUB_STEP_SUMMARY.")
@click.option("--junit", "junit_path", default=None, metavar="PATH", help="Write JUnit XML here.")
@click.option("--executor", default=None, metavar="URL",
              help="Where runs execute: local, local:N, dask://HOST:PORT (default: the project's).")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run this many notebooks at once.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per run before it is stopped as timed-out.")
@click.option("--kernel", default=None, help="Kernel name (default: each notebook's).")
@click.pass_context
def ci(ctx: click.Context, base: str | None, globs: tuple[str, ...], params: tuple[tuple[str, str], ...],
       params_files: tuple[str, ...], fail_on: tuple[str, ...], rerun_base: bool, allow_changed_inputs: bool,
       report_path: str | None, junit_path: str | None, executor: str | None, parallel: int,
       timeout: float | None, kernel: str | None) -> None:
    """Run the notebooks this branch changed since --base, compare each with the base's run, report.

    A notebook runs when the code of a stage, its parameters cell or its setup cells changed, or a file
    it read as an input did; markdown and whitespace changes run nothing. Runs are recorded with
    trigger ci and never move a model alias. Exit 0 all held, 1 a run, tolerance or gate failed, 2 usage.
    `mlops ci init --github` (or --gitlab) writes the CI configuration that runs this on pull requests.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..ci import CiOptions, render_junit, render_markdown, run_ci  # lazy: mlops --help imports every command
    from ..store import open_store  # lazy: mlops --help imports every command

    if not base:
        raise UsageFailure("give --base, the branch this one merges into (e.g. --base origin/main)")
    try:
        options = CiOptions(base=base, notebooks=globs, params=parse_params(params, params_files), fail_on=fail_on,
                            rerun_base=rerun_base, allow_changed_inputs=allow_changed_inputs, executor=executor,
                            parallel=parallel, timeout=timeout, kernel=kernel)
        result = run_ci(open_store((ctx.find_root().obj or {}).get("store")), options,
                        say=lambda line: click.echo(line, err=True))
    except MlopsError as exc:
        raise _usage(exc) from None
    markdown = render_markdown(result)
    if report_path == "-":
        click.echo(markdown, nl=False)
    else:
        click.echo("\n".join(result.lines()))
        if report_path:
            _write(report_path, markdown)
    if junit_path:
        _write(junit_path, render_junit(result))
    ctx.exit(result.exit_code)


@ci.command("init")
@click.option("--github", "system", flag_value="github", help="Write .github/workflows/mlops-ci.yml.")
@click.option("--gitlab", "system", flag_value="gitlab", help="Write a .gitlab-ci.yml job (merge request pipelines).")
@click.option("--notebooks", "globs", multiple=True, metavar="GLOB", help="Passed to mlops ci (repeatable).")
@click.option("--fail-on", multiple=True, metavar="EXPR", help="Passed to mlops ci (repeatable).")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE", help="Passed to mlops ci.")
@click.option("--python", default="3.11", show_default=True, help="The Python version of the CI job.")
@click.option("--install", default=None, metavar="COMMAND",
              help="How the job installs the project (default: pip install [-r requirements.txt] mlops-magic).")
@click.option("--comment/--no-comment", default=True, show_default=True,
              help="GitHub: post the report as a pull request comment (edited in place on later pushes).")
@click.option("--rerun-base/--no-rerun-base", default=True, show_default=True,
              help="Let the job run the base's notebooks when the store has no run of them (a fresh CI store).")
@click.option("-o", "--output", default=None, metavar="PATH", help="Write here instead (relative to the repository).")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init(system: str | None, globs: tuple[str, ...], fail_on: tuple[str, ...], params: tuple[tuple[str, str], ...],
         python: str, install: str | None, comment: bool, rerun_base: bool, output: str | None, force: bool) -> None:
    """Write the CI configuration that runs mlops ci on every pull (merge) request."""
    from ..ci import WorkflowOptions, write_workflow  # lazy: mlops --help imports every command
    from ..ci.git import Repo  # lazy: mlops --help imports every command

    if system is None:
        raise UsageFailure("say which CI system: mlops ci init --github, or mlops ci init --gitlab")
    try:
        try:
            root = Repo.find().root
        except MlopsError:
            root = Path.cwd()
        options = WorkflowOptions(notebooks=globs, fail_on=fail_on, params=params, python=python,
                                  install=install or "", comment=comment, rerun_base=rerun_base)
        path = write_workflow(system, root, options, path=output, force=force)
    except MlopsError as exc:
        raise _usage(exc) from None
    click.echo(f"wrote {path}")

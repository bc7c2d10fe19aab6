"""``mlops import mlflow URI`` and ``mlops export mlflow URI``: in from and out to an MLflow tracking store."""

from __future__ import annotations

import sys
from typing import Any

import click

from .main import open_cli_store

_TRUST = click.option("--trust", is_flag=True,
                      help="Allow loading pickled scikit-learn models (MLflow 2's default format), which can run "
                           "code, to convert them; skops files need it only for classes outside scikit-learn.")


class _Bars:
    """One click progress bar per phase (runs, models) for the core's ``progress(what, done, total)``."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.what = ""
        self.done = 0

    def __call__(self, what: str, done: int, total: int) -> None:
        if what != self.what:
            self.close()
            self.what, self.done = what, 0
            self.bar = click.progressbar(length=max(total, 1), label=f"{what:<6}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.group("import", context_settings={"help_option_names": ["-h", "--help"]})
def import_group() -> None:
    """Bring runs and models in from another tool's store."""


@import_group.command("mlflow")
@click.argument("uri")
@click.option("--experiment", "experiments", multiple=True, metavar="NAME",
              help="Only this experiment (a name or an id; repeatable). Default: every active experiment.")
@_TRUST
@click.option("--workers", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Runs read from MLflow at once (each metric history is one MLflow call).")
@click.pass_context
def import_mlflow_command(ctx: click.Context, uri: str, experiments: tuple[str, ...], trust: bool,
                          workers: int) -> None:
    """Import an MLflow store (sqlite:///mlflow.db, http://host:5000, …): experiments, runs, registered models.

    Runs keep their times, status, params, tags, every metric point and their artifacts; registered
    scikit-learn versions come in as skops files, with their aliases. Importing again skips what is here.
    """
    from ..interop.mlflow_import import import_mlflow  # lazy: mlops --help imports every command

    bars = _Bars()
    try:
        summary = import_mlflow(open_cli_store(ctx), uri, experiments=list(experiments) or None, trust=trust,
                                progress=bars, workers=workers)
    finally:
        bars.close()
    click.echo(repr(summary))


@click.group("export", context_settings={"help_option_names": ["-h", "--help"]})
def export_group() -> None:
    """Write runs and models out to another tool's store."""


@export_group.command("mlflow")
@click.argument("uri")
@click.option("--runs", "runs_filter", metavar="FILTER",
              help="Runs to export: 'all', or NAME=VALUE pairs of notebook, status and trigger, comma-separated "
                   "(e.g. 'notebook=churn.ipynb,status=succeeded').")
@click.option("--models", "models", multiple=True, metavar="NAME",
              help="A registered model whose versions and aliases to export (repeatable).")
@_TRUST
@click.pass_context
def export_mlflow_command(ctx: click.Context, uri: str, runs_filter: str | None, models: tuple[str, ...],
                          trust: bool) -> None:
    """Export runs (their stages as nested runs) and model versions (as MLflow scikit-learn models, with their
    aliases) to the MLflow store at URI. Exporting again skips what is there."""
    from ..interop.mlflow_export import export_mlflow  # lazy: mlops --help imports every command

    bars = _Bars()
    try:
        summary = export_mlflow(open_cli_store(ctx), uri, runs=runs_filter, models=list(models), trust=trust,
                                progress=bars)
    finally:
        bars.close()
    click.echo(repr(summary))

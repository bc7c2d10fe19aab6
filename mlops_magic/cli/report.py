"""``mlops report``: a run's HTML or Markdown report, or the index across runs."""

from __future__ import annotations

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run", required=False, default=None)
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="Write RUN's HTML report here (default: .mlops/runs/RUN/report.html).")
@click.option("--index", "index_dir", default=None, type=click.Path(file_okay=False),
              help="Write index.html (trends and status history) and run pages into this folder.")
@click.option("--format", "fmt", type=click.Choice(["html", "markdown"]), default="html", show_default=True,
              help="markdown prints a summary (for CI job summaries) to stdout.")
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True, help="Runs in the index.")
@click.pass_context
def report(ctx: click.Context, run: str | None, html_path: str | None, index_dir: str | None, fmt: str,
           limit: int) -> None:
    """Report on RUN (id, prefix or 'latest'), or on all runs with --index."""
    # lazy: mlops --help imports every command
    from ..report import index_report, run_report, write_index, write_run_report
    from .main import open_cli_store  # lazy: mlops --help imports every command

    store = open_cli_store(ctx)
    if index_dir or (run is None and fmt == "markdown" and not html_path):
        if fmt == "markdown":
            click.echo(index_report(store, "markdown", limit))
            return
        click.echo(str(write_index(store, index_dir or "site", limit=limit)))
        return
    ref = run or "latest"
    if fmt == "markdown":
        click.echo(run_report(store, ref, "markdown"))
        return
    click.echo(str(write_run_report(store, ref, html_path)))

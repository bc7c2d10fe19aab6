"""``mlops drift REF CUR``: drift and data quality between two files, from a shell or CI."""

from __future__ import annotations

import json
import sys

import click

from ..options import DRIFT_TESTS
from .options import declared


@click.command("drift")
@click.argument("reference")
@click.argument("current", type=click.Path(dir_okay=False))
@declared(*DRIFT_TESTS)
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML report here.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--fail-on-drift", is_flag=True, help="Exit with status 1 when data-set drift is found.")
@click.pass_context
def drift_command(ctx: click.Context, reference: str, current: str, columns: str | None, tests: tuple[str, ...],
                  html_path: str | None, fmt: str, fail_on_drift: bool) -> None:
    """Compare CURRENT with REFERENCE (a file, or model:NAME@ALIAS for a registered model's profile)."""
    from ..display.html import esc  # lazy: mlops --help imports every command
    from ..errors import InvalidInputError  # lazy: mlops --help imports every command
    from ..monitoring import drift  # lazy: pulls numpy
    from ..monitoring.records import read_table, resolve_reference  # lazy: pulls numpy

    test_map = {}
    for item in tests:
        name, sep, test = item.partition("=")
        if not sep:
            raise InvalidInputError(f"malformed --test {item!r}; write COLUMN=TEST, e.g. age=psi")
        test_map[name] = test
    store = None
    if reference.startswith("model:"):
        from .main import open_cli_store  # lazy: mlops --help imports every command

        store = open_cli_store(ctx)
    ref, _, _ = resolve_reference(store, reference) if store is not None else (read_table(reference), None, None)
    report = drift(ref, read_table(current), columns=[c for c in (columns or "").split(",") if c] or None,
                   tests=test_map or None)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif fmt == "markdown":
        click.echo(report._repr_markdown_())
    else:
        click.echo(repr(report))
    if html_path:
        with open(html_path, "w", encoding="utf-8") as fh:
            fh.write(f"<!doctype html><meta charset='utf-8'><title>drift: {esc(current)}</title>"
                     + report._repr_html_())
        click.echo(f"report: {html_path}", err=fmt == "json")
    if fail_on_drift and report.drifted:
        sys.exit(1)

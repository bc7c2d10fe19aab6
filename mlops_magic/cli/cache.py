"""``mlops cache ls|clear``: the stage cache's entries (docs/cache.md)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import click

from .main import open_cli_store, print_table

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str | None) -> float | None:
    """``30d``, ``12h``, ``90m``, ``2w`` → seconds; a bad value is a usage error (exit 2)."""
    if text is None:
        return None
    match = _AGE.match(text)
    if not match:
        raise click.BadParameter(f"{text!r}: write an age such as 90m, 12h, 30d or 2w", param_hint="--older-than")
    return float(match.group(1)) * _SECONDS[match.group(2)]


_OLDER = click.option("--older-than", default=None, metavar="AGE",
                      help="Only entries not used for this long: 90m, 12h, 30d, 2w.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cache() -> None:
    """The stage cache: stages restored instead of run (`%%mlops stage KIND --cache`, `mlops run --cache`)."""


@cache.command("ls")
@_OLDER
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def ls(ctx: click.Context, older_than: str | None, fmt: str) -> None:
    """Cache entries, most recently used first: stage, the run that computed it, size, hits, last use."""
    from ..cache.entries import list_entries  # lazy: mlops --help imports every command
    from ..display.html import fmt_duration, fmt_size  # lazy: mlops --help imports every command

    entries = list_entries(open_cli_store(ctx), older_than=parse_age(older_than))
    if fmt == "json":
        click.echo(json.dumps([{**e, "created": _when(e["created"]), "last_used": _when(e["last_used"])}
                               for e in entries], indent=2))
        return
    if not entries:
        click.echo("the stage cache is empty; run a stage with --cache (or `mlops run NB --cache`) to fill it")
        return
    print_table(["key", "stage", "notebook", "run", "size", "took", "hits", "last used"], [
        [e["key"][:12], e["stage"], e["notebook"] or "", e["run_id"][:8], fmt_size(e["size"]),
         fmt_duration(e["seconds"]), str(e["hits"]), _when(e["last_used"])[:16].replace("T", " ")]
        for e in entries])
    click.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
               f"{fmt_size(sum(e['size'] for e in entries))}")


@cache.command("clear")
@_OLDER
@click.pass_context
def clear(ctx: click.Context, older_than: str | None) -> None:
    """Remove cache entries (all, or those not used for --older-than) and the files only they used."""
    from ..cache.entries import clear as clear_entries  # lazy: mlops --help imports every command
    from ..display.html import fmt_size  # lazy: mlops --help imports every command

    count, size = clear_entries(open_cli_store(ctx), older_than=parse_age(older_than))
    click.echo(f"removed {count} cache entr{'y' if count == 1 else 'ies'} ({fmt_size(size)})")


def _when(ts: float) -> Any:
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")

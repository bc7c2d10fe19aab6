"""``mlops models …``: list, show, history, promote and rollback registered models from a shell."""

from __future__ import annotations

import json
from typing import Any

import click

from ..options import HISTORY, PROMOTE, ROLLBACK
from .explain import card_command
from .main import _fmt_metrics, _fmt_time, open_cli_store, print_table
from .options import declared

_FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                       show_default=True)


@click.group()
def models() -> None:
    """Registered models: versions, aliases and their history."""


@models.command("list")
@_FORMAT
@click.pass_context
def list_cmd(ctx: click.Context, fmt: str) -> None:
    """One line per model: latest version and where its aliases point."""
    from ..registry.versions import model_summaries  # lazy: mlops --help imports every command

    records = model_summaries(open_cli_store(ctx))
    if fmt == "json":
        click.echo(json.dumps(records, indent=2))
    elif not records:
        click.echo("no models yet; register one with %mlops model register VAR --name NAME")
    else:
        print_table(["name", "latest", "versions", "aliases", "updated"], [
            [r["name"], f"v{r['latest']}", str(r["versions"]),
             ", ".join(f"{a}→v{v}" for a, v in sorted(r["aliases"].items())), _fmt_time(r["updated"])]
            for r in records])


@models.command()
@click.argument("ref")
@_FORMAT
@click.pass_context
def show(ctx: click.Context, ref: str, fmt: str) -> None:
    """Versions of NAME, or one version in full (NAME@VERSION, NAME@ALIAS)."""
    from ..registry.versions import data_sources, get_version, versions_of  # lazy: mlops --help imports every command

    store = open_cli_store(ctx)
    if "@" in ref:
        mv = get_version(store, ref)
        sources = data_sources(store, ref)
        if fmt == "json":
            click.echo(json.dumps({**mv.to_dict(), "data_sources": sources}, indent=2, default=str))
        else:
            click.echo(_detail(mv, sources))
        return
    versions = versions_of(store, ref)
    if fmt == "json":
        click.echo(json.dumps([v.to_dict() for v in versions], indent=2))
        return
    print_table(["version", "created", "aliases", "gates", "format", "run", "metrics"], [
        [f"v{v.version}", _fmt_time(v.created.isoformat()), ", ".join(v.aliases),
         {None: "", True: "passed", False: "FAILED"}[v.gates_passed], v.format, (v.run_id or "")[:8],
         _fmt_metrics(v.metrics)] for v in reversed(versions)])


def _detail(mv: Any, sources: list[dict[str, Any]]) -> str:
    lines = [repr(mv), f"  created   {_fmt_time(mv.created.isoformat())}", f"  type      {mv.model_type}",
             f"  file      {mv.digest[:12]} ({mv.size} bytes, {mv.format})" if mv.digest else
             "  file      none: registered from its predictions (monitored, not served)",
             f"  run       {mv.run_id or '-'} (stage {mv.stage_id or '-'})"]
    if mv.columns:
        cols = ", ".join(f"{c['name']}:{c.get('dtype') or '?'}" for c in mv.input_schema["columns"])
        lines.append(f"  input     {cols}")
    if mv.data_fingerprint:
        fp = mv.data_fingerprint
        lines.append(f"  data      {fp['digest'][:12]} ({fp.get('rows')} rows)")
    for src in sources:
        lines.append(f"  lineage   {src['digest'][:12]} {src['role'] or ''} {src['name'] or ''} in run "
                     f"{src['run_id'][:8]} stage {src['stage'] or '-'}")
    if mv.metrics:
        lines.append(f"  metrics   {_fmt_metrics(mv.metrics, 20)}")
    for g in mv.gates:
        lines.append(f"  gate      {'passed' if g['passed'] else 'FAILED'}: {g['expression']}")
    return "\n".join(lines)


@models.command()
@click.argument("name")
@declared(*HISTORY)
@_FORMAT
@click.pass_context
def history(ctx: click.Context, name: str, alias: str | None, fmt: str) -> None:
    """The audit history of NAME's aliases, newest first: from, to, when, who, run, reason."""
    from ..registry.aliases import history as alias_history  # lazy: mlops --help imports every command

    changes = alias_history(open_cli_store(ctx), name, alias)
    if fmt == "json":
        click.echo(json.dumps([c.to_dict() for c in changes], indent=2))
    elif not changes:
        click.echo(f"{name}: no alias has been set yet")
    else:
        print_table(["when", "alias", "action", "from", "to", "user", "run", "reason"], [
            [_fmt_time(c.created.isoformat()), c.alias, c.action, f"v{c.from_version}" if c.from_version else "-",
             f"v{c.to_version}" if c.to_version else "-", c.user or "", (c.run_id or "")[:8], c.reason or ""]
            for c in changes])


@models.command()
@click.argument("name")
@declared(*PROMOTE)
@click.pass_context
def promote(ctx: click.Context, name: str, alias: str, version: int | None, if_better: str | None,
            higher: bool | None, reason: str | None) -> None:
    """Point ALIAS at a version of NAME, refusing versions whose gates failed."""
    from ..registry.aliases import promote as do_promote  # lazy: mlops --help imports every command

    result = do_promote(open_cli_store(ctx), name, alias, version=version, if_better=if_better,
                        higher_is_better=higher, reason=reason)
    click.echo(str(result.change))


@models.command()
@click.argument("name")
@declared(*ROLLBACK)
@click.pass_context
def rollback(ctx: click.Context, name: str, alias: str, reason: str | None) -> None:
    """Move ALIAS back to the version it held before its latest move."""
    from ..registry.aliases import rollback as do_rollback  # lazy: mlops --help imports every command

    click.echo(str(do_rollback(open_cli_store(ctx), name, alias, reason=reason).change))


@models.command()
@click.argument("ref")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="The folder to write (created; it must be empty, or an earlier package with --overwrite).")
@click.option("--wheel", "wheels", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="A wheel to ship in wheels/ and install first, e.g. an unreleased mlops-magic (repeatable).")
@click.option("--trust", is_flag=True, help="Allow packaging a pickle/joblib model file (served with --trust).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier package in DIR.")
@click.pass_context
def package(ctx: click.Context, ref: str, output: str, wheels: tuple[str, ...], trust: bool, overwrite: bool) -> None:
    """Write a deployable folder for REF: the model, its input schema, pinned requirements, a Dockerfile and an
    entrypoint that runs mlops serve."""
    from ..interop.package import package as write_package  # lazy: mlops --help imports every command

    click.echo(repr(write_package(open_cli_store(ctx), ref, output, wheels=list(wheels), trust=trust,
                                  overwrite=overwrite)))


models.add_command(card_command, "card")

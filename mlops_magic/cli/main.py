"""The ``mlops`` command: the same core as the magics, for shells, cron and CI.

Subcommands live in their own modules and are imported only when invoked
(:class:`LazyGroup`), so ``mlops --help`` stays fast. Every error is one line
on stderr and a non-zero exit status.
"""

from __future__ import annotations

import csv
import importlib
import json
import sys
from typing import Any

import click

from .._version import __version__
from ..display.html import fmt_number
from ..entities import RunStatus
from ..errors import MlopsError
from ..options import RUN_FILTERS, SWEEP_FILTER
from .options import declared

#: name → "module:attribute" of a click command, imported on first use.
LAZY_COMMANDS: dict[str, str] = {
    "run": "mlops_magic.cli.run:run",
    "schedule": "mlops_magic.cli.schedule:schedule",
    "scheduler": "mlops_magic.cli.schedule:scheduler",
    "report": "mlops_magic.cli.report:report",
    "models": "mlops_magic.cli.models:models",
    "serve": "mlops_magic.cli.serve:serve_command",
    "demo": "mlops_magic.cli.demo:demo",
    "drift": "mlops_magic.cli.drift:drift_command",
    "performance": "mlops_magic.cli.performance:performance_command",
    "labels": "mlops_magic.cli.performance:labels",
    "predictions": "mlops_magic.cli.performance:predictions",
    "import": "mlops_magic.cli.interop:import_group",
    "export": "mlops_magic.cli.interop:export_group",
    "diff": "mlops_magic.cli.explain:diff_command",
    "reproduce": "mlops_magic.cli.explain:reproduce_command",
    "lineage": "mlops_magic.cli.explain:lineage_command",
    "cache": "mlops_magic.cli.cache:cache",
    "ci": "mlops_magic.cli.ci:ci",
    "alert": "mlops_magic.cli.alert:alert",
    "sweep": "mlops_magic.cli.sweep:sweep",
    "gc": "mlops_magic.cli.gc:gc",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, _, attr = LAZY_COMMANDS[name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlopsError as exc:
            raise click.ClickException(str(exc)) from None


def open_cli_store(ctx: click.Context) -> Any:
    """The store named by --store / MLOPS_STORE, else the nearest project's; never a new one by accident."""
    from ..alerts import watch_events  # lazy: mlops --help imports every command
    from ..store import open_existing_store  # lazy: mlops --help imports every command

    store = open_existing_store((ctx.find_root().obj or {}).get("store"))
    watch_events("cli", lambda: store)  # a promotion or a drift check made here is alerted from here
    return store


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlops")
@click.option("--store", envvar="MLOPS_STORE", default=None, metavar="URL",
              help="Store URL or folder (default: the nearest .mlops/ above the working directory).")
@click.pass_context
def main(ctx: click.Context, store: str | None) -> None:
    """mlops-magic: track, run and retrain notebooks.

    Runs recorded by %%mlops stage cells, the Python API and headless runs all
    land in one store; these commands read and drive it.
    """
    ctx.obj = {"store": store}


@main.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--store", "store_url", default=None, metavar="URL",
              help="Keep the data elsewhere, e.g. sqlite:////data/mlops.db.")
@click.option("--executor", default=None, metavar="URL",
              help="The project's default executor for headless runs: local, local:N or dask://HOST:PORT.")
def init(path: str | None, store_url: str | None, executor: str | None) -> None:
    """Create PATH/.mlops/ (default: the working directory)."""
    from ..store.project import init_project  # lazy: mlops --help imports every command

    if executor:
        from ..runner.executor_url import check_executor_url  # lazy: mlops --help imports every command

        executor = check_executor_url(executor)
    _, message = init_project(path, store_url, executor=executor)
    click.echo(message)


def _fmt_time(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else ""


def _fmt_metrics(metrics: dict[str, Any], limit: int = 3) -> str:
    items = list(metrics.items())[:limit]
    text = " ".join(f"{k}={fmt_number(v)}" for k, v in items)
    return text + (" …" if len(metrics) > limit else "")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@main.group(invoke_without_command=True)
@declared(*RUN_FILTERS)
@declared(SWEEP_FILTER)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.pass_context
def runs(ctx: click.Context, notebook: str | None, status: str | None, trigger: str | None, user: str | None,
         limit: int | None, sweep: str | None, fmt: str) -> None:
    """List runs, newest first, each sweep's points under it. JSON is an array of run objects (id, notebook,
    status, trigger, started, user, …).

    `mlops runs keep RUN` marks a run that `mlops gc` must never remove.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..tracking.queries import list_run_records  # lazy: mlops --help imports every command
    from ..tracking.sweeps import group_by_sweep, sweep_points_only  # lazy: mlops --help imports every command

    store = open_cli_store(ctx)
    store.reap_orphans()  # a run whose process is gone (a killed kernel) is listed as killed, not running
    records = list_run_records(store, notebook=notebook, status=status, trigger=trigger, user=user,
                               limit=None if sweep else limit)
    if sweep:
        records = sweep_points_only(store, records, sweep)[:limit]
    if fmt == "json":
        click.echo(json.dumps(records, indent=2))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["id", "notebook", "name", "status", "trigger", "started", "ended", "duration", "metrics",
                         "user"])
        for r in records:
            writer.writerow([r["id"], r["notebook"] or "", r["name"] or "", r["status"], r["trigger"], r["started"],
                             r["ended"] or "", r["duration"] if r["duration"] is not None else "",
                             json.dumps(r["metrics"]), r["user"] or ""])
    elif not records:
        click.echo("no runs yet")
    else:
        where = any(r["worker"] or r["status"] == RunStatus.QUEUED for r in records)
        print_table(["id", "status", "trigger", "notebook", "user", "started", "duration", "metrics"]
                    + (["worker"] if where else []), [
            [("└ " if r["depth"] else "") + r["id"][:8], r["status"], r["trigger"], r["notebook"] or "",
             r["user"] or "", _fmt_time(r["started"]),
             f"{r['duration']:.1f}s" if r["duration"] is not None else "", _fmt_metrics(r["metrics"])]
            + ([_where(r)] if where else []) for r in group_by_sweep(store, records)])


@runs.command("keep")
@click.argument("run_refs", nargs=-1, required=True, metavar="RUN...")
@click.option("--undo", is_flag=True, help="Let retention remove the run again (when old enough).")
@click.pass_context
def keep(ctx: click.Context, run_refs: tuple[str, ...], undo: bool) -> None:
    """Mark RUN (an id, a unique prefix or 'latest') so that `mlops gc` never removes it (tag mlops.keep)."""
    from ..store.params import KEEP_TAG  # lazy: mlops --help imports every command

    store = open_cli_store(ctx)
    for ref in run_refs:
        run_id = store.resolve_run_id(ref)
        store.set_tags(run_id, {KEEP_TAG: "false" if undo else "true"})
        click.echo(f"{run_id[:8]}: {'no longer kept' if undo else 'kept: mlops gc will never remove it'}")


def _where(record: dict[str, Any]) -> str:
    """The worker a cluster run ran on, or why a queued run waits."""
    if record["status"] == RunStatus.QUEUED:
        return f"({record['waiting']})" if record.get("waiting") else "(queued)"
    return record.get("worker") or ""


@main.command()
@click.argument("run", default="latest")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def show(ctx: click.Context, run: str, fmt: str) -> None:
    """Show RUN (an id, a unique prefix, or 'latest'): stages, params, metrics, artifacts, fingerprints."""
    from ..display.runs import RunView  # lazy: mlops --help imports every command
    from ..tracking.queries import run_detail  # lazy: mlops --help imports every command

    detail = run_detail(open_cli_store(ctx), run)
    click.echo(json.dumps(detail, indent=2, default=str) if fmt == "json" else repr(RunView(detail)))


@main.command()
@click.argument("run", default="latest")
@click.pass_context
def status(ctx: click.Context, run: str) -> None:
    """The lifecycle of RUN: stages in order with status, attempt, duration and warnings."""
    from ..display.runs import LifecycleView  # lazy: mlops --help imports every command
    from ..tracking.queries import run_lifecycle  # lazy: mlops --help imports every command

    click.echo(repr(LifecycleView(run_lifecycle(open_cli_store(ctx), run))))


if __name__ == "__main__":  # pragma: no cover
    main()

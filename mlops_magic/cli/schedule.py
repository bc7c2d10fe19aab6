"""``mlops schedule …`` (manage schedules) and ``mlops scheduler …`` (tick once, or loop)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import click

from ..errors import MlopsError
from .main import open_cli_store
from .run import UsageFailure, parse_params, split_list


def _store(ctx: click.Context) -> Any:
    """Adding a schedule may start a project (as ``mlops run`` does); every other command needs one."""
    from ..store import open_store  # lazy: mlops --help imports every command

    return open_store((ctx.find_root().obj or {}).get("store"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def schedule() -> None:
    """Add, list, pause, resume, remove and export schedules."""


@schedule.command("add")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--cron", default=None, help="Cron expression, e.g. '0 2 * * *'.")
@click.option("--tz", "tz", default=None, help="Timezone of --cron (IANA name; default UTC).")
@click.option("--on-change", multiple=True, metavar="GLOB",
              help="Run when these files' fingerprints change (with --cron: run at cron times only if changed).")
@click.option("--after", default=None, metavar="NOTEBOOK", help="Run after each successful run of NOTEBOOK.")
@click.option("--on-drift", default=None, metavar="SUBJECT",
              help="Run when drift is found for SUBJECT (a model or notebook name; '*' for any).")
@click.option("--on-performance-drop", default=None, metavar="MODEL",
              help="Run when MODEL's estimated or realized performance drops below its bar ('*' for any).")
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE")
@click.option("-f", "--params-file", "params_files", multiple=True, type=click.Path(dir_okay=False))
@click.option("--stages", default=None, metavar="A,B")
@click.option("--from", "from_stage", default=None, metavar="STAGE")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--retries", type=click.IntRange(min=0), default=0)
@click.option("--catchup", type=click.Choice(["skip", "all"]), default="skip", show_default=True,
              help="After downtime: run only the latest missed time, or every one.")
@click.option("--max-concurrency", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--notify", multiple=True, metavar="SPEC", help="On failure: 'log' or 'webhook:URL'.")
@click.option("--kernel", default=None)
@click.option("--executor", default=None, metavar="URL",
              help="Run this schedule's notebooks there (local, local:N, dask://HOST:PORT); default: the scheduler's.")
@click.option("--resources", default=None, metavar="NAME=AMOUNT,...", help="Cluster worker resources, e.g. GPU=1.")
@click.option("--queue-timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Fail a run still waiting for a worker after this many seconds.")
@click.option("--cache", is_flag=True, help="Run with the stage cache: unchanged stages are restored, not re-run.")
@click.pass_context
def add(ctx: click.Context, notebook: str, cron: str | None, tz: str | None, on_change: tuple[str, ...],
        after: str | None, on_drift: str | None, on_performance_drop: str | None, params: tuple[tuple[str, str], ...],
        params_files: tuple[str, ...], stages: str | None, from_stage: str | None, timeout: float | None,
        retries: int, catchup: str, max_concurrency: int, notify: tuple[str, ...], kernel: str | None,
        executor: str | None, resources: str | None, queue_timeout: float | None, cache: bool) -> None:
    """Schedule NOTEBOOK; prints the new schedule id."""
    from ..runner.executor_url import parse_resources  # lazy: mlops --help imports every command
    from ..scheduling.schedules import add_schedule  # lazy: mlops --help imports every command

    try:
        s = add_schedule(_store(ctx), notebook, params=parse_params(params, params_files),
                         stages=split_list(stages), from_stage=from_stage, cron=cron, tz=tz, on_change=on_change,
                         after=after, on_drift=on_drift, on_performance_drop=on_performance_drop,
                         timeout=timeout, retries=retries, catchup=catchup,
                         max_concurrency=max_concurrency, notify=notify, kernel=kernel, executor=executor,
                         resources=parse_resources(resources), queue_timeout=queue_timeout, cache=cache)
    except MlopsError as exc:
        raise UsageFailure(str(exc)) from None
    click.echo(f"{s.id}  {s.notebook}  {s.triggers()}")


@schedule.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def list_cmd(ctx: click.Context, fmt: str) -> None:
    """Schedules with their triggers, next cron time, last run and who changed them last."""
    from ..scheduling.overview import list_schedules_view  # lazy: mlops --help imports every command
    from .main import print_table  # lazy: mlops --help imports every command

    rows = list_schedules_view(open_cli_store(ctx))
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("no schedules; add one with `mlops schedule add NOTEBOOK --cron '0 2 * * *'`")
    else:
        where = any(r.get("executor") or r.get("resources") for r in rows)
        print_table(["id", "notebook", "triggers", "state", "next", "last run", "changed by"]
                    + (["executor"] if where else []), [
            [r["id"], r["notebook"], r["triggers"], "paused" if r["paused"] else "active",
             (r["next_due"] or "")[:16].replace("T", " "),
             f"{r['last_run']['id'][:8]} {r['last_run']['status']}" if r["last_run"] else "", r["changed_by"] or ""]
            + ([_executor_cell(r)] if where else []) for r in rows])


def _executor_cell(row: dict[str, Any]) -> str:
    resources = ",".join(f"{k}={v:g}" for k, v in sorted((row.get("resources") or {}).items()))
    return " ".join(p for p in (row.get("executor") or "(scheduler's)", resources) if p)


def _simple(name: str, help_text: str, action: Any) -> None:
    @schedule.command(name, help=help_text)
    @click.argument("schedule_id")
    @click.pass_context
    def command(ctx: click.Context, schedule_id: str) -> None:
        s = action(open_cli_store(ctx), schedule_id)
        click.echo(f"{s.id}  {name}d" if name != "remove" else f"{s.id}  removed")


def _pause(store: Any, ref: str) -> Any:
    from ..scheduling.schedules import set_paused  # lazy: mlops --help imports every command

    return set_paused(store, ref, True)


def _resume(store: Any, ref: str) -> Any:
    from ..scheduling.schedules import set_paused  # lazy: mlops --help imports every command

    return set_paused(store, ref, False)


def _remove(store: Any, ref: str) -> Any:
    from ..scheduling.schedules import remove_schedule  # lazy: mlops --help imports every command

    return remove_schedule(store, ref)


_simple("pause", "Stop firing SCHEDULE_ID until resumed.", _pause)
_simple("resume", "Fire SCHEDULE_ID again (missed times follow its catch-up policy).", _resume)
_simple("remove", "Delete SCHEDULE_ID (its runs stay).", _remove)


@schedule.command("export")
@click.option("--format", "fmt", type=click.Choice(["crontab", "systemd", "github-actions"]), required=True)
@click.pass_context
def export_cmd(ctx: click.Context, fmt: str) -> None:
    """Print a crontab line, systemd units or a GitHub Actions workflow that ticks the scheduler."""
    from pathlib import Path

    from ..scheduling.export import export  # lazy: mlops --help imports every command
    from ..scheduling.schedules import list_schedules  # lazy: mlops --help imports every command

    store = open_cli_store(ctx)
    project = Path(store.project_dir or Path.cwd())
    click.echo(export(list_schedules(store), fmt, project, (ctx.find_root().obj or {}).get("store")), nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def scheduler() -> None:
    """Run the scheduler: one idempotent tick, or a foreground loop."""


_EXECUTOR_HELP = "Run due notebooks there (local, local:N, dask://HOST:PORT) unless a schedule names its own."


def _check_executor(url: str | None) -> str | None:
    from ..runner.executor_url import check_executor_url  # lazy: mlops --help imports every command

    try:
        return check_executor_url(url) if url else None
    except MlopsError as exc:
        raise UsageFailure(str(exc)) from None


@scheduler.command("tick")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--executor", default=None, metavar="URL", help=_EXECUTOR_HELP)
@click.option("--now", "now_text", default=None, metavar="ISO", help="Pretend it is this time (testing).")
@click.pass_context
def tick_cmd(ctx: click.Context, parallel: int, executor: str | None, now_text: str | None) -> None:
    """Claim and run everything due now; safe to run from several places at once.

    One line per fire. Exit status 1 when a due notebook could not start (missing, or its cluster
    unreachable); a notebook that ran and failed is recorded and notified, and leaves the status 0.
    """
    from ..scheduling.tick import tick  # lazy: mlops --help imports every command

    now = _parse_now(now_text)
    with _fire_lines_only():
        claimed = tick(open_cli_store(ctx), now, parallel=parallel, executor=_check_executor(executor))
    for c in claimed:
        click.echo(f"schedule {c.schedule.id}  {c.fire.trigger}  " + (c.result.line() if c.result else c.run_id))
    if not claimed:
        click.echo("nothing due")
    if any(not c.started for c in claimed):
        ctx.exit(1)  # cron, systemd and CI see that a due notebook could not even start


@contextlib.contextmanager
def _fire_lines_only() -> Iterator[None]:
    """A tick prints one line per fire, failures included; the default log notifier would print the
    same failure a second time, so its logger is silenced while the tick runs (webhooks still fire)."""
    logger = logging.getLogger("mlops_magic.runner.notify")
    handler, propagate = logging.NullHandler(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


@scheduler.command("run")
@click.option("--interval", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds between ticks.")
@click.option("--parallel", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--executor", default=None, metavar="URL", help=_EXECUTOR_HELP)
@click.pass_context
def run_cmd(ctx: click.Context, interval: float, parallel: int, executor: str | None) -> None:
    """Tick every INTERVAL seconds in the foreground until interrupted."""
    from ..scheduling.tick import run_loop  # lazy: mlops --help imports every command

    executor = _check_executor(executor)
    click.echo(f"mlops scheduler: ticking every {interval:g}s (Ctrl-C to stop)"
               + (f"; notebooks run on {executor}" if executor else ""))
    try:
        run_loop(open_cli_store(ctx), interval=interval, parallel=parallel, echo=click.echo, executor=executor)
    except KeyboardInterrupt:
        click.echo("mlops scheduler: stopped")


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageFailure(f"--now {text!r} is not an ISO time such as 2024-05-01T02:00:00+00:00") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

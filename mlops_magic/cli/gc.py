"""``mlops gc``: retention. Remove old runs and the artifacts nothing references any more."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--older-than", required=True, metavar="AGE",
              help="Remove runs that started longer ago than this: 90d, 12w, 36h.")
@click.option("--keep-last", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Always keep the newest N runs of each notebook, whatever their age.")
@click.option("--grace", default="6h", show_default=True, metavar="AGE",
              help="Keep artifact objects written less than this before gc started (at least 2h), so a "
                   "concurrent writer's upload is never removed before its row names it.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed and the bytes freed; remove nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def gc(ctx: click.Context, older_than: str, keep_last: int, grace: str, dry_run: bool, fmt: str) -> None:
    """Remove runs older than --older-than (with their params, metrics, stages, fingerprints, events and
    working copies), then the artifact bytes no remaining run or model version references.

    Never removed: a run a model version was registered from (aliases point at versions), each schedule's
    newest run, runs marked keep (`mlops runs keep RUN`, or the tag mlops.keep=true), and queued or
    running runs. Safe while other processes write. Same on SQLite and PostgreSQL.
    """
    # lazy: mlops --help imports every command
    from ..store.retention import MIN_GRACE, RetentionRule, collect, parse_duration
    from .main import open_cli_store  # lazy: mlops --help imports every command

    age = parse_duration(older_than, "--older-than")
    wait = parse_duration(grace, "--grace")
    if wait < MIN_GRACE:
        raise click.UsageError(f"--grace {grace!r} is too short: at least {MIN_GRACE // 3600}h, so an artifact "
                               "re-used by a run that is writing now is never removed")
    store = open_cli_store(ctx)
    report = collect(store, RetentionRule(older_than=age, keep_last=keep_last, grace=wait), dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps(_as_dict(report), indent=2))
        return
    for line in describe(report, age, keep_last):
        click.echo(line)


def _as_dict(report: Any) -> dict[str, Any]:
    return {"dry_run": report.dry_run, "runs": report.runs, "kept": report.kept, "rows": dict(report.rows),
            "objects": report.objects, "object_bytes": report.object_bytes, "work_bytes": report.work_bytes,
            "bytes_freed": report.bytes_freed, "stale_uploads": report.stale_uploads, "seconds": report.seconds}


def describe(report: Any, age: float, keep_last: int) -> list[str]:
    """The report for people: what went (or would), what stayed and why, and the bytes freed."""
    from ..display.html import fmt_size  # lazy: mlops --help imports every command

    verb = "would remove" if report.dry_run else "removed"
    cutoff = datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() - age, timezone.utc)
    lines = [f"{verb} {len(report.runs)} run{'s' * (len(report.runs) != 1)} started before "
             f"{cutoff:%Y-%m-%d %H:%M} UTC (keeping the newest {keep_last} of each notebook)"]
    if report.kept:
        lines.append("kept " + ", ".join(f"{n} ({why})" for why, n in sorted(report.kept.items())))
    if report.rows:
        lines.append("rows: " + ", ".join(f"{table} {n}" for table, n in sorted(report.rows.items()) if n))
    lines.append(f"artifacts: {report.objects} object{'s' * (report.objects != 1)} no run or model version "
                 f"references ({fmt_size(report.object_bytes)}); working copies {fmt_size(report.work_bytes)}")
    if report.stale_uploads:
        lines.append(f"cleaned {report.stale_uploads} abandoned upload(s)")
    lines.append(f"{'would free' if report.dry_run else 'freed'} {fmt_size(report.bytes_freed)} "
                 f"in {report.seconds:.1f} s")
    return lines

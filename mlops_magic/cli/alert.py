"""``mlops alert …``: send failures, drift, performance drops, failed gates and promotions where the team is."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from ..errors import MlopsError
from .main import open_cli_store, print_table
from .run import UsageFailure

KINDS_HELP = "failed, gate-failed, drift, performance-drop, promoted (comma-separated)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def alert() -> None:
    """Alert rules: which events go to Slack, email or a webhook (docs/operations.md).

    \b
    mlops alert add --on failed,drift --to slack:$SLACK_WEBHOOK_URL
    mlops alert add --on failed --to email:oncall@example.com --notebook churn.ipynb
    mlops alert add --on promoted --to webhook:https://ci.example.com/hooks/deploy
    mlops alert list | test ID | remove ID | deliver
    """


@alert.command("add")
@click.option("--on", "on", required=True, metavar="KINDS", help=f"Which events: {KINDS_HELP}.")
@click.option("--to", "to", required=True, metavar="CHANNEL:WHERE",
              help="slack:URL, email:ADDRESS or webhook:URL; a URL may be env:NAME (read when sending). A URL "
                   "given as is is kept in .mlops/config.json, never in the store.")
@click.option("--notebook", default=None, metavar="NOTEBOOK", help="Only events of this notebook's runs (or a glob).")
@click.option("--model", default=None, metavar="NAME", help="Only drift, performance-drop and promoted events of NAME.")
@click.option("--severity", type=click.Choice(["info", "warning", "error"]), default="info", show_default=True,
              help="Only events at this severity or above.")
@click.option("--dedup-window", type=click.FloatRange(min=0), default=3600, show_default=True, metavar="SECONDS",
              help="The same alert again within this time is not sent.")
@click.option("--rate-limit", type=click.IntRange(min=1), default=10, show_default=True, metavar="N",
              help="At most N messages per hour from this rule.")
@click.pass_context
def add(ctx: click.Context, on: str, to: str, notebook: str | None, model: str | None, severity: str,
        dedup_window: float, rate_limit: int) -> None:
    """Add a rule; it alerts about events from now on. Prints its id."""
    from ..alerts.api import add_rule  # lazy: mlops --help imports every command

    try:
        rule = add_rule(open_cli_store(ctx), on, to, notebook=notebook, model=model, severity=severity,
                        dedup_window=dedup_window, rate_limit=rate_limit)
    except MlopsError as exc:
        raise UsageFailure(str(exc)) from None
    click.echo(f"{rule.id}  {rule.describe()}")


@alert.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def list_cmd(ctx: click.Context, fmt: str) -> None:
    """Rules, what their deliveries did (sent, pending, failed, suppressed) and the newest error."""
    from ..alerts.api import list_rules  # lazy: mlops --help imports every command

    rules = list_rules(open_cli_store(ctx))
    if fmt == "json":
        click.echo(json.dumps(rules, indent=2, default=str))
        return
    if not rules:
        click.echo("no alert rules; add one with `mlops alert add --on failed --to slack:URL`")
        return
    print_table(["id", "on", "to", "scope", "deliveries", "last sent"], [
        [str(r["id"]), ",".join(r["on"]), f"{r['channel']}:{r['to']}", _scope(r),
         " ".join(f"{k} {v}" for k, v in sorted(r["deliveries"].items())) or "none", _when(r["last_sent"])]
        for r in rules])
    for r in rules:
        if r["last_error"]:
            click.echo(f"rule {r['id']}: last error: {r['last_error']}")


def _scope(rule: dict[str, object]) -> str:
    parts = [f"{k} {rule[k]}" for k in ("notebook", "model") if rule[k]]
    if rule["severity"] != "info":
        parts.append(f">= {rule['severity']}")
    return ", ".join(parts) or "all"


def _when(ts: object) -> str:
    if not isinstance(ts, (int, float)):
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@alert.command("test")
@click.argument("rule_id", metavar="ID")
@click.pass_context
def test(ctx: click.Context, rule_id: str) -> None:
    """Send a sample alert through rule ID now (exit 1, saying why, when it cannot be sent)."""
    from ..alerts.api import test_rule  # lazy: mlops --help imports every command

    click.echo(test_rule(open_cli_store(ctx), rule_id))


@alert.command("remove")
@click.argument("rule_id", metavar="ID")
@click.pass_context
def remove(ctx: click.Context, rule_id: str) -> None:
    """Remove rule ID, its delivery history and the secret URL it kept in .mlops/config.json."""
    from ..alerts.api import remove_rule  # lazy: mlops --help imports every command

    rule = remove_rule(open_cli_store(ctx), rule_id)
    click.echo(f"removed alert rule {rule.id} ({rule.describe()})")


@alert.command("deliver")
@click.pass_context
def deliver_cmd(ctx: click.Context) -> None:
    """Send what is due now (new events, retries): for cron when no `mlops scheduler run` loop delivers."""
    from ..alerts.delivery import deliver  # lazy: mlops --help imports every command

    click.echo(deliver(open_cli_store(ctx)).line())

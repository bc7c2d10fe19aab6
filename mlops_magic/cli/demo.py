"""``mlops demo``: continuous training end to end, headless, in a fresh project folder.

This is the README's first command. It drives only public pieces (runner,
scheduler, registry, monitoring, reports), so it doubles as an end-to-end
check of what a new user sees: train and promote a churn model; let a month of
harmlessly drifted customers arrive (the monitor finds drift, the estimated
performance holds, nothing retrains), then a degrading month (the estimate drops,
the performance-drop event retrains, the challenger wins; both are alerted to a
webhook receiver the demo starts); explain the change; write a report site.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from ..entities import RunStatus


def demo_notebooks_dir() -> Path:
    """Demo notebooks ship inside the wheel; in a source checkout they sit beside the package."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "demo_notebooks", package.parent / "demo_notebooks"):
        if candidate.is_dir():
            return candidate
    raise click.ClickException("the demo notebooks are missing from this installation")


def _say(text: str) -> None:
    click.secho(f"==> {text}", bold=True)


def _tick(store: Any, label: str, receiver: Any = None) -> list[Any]:
    from ..scheduling.tick import tick  # lazy: mlops --help imports every command

    claimed = tick(store)  # a tick also delivers the alerts its runs raised
    if not claimed:
        click.echo(f"    tick ({label}): nothing due")
    for c in claimed:
        run = store.get_run(c.run_id)
        click.echo(f"    tick ({label}): {Path(run.notebook or '?').name} ran, trigger {run.trigger}, {run.status}"
                   + (f" ({run.error})" if run.error else ""))
        _outcome(store, run.id)
    for message in receiver.take() if receiver is not None else []:
        why = "; ".join(message.get("why") or [])
        click.echo(f"      alert received: [{message.get('severity')}] {message.get('title')}"
                   + (f": {why}" if why else ""))
    return claimed


def _outcome(store: Any, run_id: str) -> None:
    """What a run decided: drift and performance verdicts, the version it registered, where production points."""
    from ..display.performance import headline  # lazy: mlops --help imports every command
    from ..monitoring.performance import performance_reports  # lazy: pulls numpy
    from ..monitoring.records import drift_reports  # lazy: pulls numpy
    from ..registry.versions import get_version, versions_of_run  # lazy: mlops --help imports every command

    for report in drift_reports(store, run_id):
        click.echo(f"      drift: {report.verdict}")
    for perf in performance_reports(store, run_id):
        click.echo(f"      performance: {headline(perf)}")
    for version in versions_of_run(store, run_id):
        production = get_version(store, f"{version.name}@production")
        click.echo(f"      registered {version.name} v{version.version}; production is v{production.version}")


def _realized(store: Any, ref: str, labelled: Path) -> None:
    from ..monitoring.performance import performance  # lazy: pulls numpy
    from ..monitoring.records import read_table  # lazy: pulls numpy

    batch = read_table(labelled).drop(columns=["customer_id"])
    window = performance(store, ref, current=batch, labels="churned").latest
    if window is None:
        return
    realized, estimated = window.realized.get("auc", float("nan")), window.estimated.get("auc", float("nan"))
    if realized < estimated - 0.02:
        why = ("the estimate saw the drop, not all of it: it assumes the same inputs mean the same outcome, "
               "and these new customers behave differently (docs/monitoring.md)")
    else:
        why = "the estimate was right"
    click.echo(f"    {ref}: auc realized {realized:.4f}, estimated {estimated:.4f}: {why}")


def run_demo(target: Path) -> Path:
    """The story; returns the report index path. Raises MlopsError if a step fails."""
    from ..alerts.api import add_rule  # lazy: mlops --help imports every command
    from ..demo.data import write_month  # lazy: mlops --help imports every command
    from ..demo.receiver import AlertReceiver  # lazy: mlops --help imports every command
    from ..display.runs import fmt_system  # lazy: mlops --help imports every command
    from ..errors import ExecutionError  # lazy: mlops --help imports every command
    from ..report import write_index  # lazy: mlops --help imports every command
    from ..runner import run_notebook  # lazy: mlops --help imports every command
    from ..scheduling.schedules import add_schedule  # lazy: mlops --help imports every command
    from ..store.project import init_project  # lazy: mlops --help imports every command
    from ..tracking.queries import run_detail  # lazy: mlops --help imports every command

    target.mkdir(parents=True, exist_ok=True)
    for nb in demo_notebooks_dir().glob("*.ipynb"):
        shutil.copy(nb, target / nb.name)
    store, message = init_project(target)
    click.echo(message)

    _say("lifecycle.ipynb: problem → data → train → evaluate on scikit-learn's breast-cancer data")
    result = run_notebook(str(target / "lifecycle.ipynb"), store=store, params={"n_estimators": 60})
    click.echo("    " + result.line())
    lifecycle_run = result.run_id

    _say("month 0: train the churn model, gate it, register it, promote it to production")
    write_month(target / "data" / "labelled", 0)
    write_month(target / "data" / "incoming", 0, labelled=False, seed=1)
    result = run_notebook(str(target / "churn.ipynb"), store=store)
    click.echo("    " + result.line())
    _outcome(store, result.run_id)
    if result.status != RunStatus.SUCCEEDED:
        raise ExecutionError(f"the first training run did not succeed: {result.error}")
    first_churn = result.run_id

    _say("schedules: monitor when new customers arrive; retrain when the model's performance drops")
    monitor = add_schedule(store, str(target / "monitor.ipynb"), on_change=("data/incoming/*.csv",),
                           base_dir=str(target))
    retrain = add_schedule(store, str(target / "churn.ipynb"), on_performance_drop="churn", base_dir=str(target))
    click.echo(f"    {monitor.id}: monitor.ipynb on change of data/incoming/*.csv")
    click.echo(f"    {retrain.id}: churn.ipynb on a performance drop of model churn (drift alone does not retrain)")
    with AlertReceiver() as receiver:
        rule = add_rule(store, "performance-drop,promoted", f"webhook:{receiver.url}")
        click.echo(f"    alert rule {rule.id}: performance-drop and promoted → a webhook receiver this demo started at "
                   f"{receiver.url} (`mlops alert add --on ... --to slack:URL` for a real team)")
        _tick(store, "first tick: a baseline check of month 0", receiver)

        _say("month 1 arrives: prices up, more month-to-month contracts, more support calls (harmless drift)")
        write_month(target / "data" / "incoming", 1, labelled=False)
        write_month(target / "data" / "labelled", 1)
        _tick(store, "new data: drift, but the estimated performance holds", receiver)
        _tick(store, "again: nothing to retrain", receiver)

        _say("month 2 arrives: a new payment method brings customers the model is unsure about")
        write_month(target / "data" / "incoming", 2, labelled=False)
        write_month(target / "data" / "labelled", 2)
        _tick(store, "new data: the estimate drops below the bar, and the drop retrains churn", receiver)
        _tick(store, "again: each drop retrains once", receiver)

    _say("month 2's labels arrive: what v1 really did, beside what was estimated without them")
    _realized(store, "churn@1", target / "data" / "labelled" / "month-02.csv")

    retrains = store.list_runs(trigger="performance", limit=1)
    if retrains:
        _say(f"explain the change (in {target})")
        click.echo(f"    mlops diff {first_churn[:8]} {retrains[0].id[:8]}   # the two churn models: what changed")
        click.echo(f"    mlops reproduce {lifecycle_run[:8]}   # run lifecycle.ipynb again as recorded")
        click.echo("    mlops lineage churn@production ; mlops models card churn@production")
        system = fmt_system(run_detail(store, retrains[0].id)["system"], retrains[0].duration)
        if system:
            click.echo(f"    mlops show {retrains[0].id[:8]}   # what the retrain cost the machine: {system}")

    _say("reports")
    index = write_index(store, target / "site")
    click.echo(f"    runs: {len(store.list_runs())}; models: `mlops models history churn`")
    _explain_pages(store, target / "site")
    return index


def _explain_pages(store: Any, site: Path) -> None:
    """The lineage graph and the model card of churn@production beside the report index."""
    from ..explain.card import model_card  # lazy: mlops --help imports every command
    from ..explain.lineage import lineage  # lazy: mlops --help imports every command
    from .explain import page  # lazy: mlops --help imports every command

    folder = site / "models"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "churn-lineage.html").write_text(page("lineage of churn@production",
                                                    lineage(store, "churn@production").html()), encoding="utf-8")
    card = model_card(store, "churn@production")
    (folder / "churn-card.html").write_text(page(card.title, card.html()), encoding="utf-8")
    (folder / "churn-card.md").write_text(card.markdown(), encoding="utf-8")
    click.echo(f"    lineage and model card: {folder / 'churn-lineage.html'}, {folder / 'churn-card.md'}")


@click.command()
@click.argument("folder", default="mlops-demo", type=click.Path(file_okay=False))
@click.option("--fresh/--keep", default=True, show_default=True, help="Start from an empty folder.")
def demo(folder: str, fresh: bool) -> None:
    """Run the continuous-training demo headlessly in FOLDER and print where its report is."""
    target = Path(folder).resolve()
    if fresh and target.exists():
        shutil.rmtree(target)
    index = run_demo(target)
    click.secho(f"report: {index}", fg="green", bold=True)

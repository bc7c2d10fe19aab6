"""``mlops demo``: continuous training end to end, headless, in a fresh project folder.

This is the README's first command. It drives only public pieces (runner,
scheduler, registry, monitoring, reports), so it doubles as an end-to-end
check of what a new user sees: train and promote a churn model, let a new
month of drifted customers arrive, let the scheduler's monitor run find the
drift, let the drift trigger retrain, and write a report site.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click


def demo_notebooks_dir() -> Path:
    """Demo notebooks ship inside the wheel; in a source checkout they sit beside the package."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "demo_notebooks", package.parent / "demo_notebooks"):
        if candidate.is_dir():
            return candidate
    raise click.ClickException("the demo notebooks are missing from this installation")


def _say(text: str) -> None:
    click.secho(f"==> {text}", bold=True)


def _tick(store: Any, label: str) -> list[Any]:
    from ..scheduling.tick import tick

    claimed = tick(store)
    if not claimed:
        click.echo(f"    tick ({label}): nothing due")
    for c in claimed:
        run = store.get_run(c.run_id)
        click.echo(f"    tick ({label}): {Path(run.notebook or '?').name} ran, trigger {run.trigger}, {run.status}"
                   + (f" ({run.error})" if run.error else ""))
        _outcome(store, run.id)
    return claimed


def _outcome(store: Any, run_id: str) -> None:
    """What a run decided: its drift verdict, the model version it registered and where production points."""
    from ..monitoring.records import drift_reports
    from ..registry.versions import get_version, versions_of_run

    for report in drift_reports(store, run_id):
        click.echo(f"      drift: {report.verdict}")
    for version in versions_of_run(store, run_id):
        production = get_version(store, f"{version.name}@production")
        click.echo(f"      registered {version.name} v{version.version}; production is v{production.version}")


def run_demo(target: Path) -> Path:
    """The story; returns the report index path. Raises MlopsError if a step fails."""
    from ..demo.data import write_month
    from ..errors import ExecutionError
    from ..report import write_index
    from ..runner import run_notebook
    from ..scheduling.schedules import add_schedule
    from ..store.project import init_project

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
    if result.status != "succeeded":
        raise ExecutionError(f"the first training run did not succeed: {result.error}")
    first_churn = result.run_id

    _say("schedules: monitor when new customers arrive; retrain when the monitor finds drift")
    monitor = add_schedule(store, str(target / "monitor.ipynb"), on_change=("data/incoming/*.csv",),
                           base_dir=str(target))
    retrain = add_schedule(store, str(target / "churn.ipynb"), on_drift="churn", base_dir=str(target))
    click.echo(f"    {monitor.id}: monitor.ipynb on change of data/incoming/*.csv")
    click.echo(f"    {retrain.id}: churn.ipynb on drift of model churn")
    _tick(store, "first tick: a baseline check of month 0")

    _say("month 1 arrives: prices up, more month-to-month contracts, more support calls")
    write_month(target / "data" / "incoming", 1, labelled=False)
    write_month(target / "data" / "labelled", 1)
    _tick(store, "new data")
    _tick(store, "again: each due time runs once")

    retrains = store.list_runs(trigger="drift", limit=1)
    if retrains:
        _say(f"explain the change (in {target})")
        click.echo(f"    mlops diff {first_churn[:8]} {retrains[0].id[:8]}   # the two churn models: what changed")
        click.echo(f"    mlops reproduce {lifecycle_run[:8]}   # run lifecycle.ipynb again as recorded")
        click.echo("    mlops lineage churn@production ; mlops models card churn@production")

    _say("reports")
    index = write_index(store, target / "site")
    click.echo(f"    runs: {len(store.list_runs())}; models: `mlops models history churn`")
    _explain_pages(store, target / "site")
    return index


def _explain_pages(store: Any, site: Path) -> None:
    """The lineage graph and the model card of churn@production beside the report index."""
    from ..explain.card import model_card
    from ..explain.lineage import lineage
    from .explain import page

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

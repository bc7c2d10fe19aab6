"""``mlops demo``: the whole lifecycle, headless, in a fresh project folder, ending with a report.

This is the README's first command. It uses only public faces (the store,
papermill through the runner's environment contract, the report writer), so
it doubles as an end-to-end check of the product a new user sees.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import click


def demo_notebooks_dir() -> Path:
    """Demo notebooks ship inside the wheel; in a source checkout they sit beside the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "demo_notebooks", here.parent / "demo_notebooks"):
        if candidate.is_dir():
            return candidate
    raise click.ClickException("the demo notebooks are missing from this installation")


def _execute(notebook: Path, output: Path, store_url: str, parameters: dict[str, object]) -> None:
    import papermill

    env = {"MLOPS_STORE": store_url, "MLOPS_NOTEBOOK": notebook.name}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters, cwd=str(notebook.parent),
                                   progress_bar=False, kernel_name="python3")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@click.command()
@click.argument("folder", default="mlops-demo", type=click.Path(file_okay=False))
@click.option("--fresh/--keep", default=True, show_default=True, help="Start from an empty folder.")
def demo(folder: str, fresh: bool) -> None:
    """Run the demo lifecycle headlessly in FOLDER and print where its report is."""
    from .project import init_project
    from .queries import run_detail
    from .views import RunView

    target = Path(folder).resolve()
    if fresh and target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    source = demo_notebooks_dir()
    for nb in source.glob("*.ipynb"):
        shutil.copy(nb, target / nb.name)
    store, message = init_project(target)
    click.echo(message)
    click.echo("==> lifecycle.ipynb: problem → data → train → evaluate")
    _execute(target / "lifecycle.ipynb", target / "lifecycle.out.ipynb", store.url, {"n_estimators": 60})
    run = store.list_runs(limit=1)[0]
    view = RunView(run_detail(store, run.id))
    click.echo(repr(view))
    report = target / "report.html"
    report.write_text("<!doctype html><meta charset='utf-8'><title>mlops-magic demo</title>"
                      + view._repr_html_(), encoding="utf-8")
    click.echo(f"report: {report}")

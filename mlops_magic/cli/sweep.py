"""``mlops sweep``: run one notebook over a grid or random points of its parameters, as one parent run.

Exit status: 0 the sweep succeeded (some points may have failed: each is reported on its own line),
1 it failed (every point failed, or none qualified under --select), 2 usage error (nothing run),
130 interrupted (Ctrl-C: the parent and every started point end ``killed``).
"""

from __future__ import annotations

from typing import Any

import click

from ..entities import RunStatus
from ..errors import MlopsError, RunInterrupted
from .run import UsageFailure, skip_slow_optional_imports, split_list

skip_slow_optional_imports()

_EPILOG = """\b
Examples:
  mlops sweep train.ipynb -p learning_rate 0.01,0.03,0.1 -p max_depth 3,5 --cache --select "max auc"
  mlops sweep train.ipynb --random 20 --seed 1 -p learning_rate loguniform:0.001:0.3 -p max_depth int:2:8 \\
      --select "max auc where accuracy >= 0.8" --register churn --if-better auc
  mlops sweep train.ipynb --optuna 30 --seed 1 -p learning_rate loguniform:0.001:0.3 -p max_depth int:2:8 \
      --select "max auc"
"""


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EPILOG)
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("-p", "--param", "specs", nargs=2, multiple=True, metavar="NAME SPEC",
              help="A swept parameter: values V1,V2,… (typed as the notebook's parameters cell types it), or "
                   "with --random a distribution uniform:LOW:HIGH, loguniform:LOW:HIGH or int:LOW:HIGH. "
                   "Repeatable; a single value fixes a parameter.")
@click.option("--random", "random_n", type=click.IntRange(min=1), default=None, metavar="N",
              help="Draw N random points instead of the grid of every combination.")
@click.option("--seed", type=int, default=None, help="Seed of --random (the same seed draws the same points).")
@click.option("--select", default=None, metavar="RULE",
              help='Which point is best: "max METRIC" or "min METRIC", optionally "where GATE" in the gate '
                   'grammar, e.g. "max auc where accuracy >= 0.8".')
@click.option("--register", default=None, metavar="NAME",
              help="Register the best point's model (the one estimator autolog kept) as the next version of NAME, "
                   "with that run's metrics and gate results.")
@click.option("--if-better", default=None, metavar="METRIC",
              help="With --register: only when the best point beats NAME's latest version on METRIC.")
@click.option("--optuna", "optuna_n", type=click.IntRange(min=1), default=None, metavar="N",
              help="N trials of an Optuna study (TPE, seeded by --seed) optimising --select's metric; lists are "
                   "categorical, distributions as declared. Needs the optional extra: "
                   "pip install 'mlops-magic[optuna]'.")
@click.option("--cache", is_flag=True,
              help="Run the first point alone to fill the stage cache, then restore unchanged stages (e.g. the "
                   "data stage) in every other point instead of running them.")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run this many points at once (local executor), each in its own process and kernel.")
@click.option("--executor", default=None, metavar="URL",
              help="Where points execute: local, local:N, dask://HOST:PORT (default as for `mlops run`).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per point before it is stopped as timed-out.")
@click.option("--stages", default=None, metavar="A,B",
              help="Run setup cells plus only these stages in every point (e.g. leave a deploy stage out).")
@click.option("--kernel", default=None, help="Kernel name (default: the notebook's).")
@click.option("--name", default=None, help="A name for the sweep's parent run.")
@click.option("--report", is_flag=True, help="Write the sweep's HTML report (objective against each parameter).")
@click.pass_context
def sweep(ctx: click.Context, notebook: str, specs: tuple[tuple[str, str], ...], random_n: int | None,
          seed: int | None, select: str | None, register: str | None, if_better: str | None, optuna_n: int | None,
          cache: bool, parallel: int, executor: str | None, timeout: float | None, stages: str | None,
          kernel: str | None,
          name: str | None, report: bool) -> None:
    """Run NOTEBOOK once per point of a parameter grid (or --random points, or --optuna trials): a parent
    sweep run with one child run per point, the best selected by --select.

    Exit status: 0 succeeded (failed points are listed), 1 every point failed or none qualified,
    2 usage error, 130 interrupted.
    """
    from ..runner.executor_url import check_executor_url  # lazy: mlops --help imports every command
    from ..runner.sweep import SweepRequest, run_sweep  # lazy: mlops --help imports every command
    from ..store import open_store  # lazy: mlops --help imports every command

    try:
        if executor:
            executor = check_executor_url(executor)
        store = open_store((ctx.find_root().obj or {}).get("store"))
        request = SweepRequest(notebook=notebook, specs=specs, random=random_n, optuna=optuna_n, seed=seed,
                               select=select,
                               register=register, if_better=if_better, cache=cache, parallel=parallel,
                               executor=executor, timeout=timeout, kernel=kernel, name=name,
                               stages=split_list(stages))
        outcome = run_sweep(request, store, on_result=lambda r: click.echo(r.line()),
                            warn=lambda m: click.echo(m, err=True))
    except MlopsError as exc:
        raise UsageFailure(str(exc)) from None
    except KeyboardInterrupt as exc:
        run_id = exc.run_id if isinstance(exc, RunInterrupted) else None
        click.echo(f"interrupted: sweep {run_id[:8]} killed" if run_id else "interrupted", err=True)
        ctx.exit(130)
    for point in outcome.failed:
        click.echo(f"failed point {point.result.run_id[:8]} ({_label(point.params)}): "
                   f"{point.result.status} — {point.result.error or 'no reason given'}", err=True)
    from ..report.sweep import sweep_text, write_sweep_report  # lazy: mlops --help imports every command
    from ..tracking.sweeps import sweep_detail  # lazy: mlops --help imports every command

    click.echo(sweep_text(sweep_detail(store, outcome.sweep_id)))
    click.echo(outcome.summary())
    if report:
        click.echo(f"report: {write_sweep_report(store, outcome.sweep_id)}")
    ctx.exit(0 if outcome.status == RunStatus.SUCCEEDED else 1)


def _label(params: dict[str, Any]) -> str:
    from ..runner.sweep_space import label  # lazy: mlops --help imports every command

    return label(params)

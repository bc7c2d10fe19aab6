"""``mlops run``: execute notebooks headlessly and exit with a status per outcome.

Exit status: 0 succeeded or skipped, 1 failed, 2 usage error (nothing run),
3 a quality gate failed (``GateFailedError``), 4 timed out, 5 kernel killed.
With several notebooks the worst status wins.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import MlopsError, RunInterrupted
from ..runner.request import EXIT_USAGE


def skip_slow_optional_imports() -> None:
    """Keep jsonschema (imported by nbformat, so by papermill) from loading ``rfc3987_syntax``.

    When installed, jsonschema imports it to check the JSON-schema "iri" format, and importing it
    compiles a lark grammar: 1.2 s of a 2.5 s ``mlops run``, measured with ``python -X importtime``.
    Nothing in a runner process validates IRIs, so the module is marked absent (jsonschema then just
    has no "iri" checker), unless something imported it already. Only the CLI does this; a Jupyter
    server or a user's kernel is left alone.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


skip_slow_optional_imports()


class UsageFailure(click.ClickException):
    """Bad input: one line on stderr, exit status 2, nothing recorded."""

    exit_code = EXIT_USAGE


def parse_params(pairs: tuple[tuple[str, str], ...], files: tuple[str, ...]) -> dict[str, Any]:
    from ..runner.prepare import load_params_file, parse_param_value  # lazy: mlops --help imports every command

    params: dict[str, Any] = {}
    for path in files:
        params.update(load_params_file(path))
    for name, value in pairs:
        params[name] = parse_param_value(value)
    return params


def split_list(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-p", "--param", "params", nargs=2, multiple=True, metavar="NAME VALUE",
              help="A parameter (typed: int, float, bool, None, else string). Repeatable.")
@click.option("-f", "--params-file", "params_files", multiple=True, type=click.Path(dir_okay=False),
              help="YAML file of parameters; -p wins over it.")
@click.option("--stages", default=None, metavar="A,B", help="Run setup cells plus only these stages.")
@click.option("--from", "from_stage", default=None, metavar="STAGE", help="Run from this stage to the end.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds per attempt before the run is stopped as timed-out.")
@click.option("--retries", type=click.IntRange(min=0), default=0, show_default=True,
              help="Re-run a failed, killed or timed-out attempt this many times.")
@click.option("--retry-delay", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Seconds before the first retry; doubles each time.")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run this many notebooks at once, each in its own process and kernel.")
@click.option("--executor", default=None, metavar="URL",
              help="Where runs execute: local, local:N, dask://HOST:PORT (default: MLOPS_EXECUTOR, else the "
                   "project's, else local).")
@click.option("--resources", default=None, metavar="NAME=AMOUNT,...",
              help="Cluster worker resources each run needs, e.g. GPU=1,memory=8GiB.")
@click.option("--queue-timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Fail a run still queued for a worker after this many seconds.")
@click.option("--kernel", default=None, help="Kernel name (default: the notebook's).")
@click.option("--cwd", default=None, type=click.Path(file_okay=False),
              help="Working directory of the kernel (default: the notebook's folder).")
@click.option("-o", "--output", default=None,
              help="Also write the executed notebook here (a .ipynb file, or a folder).")
@click.option("--if-changed", is_flag=True,
              help="Skip (status skipped) when code, parameters and watched inputs equal the last success.")
@click.option("--watch", multiple=True, metavar="GLOB", help="Input files whose fingerprints --if-changed compares.")
@click.option("--trigger", default="manual", show_default=True,
              type=click.Choice(["manual", "schedule", "data-change", "drift", "ci", "after"]),
              help="Why this run happens (ci in CI jobs).")
@click.option("--name", default=None, help="A name for the run.")
@click.option("--notify", multiple=True, metavar="SPEC", help="On failure: 'log' or 'webhook:URL'.")
@click.option("--report", is_flag=True, help="Write the run's HTML report to .mlops/runs/RUN/report.html.")
@click.option("--progress/--no-progress", default=None, help="A progress bar per cell (default: on a terminal).")
@click.option("--cache", is_flag=True,
              help="Restore unchanged stages from the stage cache instead of running them (every stage, as if "
                   "each had --cache; see `mlops cache ls`).")
@click.option("--no-autolog", "no_autolog", is_flag=True,
              help="Stage cells record only what the notebook logs (sets MLOPS_AUTOLOG=0 for the kernels).")
@click.pass_context
def run(ctx: click.Context, notebooks: tuple[str, ...], params: tuple[tuple[str, str], ...],
        params_files: tuple[str, ...], stages: str | None, from_stage: str | None, timeout: float | None,
        retries: int, retry_delay: float, parallel: int, executor: str | None, resources: str | None,
        queue_timeout: float | None, kernel: str | None, cwd: str | None,
        output: str | None, if_changed: bool, watch: tuple[str, ...], trigger: str, name: str | None,
        notify: tuple[str, ...], report: bool, progress: bool | None, no_autolog: bool, cache: bool) -> None:
    """Execute NOTEBOOKS headlessly with papermill, recording each as a run.

    Exit status: 0 succeeded/skipped, 1 failed, 2 usage error, 3 gate failed, 4 timed out, 5 killed.
    """
    from ..runner import RunRequest, run_notebooks  # lazy: mlops --help imports every command
    from ..runner.executor_url import check_executor_url, parse_resources  # lazy: mlops --help imports every command
    from ..store import open_store  # lazy: mlops --help imports every command

    if no_autolog:
        import os

        os.environ["MLOPS_AUTOLOG"] = "0"  # the kernels inherit it (cluster workers get the MLOPS_* variables)
    try:
        if executor:
            executor = check_executor_url(executor)
        needs = parse_resources(resources)
        store = open_store((ctx.find_root().obj or {}).get("store"))
        values = parse_params(params, params_files)
        if progress is None:
            progress = sys.stderr.isatty() and len(notebooks) == 1
        if output and len(notebooks) > 1 and output.endswith(".ipynb"):
            raise UsageFailure("with several notebooks, --output must be a folder")
        requests = [RunRequest(
            notebook=nb, params=values, stages=split_list(stages), from_stage=from_stage, trigger=trigger,
            store_url=store.url, timeout=timeout, retries=retries, retry_delay=retry_delay, kernel=kernel,
            cwd=cwd, output=output, if_changed=if_changed, watch=watch, name=name, progress=progress,
            notify=notify, report=report, resources=needs, queue_timeout=queue_timeout,
            cache=True if cache else None) for nb in notebooks]
        results = run_notebooks(requests, store=store, parallel=parallel, executor=executor,
                                on_result=lambda r: click.echo(r.line() + (f"\n  report: {r.report}"
                                                                           if r.report else "")),
                                warn=lambda m: click.echo(m, err=True))
    except MlopsError as exc:
        raise UsageFailure(str(exc)) from None
    except KeyboardInterrupt as exc:  # Ctrl-C: one line, the run recorded as killed, the shell's 130
        run_id = exc.run_id if isinstance(exc, RunInterrupted) else None
        click.echo(f"interrupted: run {run_id[:8]} killed" if run_id else
                   "interrupted: the runs in progress are recorded as killed", err=True)
        ctx.exit(130)
    ctx.exit(max(r.exit_code for r in results))

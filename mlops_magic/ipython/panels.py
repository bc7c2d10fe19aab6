"""``%mlops`` handlers that answer with panels: status, runs --widget, compare, plot, params --widget.

Each parses, calls the core (through :mod:`mlops_magic.widgets`) and returns
a panel. Without a widget frontend (terminal IPython, ``MLOPS_WIDGETS=0``)
``status``, ``runs`` and ``params`` keep the core's answers, and every panel
still prints as text.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError, MlopsError
from . import commands as core
from .commands import MagicContext, parser


def _split_widget_flag(argv: list[str]) -> tuple[bool, list[str]]:
    return "--widget" in argv, [a for a in argv if a != "--widget"]


def cmd_status(ctx: MagicContext, argv: list[str]) -> Any:
    """The lifecycle panel, live; the static view where widgets cannot render."""
    from ..widgets.base import frontend_available  # lazy: %load_ext stays light

    if not frontend_available() or "--static" in argv:
        return core.cmd_status(ctx, [a for a in argv if a != "--static"])
    p = parser("status", "The lifecycle of a run (default: this kernel's run), updated live.")
    p.add_argument("run", nargs="?", default=None)
    p.add_argument("--static", action="store_true", help="the plain HTML view, no widget")
    args = p.parse_args(argv)
    from ..widgets.lifecycle_panel import lifecycle_panel  # lazy: %load_ext stays light

    return lifecycle_panel(ctx.session, args.run)


def cmd_runs(ctx: MagicContext, argv: list[str]) -> Any:
    """``--widget``: the runs table panel; otherwise the core's DataFrame."""
    widget, rest = _split_widget_flag(argv)
    if not widget:
        return core.cmd_runs(ctx, rest)
    p = parser("runs --widget", "Runs as a table with filters, sorting and compare.")
    p.add_argument("--notebook", default=None)
    p.add_argument("--status", default=None)
    p.add_argument("--trigger", default=None)
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--sort", default="started", help="started, status, duration, ... or metrics.NAME")
    p.add_argument("--ascending", action="store_true")
    args = p.parse_args(rest)
    from ..widgets.runs_table import RunsTable  # lazy: %load_ext stays light

    return RunsTable(ctx.session, notebook=args.notebook, status=args.status, trigger=args.trigger,
                     limit=args.limit, sort=args.sort, descending=not args.ascending)


def cmd_compare(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("compare", "Two or more runs side by side: params, metrics, curves.")
    p.add_argument("runs", nargs="+", metavar="RUN")
    args = p.parse_args(argv)
    if len(args.runs) < 2:
        raise InvalidInputError("compare needs two or more runs, e.g. %mlops compare 1a2b 3c4d")
    from ..widgets.compare_panel import ComparePanel  # lazy: %load_ext stays light

    return ComparePanel(ctx.session.store, args.runs)


def cmd_plot(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("plot", "Metric history over steps, or the latest value of each run over time.")
    p.add_argument("keys", nargs="*", metavar="METRIC", help="metric names (default: all of the run's)")
    p.add_argument("--run", default=None, help="run id or prefix (default: this kernel's run, else the latest)")
    p.add_argument("--across-runs", action="store_true", help="latest value per run against run start time")
    p.add_argument("--notebook", default=None, help="with --across-runs: runs of this notebook (default: the run's)")
    p.add_argument("--trigger", default=None, help="with --across-runs: e.g. schedule")
    args = p.parse_args(argv)
    from ..widgets.plot_panel import PlotPanel  # lazy: %load_ext stays light

    store = ctx.session.store
    run_id = None
    if args.run or not args.across_runs or not args.notebook:
        try:
            run_id = ctx.session.run_ref(args.run)
        except MlopsError:
            if args.run or not args.across_runs:
                raise
    if args.across_runs and not args.keys:
        raise InvalidInputError("name the metrics to plot across runs, e.g. %mlops plot accuracy --across-runs")
    notebook = args.notebook or (store.get_run(run_id).notebook if args.across_runs and run_id else None)
    return PlotPanel(ctx.session, args.keys, run_id=run_id, mode="runs" if args.across_runs else "steps",
                     notebook=notebook, trigger=args.trigger)


def cmd_params(ctx: MagicContext, argv: list[str]) -> Any:
    """``--widget``: controls for the notebook's parameters cell; otherwise the core's ``NAME=VALUE``."""
    widget, rest = _split_widget_flag(argv)
    if not widget:
        return core.cmd_params(ctx, rest)
    p = parser("params --widget", "Controls for the notebook's parameters and a Run headlessly button.")
    p.add_argument("--notebook", default=None, help="notebook path (default: MLOPS_NOTEBOOK or JPY_SESSION_NAME)")
    args = p.parse_args(rest)
    from ..widgets.parameters import read_parameters, resolve_notebook  # lazy: %load_ext stays light
    from ..widgets.params_panel import ParamsPanel  # lazy: %load_ext stays light

    return ParamsPanel(ctx.session, read_parameters(resolve_notebook(args.notebook)))

"""``%mlops`` handlers that may answer with a panel: status, runs, params, compare, plot.

One parser per subcommand (declared in :mod:`.subcommands`); the parsed ``--widget`` or
``--static`` chooses the panel or the core's answer. Without a widget frontend (terminal
IPython, ``MLOPS_WIDGETS=0``) ``status`` keeps the static view, and every panel still prints
as text.
"""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from ..errors import InvalidInputError, MlopsError
from .commands import MagicContext, set_params


def cmd_status(ctx: MagicContext, args: Namespace) -> Any:
    """The lifecycle panel, live; the static view with ``--static`` or where widgets cannot render."""
    from ..widgets.base import frontend_available  # lazy: %load_ext stays light

    if args.static or not frontend_available():
        from ..display.runs import LifecycleView  # lazy: %load_ext stays light
        from ..tracking.queries import run_lifecycle  # lazy: %load_ext stays light

        return LifecycleView(run_lifecycle(ctx.session.store, ctx.session.run_ref(args.run)))
    from ..widgets.lifecycle_panel import lifecycle_panel  # lazy: %load_ext stays light

    return lifecycle_panel(ctx.session, args.run)


def cmd_runs(ctx: MagicContext, args: Namespace) -> Any:
    """The core's DataFrame; ``--widget``: the runs table panel, sorted by ``--sort``."""
    filters = {"notebook": args.notebook, "status": args.status, "trigger": args.trigger, "user": args.user}
    ctx.session.store.reap_orphans()  # a run whose kernel is gone is listed as killed, not running
    if not args.widget:
        if args.ascending or args.sort != "started":
            raise InvalidInputError("--sort and --ascending order the --widget table; "
                                    "sort the DataFrame with .sort_values()")
        from ..tracking.queries import runs_frame  # lazy: %load_ext stays light

        if args.sweep:
            from ..tracking.sweeps import sweep_frame  # lazy: %load_ext stays light

            return sweep_frame(ctx.session.store, args.sweep, limit=args.limit, **filters)
        return runs_frame(ctx.session.store, limit=args.limit, **filters)
    if args.sweep:
        raise InvalidInputError("--sweep filters the DataFrame; the --widget table lists each sweep's points "
                                "under it")
    from ..widgets.runs_table import RunsTable  # lazy: %load_ext stays light

    page = {"limit": args.limit} if args.limit is not None else {}  # else the table's own page size
    return RunsTable(ctx.session, sort=args.sort, descending=not args.ascending, **filters, **page)


def cmd_params(ctx: MagicContext, args: Namespace) -> Any:
    """``NAME=VALUE ...`` sets and logs; ``--widget``: controls for the notebook's parameters cell."""
    if not args.widget:
        if args.notebook:
            raise InvalidInputError("--notebook goes with --widget: %mlops params --widget --notebook NB")
        set_params(ctx, args.pairs)
        return None
    if args.pairs:
        raise InvalidInputError("give NAME=VALUE pairs or --widget, not both")
    from ..widgets.parameters import read_parameters, resolve_notebook  # lazy: %load_ext stays light
    from ..widgets.params_panel import ParamsPanel  # lazy: %load_ext stays light

    return ParamsPanel(ctx.session, read_parameters(resolve_notebook(args.notebook)))


def cmd_compare(ctx: MagicContext, args: Namespace) -> Any:
    from ..widgets.compare_panel import ComparePanel  # lazy: %load_ext stays light

    return ComparePanel(ctx.session.store, [args.run, *args.more_runs])


def cmd_plot(ctx: MagicContext, args: Namespace) -> Any:
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

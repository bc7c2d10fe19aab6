"""``%mlops drift``, ``quality``, ``labels``, ``predictions`` and ``performance``: take the parsed arguments,
call the monitoring core, return the report."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from ..errors import InvalidInputError
from .commands import MagicContext, parse_literal, parse_pairs


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def cmd_drift(ctx: MagicContext, args: Namespace) -> Any:
    from ..monitoring.records import DriftHistory, check_drift, drift_history  # lazy: pulls numpy

    if args.history:
        return DriftHistory(args.history, drift_history(ctx.session.store, args.history))
    if not args.current or not args.reference:
        raise InvalidInputError("usage: %mlops drift CURRENT --reference REF (or --history MODEL)")
    tests = {k: str(parse_literal(v)) for k, v in parse_pairs(args.tests, "test")} if args.tests else None
    report = check_drift(args.reference, args.current, columns=_columns(args.columns), tests=tests,
                         threshold=args.threshold, model=args.model, record=not args.no_record,
                         namespace=ctx.user_ns)
    if args.widget:
        from ..widgets import DriftPanel  # lazy: %load_ext stays light

        return DriftPanel(report)
    return report


def cmd_quality(ctx: MagicContext, args: Namespace) -> Any:
    from ..monitoring import quality  # lazy: pulls numpy
    from ..monitoring.records import resolve_data, resolve_reference  # lazy: pulls numpy

    ref, _, _ = resolve_reference(ctx.session.store, args.reference, ctx.user_ns)
    cur = resolve_data(args.current, ctx.user_ns, what="current data")
    return quality(ref, cur, columns=_columns(args.columns))


def cmd_labels(ctx: MagicContext, args: Namespace) -> Any:
    from ..monitoring.performance import log_labels  # lazy: pulls numpy
    from ..monitoring.records import resolve_data  # lazy: pulls numpy

    frame = resolve_data(args.data, ctx.user_ns, what="labels")
    id_column = args.key or args.id_column
    for column in (id_column, args.label_column, *([args.time_column] if args.time_column else [])):
        if not hasattr(frame, "columns") or column not in frame.columns:
            raise InvalidInputError(f"the labels have no column {column!r}")
    return log_labels(ctx.session.store, args.model, frame[id_column], frame[args.label_column], key=args.key,
                      times=frame[args.time_column] if args.time_column else None)


def cmd_predictions(ctx: MagicContext, args: Namespace) -> Any:
    from ..monitoring.predictions import log_prediction_table  # lazy: pulls numpy
    from ..monitoring.records import resolve_data  # lazy: pulls numpy

    frame = resolve_data(args.data, ctx.user_ns, what="predictions")
    return log_prediction_table(ctx.session.store, args.model, frame, prediction_column=args.prediction_column,
                                proba_columns=args.proba_columns, id_column=args.id_column,
                                time_column=args.time_column)


def cmd_performance(ctx: MagicContext, args: Namespace) -> Any:
    from ..monitoring.performance import DEFAULT_MAX_DROP, DEFAULT_MIN_ROWS, check_performance  # lazy: pulls numpy

    report = check_performance(args.ref, window=args.window, current=args.current, labels=args.labels,
                               metric=args.metric, threshold=args.threshold,
                               max_drop=DEFAULT_MAX_DROP if args.max_drop is None else args.max_drop,
                               min_rows=DEFAULT_MIN_ROWS if args.min_rows is None else args.min_rows,
                               namespace=ctx.user_ns, record=not args.no_record)
    if args.widget:
        from ..widgets.performance_panel import PerformancePanel  # lazy: %load_ext stays light

        return PerformancePanel(report)
    return report

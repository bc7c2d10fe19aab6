"""``%mlops drift`` and ``%mlops quality``: parse, call the monitoring core, return the report."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from .commands import MagicContext, parse_literal, parse_pairs, parser


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def cmd_drift(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("drift", "Compare current data with a reference, column by column, and record the verdict.")
    p.add_argument("current", nargs="?",
                   help="variable, file (csv, parquet, json), or served:NAME[@N] (inputs `mlops serve` sampled)")
    p.add_argument("--reference", "-r", help="variable, file, or model:NAME@ALIAS (the version's stored profile)")
    p.add_argument("--columns", default=None, help="comma-separated columns to test (default: all shared)")
    p.add_argument("--test", action="append", default=[], metavar="COLUMN=TEST",
                   help="test for a column: ks, wasserstein, chi2, jensenshannon, psi (repeatable)")
    p.add_argument("--threshold", default=None, type=float, help="effect-size floor for every column")
    p.add_argument("--model", default=None, help="the model this data feeds (names the drift event)")
    p.add_argument("--no-record", action="store_true", help="compute only; store nothing")
    p.add_argument("--history", default=None, metavar="MODEL", help="show the stored drift checks of MODEL")
    p.add_argument("--widget", action="store_true", help="an interactive panel (in Jupyter)")
    args = p.parse_args(argv)
    from ..monitoring.records import DriftHistory, check_drift, drift_history  # lazy: pulls numpy

    if args.history:
        return DriftHistory(args.history, drift_history(ctx.session.store, args.history))
    if not args.current or not args.reference:
        raise InvalidInputError("usage: %mlops drift CURRENT --reference REF (or --history MODEL)")
    tests = {k: str(parse_literal(v)) for k, v in parse_pairs(args.test, "test")} if args.test else None
    report = check_drift(args.reference, args.current, columns=_columns(args.columns), tests=tests,
                         threshold=args.threshold, model=args.model, record=not args.no_record,
                         namespace=ctx.user_ns)
    if args.widget:
        from ..widgets import DriftPanel  # lazy: %load_ext stays light

        return DriftPanel(report)
    return report


def cmd_quality(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("quality", "Schema changes, missing values, unseen categories and out-of-range values.")
    p.add_argument("current")
    p.add_argument("--reference", "-r", required=True, help="variable, file, or model:NAME@ALIAS")
    p.add_argument("--columns", default=None)
    args = p.parse_args(argv)
    from ..monitoring import quality  # lazy: pulls numpy
    from ..monitoring.records import resolve_data, resolve_reference  # lazy: pulls numpy

    ref, _, _ = resolve_reference(ctx.session.store, args.reference, ctx.user_ns)
    cur = resolve_data(args.current, ctx.user_ns, what="current data")
    return quality(ref, cur, columns=_columns(args.columns))


def cmd_labels(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("labels", "Log labels that arrived, joined to served predictions by request id.")
    p.add_argument("data", help="a DataFrame variable or a file (csv, parquet, json) with an id and a label column")
    p.add_argument("--model", required=True)
    p.add_argument("--id", dest="id_column", default="request_id", help="the request id column (default request_id)")
    p.add_argument("--label", dest="label_column", required=True, help="the label column")
    p.add_argument("--key", default=None, help="join on this input column (e.g. customer_id) instead of request ids")
    p.add_argument("--time", dest="time_column", default=None,
                   help="with --key: the label's time column; it labels the latest prediction before it")
    args = p.parse_args(argv)
    from ..monitoring.performance import log_labels  # lazy: pulls numpy
    from ..monitoring.records import resolve_data  # lazy: pulls numpy

    frame = resolve_data(args.data, ctx.user_ns, what="labels")
    id_column = args.key or args.id_column
    for column in (id_column, args.label_column, *([args.time_column] if args.time_column else [])):
        if not hasattr(frame, "columns") or column not in frame.columns:
            raise InvalidInputError(f"the labels have no column {column!r}")
    return log_labels(ctx.session.store, args.model, frame[id_column], frame[args.label_column], key=args.key,
                      times=frame[args.time_column] if args.time_column else None)


def cmd_performance(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("performance", "A model's performance per window: realized with labels, estimated without.")
    p.add_argument("ref", help="NAME, NAME@ALIAS or NAME@N")
    p.add_argument("--window", default=None, help="window length over served traffic: 30m, 6h, 1d, 1w (default: all)")
    p.add_argument("--current", default=None, help="score this batch instead: a variable, a file, or served:NAME[@N]")
    p.add_argument("--labels", default=None, help="with --current: the label column, or a variable of labels")
    p.add_argument("--metric", default=None, help="accuracy, precision, recall, f1, auc | mae, rmse, r2")
    p.add_argument("--threshold", type=float, default=None, help="an absolute bar for the metric")
    p.add_argument("--max-drop", type=float, default=None, help="how far below the reference value is a drop")
    p.add_argument("--min-rows", type=int, default=None, help="rows a window needs to be judged")
    p.add_argument("--no-record", action="store_true", help="compute only; store nothing")
    p.add_argument("--widget", action="store_true", help="a chart over time (in Jupyter)")
    args = p.parse_args(argv)
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

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
    from ..monitoring.records import DriftHistory, check_drift, drift_history

    if args.history:
        return DriftHistory(args.history, drift_history(ctx.session.store, args.history))
    if not args.current or not args.reference:
        raise InvalidInputError("usage: %mlops drift CURRENT --reference REF (or --history MODEL)")
    tests = {k: str(parse_literal(v)) for k, v in parse_pairs(args.test, "test")} if args.test else None
    report = check_drift(args.reference, args.current, columns=_columns(args.columns), tests=tests,
                         threshold=args.threshold, model=args.model, record=not args.no_record,
                         namespace=ctx.user_ns)
    if args.widget:
        from ..widgets import DriftPanel

        return DriftPanel(report)
    return report


def cmd_quality(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("quality", "Schema changes, missing values, unseen categories and out-of-range values.")
    p.add_argument("current")
    p.add_argument("--reference", "-r", required=True, help="variable, file, or model:NAME@ALIAS")
    p.add_argument("--columns", default=None)
    args = p.parse_args(argv)
    from ..monitoring import quality
    from ..monitoring.records import resolve_data, resolve_reference

    ref, _, _ = resolve_reference(ctx.session.store, args.reference, ctx.user_ns)
    cur = resolve_data(args.current, ctx.user_ns, what="current data")
    return quality(ref, cur, columns=_columns(args.columns))

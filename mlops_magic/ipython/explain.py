"""``%mlops diff``, ``%mlops lineage`` and ``%mlops card``: parse, call the explain core, return a displayable."""

from __future__ import annotations

from typing import Any

from .commands import MagicContext, parser


def cmd_diff(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("diff", "What changed between two runs, stage by stage (the first line says it).")
    p.add_argument("run_a", metavar="RUN_A")
    p.add_argument("run_b", metavar="RUN_B", nargs="?", default=None, help="default: this kernel's run")
    args = p.parse_args(argv)
    from ..explain.diff import diff_runs  # lazy: %load_ext stays light

    return diff_runs(ctx.session.store, args.run_a, ctx.session.run_ref(args.run_b))


def cmd_lineage(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("lineage", "Data → runs → model versions → monitor runs, inferred from fingerprints.")
    p.add_argument("ref", metavar="REF", help="NAME[@ALIAS|@N], a run id or a data digest")
    args = p.parse_args(argv)
    from ..explain.lineage import lineage  # lazy: %load_ext stays light

    return lineage(ctx.session.store, args.ref)


def cmd_card(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("card", "The model card of a version, written from the lifecycle.")
    p.add_argument("ref", metavar="REF", help="NAME, NAME@N or NAME@ALIAS")
    args = p.parse_args(argv)
    from ..explain.card import model_card  # lazy: %load_ext stays light

    return model_card(ctx.session.store, args.ref)

"""``%mlops diff``, ``%mlops lineage`` and ``%mlops card``: take the parsed arguments, call the explain core,
return a displayable."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from .commands import MagicContext


def cmd_diff(ctx: MagicContext, args: Namespace) -> Any:
    from ..explain.diff import diff_runs  # lazy: %load_ext stays light

    return diff_runs(ctx.session.store, args.run_a, ctx.session.run_ref(args.run_b))


def cmd_lineage(ctx: MagicContext, args: Namespace) -> Any:
    from ..explain.lineage import lineage  # lazy: %load_ext stays light

    return lineage(ctx.session.store, args.ref)


def cmd_card(ctx: MagicContext, args: Namespace) -> Any:
    from ..explain.card import model_card  # lazy: %load_ext stays light

    return model_card(ctx.session.store, args.ref)

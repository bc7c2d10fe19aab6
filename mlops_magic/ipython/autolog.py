"""``%mlops autolog on|off [--only sklearn,xgboost]``: whether stage cells of this kernel autolog."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from ..autolog import control
from .commands import MagicContext


def cmd_autolog(ctx: MagicContext, args: Namespace) -> Any:
    """Without a state, say what applies; the project default is ``"autolog"`` in ``.mlops/config.json``."""
    if args.state is None:
        if args.only:
            control.set_kernel_setting(True, args.only)
    elif args.state == "default":
        control.set_kernel_setting(None)
    else:
        control.set_kernel_setting(args.state == "on", args.only)
    project = ctx.session.store.project_dir if ctx.session.store_exists() else None
    print(control.settings(project).describe())
    return None

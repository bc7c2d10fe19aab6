"""``%mlops autolog on|off [--only sklearn,xgboost]``: whether stage cells of this kernel autolog."""

from __future__ import annotations

from typing import Any

from ..autolog import control
from .commands import MagicContext, parser


def cmd_autolog(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("autolog", "Turn autolog on or off for the stage cells of this kernel; without an argument, "
                          "say what applies. The project default is \"autolog\" in .mlops/config.json.")
    p.add_argument("state", nargs="?", choices=["on", "off", "default"],
                   help="on, off, or default (forget this kernel's choice)")
    p.add_argument("--only", default=None, metavar="LIBS",
                   help=f"record only these libraries, comma-separated: {','.join(control.LIBRARIES)}")
    args = p.parse_args(argv)
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

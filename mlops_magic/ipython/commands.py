"""Handlers of the core ``%mlops`` subcommands: take the parsed arguments, call the core, return something to display.

Each subcommand's arguments are declared in :mod:`.subcommands` and parsed before its handler runs.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..tracking.session import Session
from ..tracking.values import IDENT as _IDENT
from ..tracking.values import check_param_name, parse_assigned, parse_literal


@dataclass
class MagicContext:
    shell: Any
    session: Session
    line: str = ""  # the magic's line as typed (shlex has already dropped quotes from ``argv``)

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}


def parse_pairs(items: Sequence[str], what: str, *, split_last: bool = False) -> list[tuple[str, str]]:
    """``NAME=VALUE`` pairs; metrics split at the last ``=`` (values are numbers), others at the first."""
    pairs = []
    for item in items:
        key, sep, value = item.rpartition("=") if split_last else item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"malformed {what} {item!r}; write NAME=VALUE, e.g. lr=0.1")
        pairs.append((key.strip(), value))
    if not pairs:
        raise InvalidInputError(f"give at least one {what} as NAME=VALUE")
    return pairs


# -- handlers ------------------------------------------------------------------------------------
def cmd_init(ctx: MagicContext, args: Namespace) -> Any:
    from ..store.project import init_project  # lazy: %load_ext stays light

    store, message = init_project(args.path, args.store)
    ctx.session.use_store(store.url)
    print(message)
    return None


def set_params(ctx: MagicContext, pairs: Sequence[str]) -> None:
    """``%mlops params NAME=VALUE ...``: set them as variables and log them (a headless run's values win)."""
    values: dict[str, Any] = {}
    for key, raw in parse_pairs(pairs, "parameter"):
        check_param_name(key)
        values[key] = "" if not raw and _quoted_empty(ctx.line, key) else parse_assigned(key, raw)
    ctx.user_ns.update(ctx.session.log_params(values))  # a headless run's -p wins


def _quoted_empty(line: str, key: str) -> bool:
    """Whether ``key=''`` (or ``key=""``) was typed: shlex turns both into ``key=``, like a bare ``key=``."""
    import re

    return re.search(rf"(?:^|\s){re.escape(key)}=(?:''|\"\")(?:\s|$)", line) is not None


def _metric_value(ctx: MagicContext, key: str, raw: str) -> Any:
    value = parse_literal(raw)
    if isinstance(value, str) and _IDENT.match(value):
        if value not in ctx.user_ns:
            raise InvalidInputError(f"metric {key!r}: {value!r} is neither a number nor a variable")
        return ctx.user_ns[value]  # a name lookup, never an evaluation
    return value


def cmd_metric(ctx: MagicContext, args: Namespace) -> Any:
    values = {key: _metric_value(ctx, key, raw) for key, raw in parse_pairs(args.pairs, "metric", split_last=True)}
    if len(values) == 1:
        (key, value), = values.items()
        ctx.session.log_metric(key, value, args.step)
    else:
        ctx.session.log_metrics(values, args.step)
    return None


def cmd_artifact(ctx: MagicContext, args: Namespace) -> Any:
    if args.name and len(args.paths) > 1:
        raise InvalidInputError("--name applies to one path; log files one at a time to name them")
    for path in args.paths:
        ctx.session.log_artifact(path, args.name)
    return None


def cmd_fingerprint(ctx: MagicContext, args: Namespace) -> Any:
    data = ctx.user_ns[args.target] if _IDENT.match(args.target) and args.target in ctx.user_ns else args.target
    return ctx.session.log_fingerprint(data, args.name or args.target, args.role)


def cmd_tag(ctx: MagicContext, args: Namespace) -> Any:
    ctx.session.set_tags(dict(parse_pairs(args.pairs, "tag")))
    return None


def cmd_show(ctx: MagicContext, args: Namespace) -> Any:
    from ..display.runs import RunView  # lazy: %load_ext stays light
    from ..tracking.queries import run_detail  # lazy: %load_ext stays light

    return RunView(run_detail(ctx.session.store, ctx.session.run_ref(args.run)))


def cmd_end(ctx: MagicContext, args: Namespace) -> Any:
    run = ctx.session.end_run(status=args.status)
    print(f"run {run.id} ended: {run.status}")
    return None


def cmd_help(ctx: MagicContext, args: Namespace) -> Any:
    from .subcommands import reference  # lazy: %load_ext stays light

    print(reference())
    return None

"""Handlers of the core ``%mlops`` subcommands: parse, call the core, return something to display."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..entities import RunStatus
from ..errors import InvalidInputError
from ..tracking.session import Session
from ..tracking.values import IDENT as _IDENT
from ..tracking.values import check_param_name, parse_assigned, parse_literal


class HelpShown(Exception):
    """``-h`` printed a subcommand's help; nothing else to do."""


@dataclass
class MagicContext:
    shell: Any
    session: Session
    line: str = ""  # the magic's line as typed (shlex has already dropped quotes from ``argv``)

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}


class SubParser(argparse.ArgumentParser):
    """argparse whose errors become one-line InvalidInputErrors instead of exiting the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        usage = " ".join(self.format_usage().split())  # argparse wraps long usages; errors stay one line
        raise InvalidInputError(f"{self.prog}: {message}; {usage}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        raise HelpShown()


def parser(prog: str, description: str = "") -> SubParser:
    return SubParser(prog=f"%mlops {prog}", description=description, add_help=True)


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
def cmd_init(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("init", "Create the project's store and record this kernel's runs into it.")
    p.add_argument("path", nargs="?", default=None, help="project folder (default: the working directory)")
    p.add_argument("--store", default=None, help="store URL, e.g. sqlite:////data/mlops.db")
    args = p.parse_args(argv)
    from ..store.project import init_project  # lazy: %load_ext stays light

    store, message = init_project(args.path, args.store)
    ctx.session.use_store(store.url)
    print(message)
    return None


def cmd_params(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("params", "Set parameters as notebook variables and log them.")
    p.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
    args = p.parse_args(argv)
    values: dict[str, Any] = {}
    for key, raw in parse_pairs(args.pairs, "parameter"):
        check_param_name(key)
        values[key] = "" if not raw and _quoted_empty(ctx.line, key) else parse_assigned(key, raw)
    ctx.user_ns.update(ctx.session.log_params(values))  # a headless run's -p wins
    return None


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


def cmd_metric(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("metric", "Log metric values of this run (and of the current stage).")
    p.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
    p.add_argument("--step", type=int, default=None, help="step (default: next step of each metric)")
    args = p.parse_args(argv)
    values = {key: _metric_value(ctx, key, raw) for key, raw in parse_pairs(args.pairs, "metric", split_last=True)}
    if len(values) == 1:
        (key, value), = values.items()
        ctx.session.log_metric(key, value, args.step)
    else:
        ctx.session.log_metrics(values, args.step)
    return None


def cmd_artifact(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("artifact", "Store files with this run.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--name", default=None, help="name to store it under (one path only)")
    args = p.parse_args(argv)
    if args.name and len(args.paths) > 1:
        raise InvalidInputError("--name applies to one path; log files one at a time to name them")
    for path in args.paths:
        ctx.session.log_artifact(path, args.name)
    return None


def cmd_fingerprint(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("fingerprint", "Record a data fingerprint with this run.")
    p.add_argument("target", metavar="VAR|PATH|GLOB")
    p.add_argument("--name", default=None)
    p.add_argument("--role", default="input", choices=["input", "output"])
    args = p.parse_args(argv)
    data = ctx.user_ns[args.target] if _IDENT.match(args.target) and args.target in ctx.user_ns else args.target
    return ctx.session.log_fingerprint(data, args.name or args.target, args.role)


def cmd_tag(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("tag", "Tag the current run.")
    p.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
    args = p.parse_args(argv)
    ctx.session.set_tags(dict(parse_pairs(args.pairs, "tag")))
    return None


def cmd_runs(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("runs", "Runs of this store, newest first, as a pandas DataFrame.")
    p.add_argument("--notebook", default=None)
    p.add_argument("--status", default=None, help="e.g. failed or succeeded,failed")
    p.add_argument("--trigger", default=None, help="e.g. schedule")
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    from ..tracking.queries import runs_frame  # lazy: %load_ext stays light

    ctx.session.store.reap_orphans()  # a run whose kernel is gone is listed as killed, not running
    return runs_frame(ctx.session.store, notebook=args.notebook, status=args.status, trigger=args.trigger,
                      limit=args.limit)


def cmd_show(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("show", "Show one run (default: this kernel's run).")
    p.add_argument("run", nargs="?", default=None)
    args = p.parse_args(argv)
    from ..display.runs import RunView  # lazy: %load_ext stays light
    from ..tracking.queries import run_detail  # lazy: %load_ext stays light

    return RunView(run_detail(ctx.session.store, ctx.session.run_ref(args.run)))


def cmd_status(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("status", "The lifecycle of a run (default: this kernel's run).")
    p.add_argument("run", nargs="?", default=None)
    args = p.parse_args(argv)
    from ..display.runs import LifecycleView  # lazy: %load_ext stays light
    from ..tracking.queries import run_lifecycle  # lazy: %load_ext stays light

    return LifecycleView(run_lifecycle(ctx.session.store, ctx.session.run_ref(args.run)))


def cmd_end(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("end", "Close this kernel's run.")
    p.add_argument("--status", default=RunStatus.SUCCEEDED, choices=[RunStatus.SUCCEEDED, RunStatus.FAILED])
    args = p.parse_args(argv)
    run = ctx.session.end_run(status=args.status)
    print(f"run {run.id} ended: {run.status}")
    return None


def cmd_help(ctx: MagicContext, argv: list[str]) -> Any:
    from .subcommands import reference  # lazy: %load_ext stays light

    print(reference())
    return None

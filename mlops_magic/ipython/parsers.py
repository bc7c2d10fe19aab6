"""A ``%mlops`` subcommand's declaration and everything built from it.

Each subcommand declares its arguments once (:class:`Subcommand`, with
:class:`~mlops_magic.options.Arg` values, in :mod:`.subcommands`); from that one
declaration come its argparse parser, its ``-h``, its entry in the reference
``%mlops?`` prints and the completion of its options, so none of them can drift
from what the subcommand accepts. IPython's ``magic_arguments`` builds a magic's
parser from decorators the same way; a table instead keeps the handlers lazy:
only the subcommand that runs is imported.
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import InvalidInputError
from ..options import Arg

#: Help and the reference wrap at this width, not the terminal's, so they read the same everywhere.
WIDTH = 100


class HelpShown(Exception):
    """``-h`` printed a subcommand's help; nothing else to do."""


@dataclass(frozen=True)
class Subcommand:
    """``%mlops NAME``: its handler, what it does in one line, and the arguments it accepts.

    ``target`` names the handler as ``"module:function"``, imported on first call; it receives the
    parsed arguments. A subcommand with ``actions`` (``model``) has no handler of its own: its first
    word names one of its actions, each a subcommand.
    """

    name: str
    target: str
    summary: str
    args: tuple[Arg, ...] = ()
    actions: tuple[Subcommand, ...] = ()


class SubParser(argparse.ArgumentParser):
    """argparse whose errors are one-line InvalidInputErrors and whose ``-h`` returns instead of exiting the kernel."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        usage = " ".join(self.format_usage().split())  # argparse wraps long usages; errors stay one line
        raise InvalidInputError(f"{self.prog}: {message}; {usage}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        raise HelpShown()


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=WIDTH)


def _bounded(kind: Any, minimum: float) -> Any:
    def convert(text: str) -> Any:
        value = kind(text)  # a ValueError reads "invalid int value: 'x'"
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum:g}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _help(a: Arg) -> str:
    text = a.help.replace("%", "%%")  # argparse %-formats help
    if a.default is not None and not a.flag:
        text += f" (default: {a.default})"
    return text


def _add(target: Any, a: Arg) -> None:
    """Add one declared argument to a parser or one of its groups."""
    if a.positional:
        target.add_argument(a.name, nargs=a.nargs, default=a.initial, metavar=a.metavar or a.name.upper(),
                            help=_help(a))
        return
    kwargs: dict[str, Any] = {"dest": a.name, "default": a.initial, "help": _help(a)}
    if a.flag:
        target.add_argument(*a.flags, action="store_const", const=a.const, **kwargs)
        return
    kind = _bounded(a.type or str, a.minimum) if a.minimum is not None else a.type
    metavar = a.metavar or ("|".join(a.choices) if a.choices else None)
    target.add_argument(*a.flags, action="append" if a.multiple else "store", type=kind, metavar=metavar,
                        choices=list(a.choices) or None, required=a.required, **kwargs)


@cache
def build_parser(sub: Subcommand, prog: str) -> SubParser:
    """The argparse parser of ``sub`` (``prog`` is ``%mlops NAME``), built from its declaration."""
    parser = SubParser(prog=prog, description=sub.summary, formatter_class=_formatter)
    groups: dict[str, Any] = {}
    for a in sub.args:
        if a.exclusive and a.exclusive not in groups:
            groups[a.exclusive] = parser.add_mutually_exclusive_group()
        _add(groups[a.exclusive] if a.exclusive else parser, a)
    return parser


def parse(sub: Subcommand, argv: list[str], prog: str = "%mlops") -> tuple[Subcommand, argparse.Namespace]:
    """The subcommand (or action) that handles ``argv`` and its parsed arguments.

    Raises HelpShown once ``-h`` printed help, InvalidInputError (one line) for bad arguments.
    """
    prog = f"{prog} {sub.name}"
    if sub.actions:
        if not argv or argv[0] in ("-h", "--help"):
            print(group_help(sub, prog))
            raise HelpShown()
        action = next((a for a in sub.actions if a.name == argv[0]), None)
        if action is None:
            names = ", ".join(a.name for a in sub.actions)
            raise InvalidInputError(f"unknown action {argv[0]!r}; use one of {names}")
        return parse(action, argv[1:], prog)
    return sub, build_parser(sub, prog).parse_args(argv)


def usage(sub: Subcommand, prog: str, indent: str = "") -> str:
    """``%mlops NAME [--option X] ... ARG`` as argparse writes it, without ``[-h]``, wrapped at :data:`WIDTH`."""
    parser = build_parser(sub, prog)
    formatter = parser._get_formatter()
    shown = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    formatter.add_usage(None, shown, parser._mutually_exclusive_groups, prefix=indent)
    return formatter.format_help().rstrip("\n")


def summary(text: str) -> str:
    """A summary under its usage in the reference: indented, wrapped at :data:`WIDTH`."""
    return textwrap.fill(text, width=WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6)


def entries(sub: Subcommand, prog: str = "%mlops") -> list[str]:
    """Reference lines of a subcommand, a usage and a summary for it or for each of its actions."""
    return [line for where, leaf in leaves(sub, prog) for line in (usage(leaf, where, "  "), summary(leaf.summary))]


def group_help(sub: Subcommand, prog: str) -> str:
    """``%mlops model -h``: the actions of a subcommand that has them, each with its usage and summary."""
    lines = [f"usage: {prog} ACTION ...", "", sub.summary, "",
             f"actions ({prog} ACTION -h shows an action's options):"]
    for action in sub.actions:
        lines += entries(action, prog)
    return "\n".join(lines)


def leaves(sub: Subcommand, prog: str = "%mlops") -> list[tuple[str, Subcommand]]:
    """``(prog, subcommand)`` of everything that parses: the subcommand itself, or each of its actions."""
    prog = f"{prog} {sub.name}"
    return [leaf for action in sub.actions for leaf in leaves(action, prog)] if sub.actions else [(prog, sub)]


def option_flags(sub: Subcommand) -> list[str]:
    """Every option string a subcommand without actions accepts, ``-h`` aside."""
    return [f for a in sub.args if not a.positional for f in a.flags]

"""click options built from the declarations the ``%mlops`` magics share (:mod:`mlops_magic.options`).

``@declared(*RUN_FILTERS)`` on a command adds those options, so ``mlops runs`` and
``%mlops runs`` accept the same names, types, bounds and defaults, with the same help.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..options import Arg

F = TypeVar("F", bound=Callable[..., Any])


def _type(a: Arg) -> Any:
    if a.choices:
        return click.Choice(list(a.choices))
    if a.minimum is not None:
        return click.FloatRange(min=a.minimum) if a.type is float else click.IntRange(min=int(a.minimum))
    return a.type


def _option(a: Arg, pair: Arg | None = None) -> Callable[[F], F]:
    """One click option; two flags sharing a ``dest`` (yes/no/unsaid) become click's ``--yes/--no`` option,
    with the first one's help."""
    if pair is not None:
        return click.option(f"{a.flags[0]}/{pair.flags[0]}", a.name, default=None, help=a.help)
    if a.flag:
        return click.option(*a.flags, a.name, is_flag=True, flag_value=a.const, default=a.initial, help=a.help)
    return click.option(*a.flags, a.name, type=_type(a), default=a.default, metavar=a.metavar, help=a.help,
                        multiple=a.multiple, required=a.required, show_default=a.default is not None)


def declared(*args: Arg) -> Callable[[F], F]:
    """Decorate a click command with options declared in :mod:`mlops_magic.options`, in their order."""
    decorators: list[Callable[[F], F]] = []
    rest = list(args)
    while rest:
        a = rest.pop(0)
        if a.positional:
            raise TypeError(f"{a.name}: positional arguments stay click.argument in the command")
        pair = next((b for b in rest if b.flag and a.flag and b.exclusive and b.exclusive == a.exclusive
                     and b.name == a.name), None)
        if pair is not None:
            rest.remove(pair)
        decorators.append(_option(a, pair))

    def decorate(command: F) -> F:
        for decorator in reversed(decorators):  # click lists options in decoration order, top first
            command = decorator(command)
        return command

    return decorate

"""Values typed as text (``-p lr 0.1``, ``%mlops params lr=0.1``, the lab's run-now form), never ``eval``ed.

One parser for every face, so a value means the same in a magic, on the command line and in a
headless run's parameters.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Iterable
from typing import Any

from ..errors import InvalidInputError

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_text(text: str) -> bool:
    """Whether ``text`` is valid Unicode: no lone surrogate (a JSON ``"\\ud800"`` makes one), so a store,
    a file name, a digest or a header can hold it as UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_param_name(name: Any) -> bool:
    """The one rule for parameter names: a Python identifier (any script, ``学习率``) that is no keyword."""
    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def check_param_name(name: Any) -> str:
    """``name`` when it can be a notebook variable, else the one-line error every face shows."""
    if not is_param_name(name):
        raise InvalidInputError(f"parameter name {name!r} is not a valid Python name")
    return str(name)


def check_param_names(names: Iterable[Any]) -> None:
    for name in names:
        check_param_name(name)
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


def parse_literal(text: str) -> Any:
    """Type a ``VALUE`` of ``NAME=VALUE``: int, float, bool, None, quoted or bare string."""
    t = text.strip()
    low = t.lower()
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        return float(t)
    if low in ("nan", "+nan", "-nan"):
        return math.nan
    if low in ("inf", "+inf", "infinity", "+infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    if low == "true":
        return True
    if low == "false":
        return False
    if low in ("none", "null"):
        return None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    return t


def parse_assigned(name: str, text: str) -> Any:
    """The value of ``NAME=VALUE`` typed by hand: like :func:`parse_literal`, but ``NAME=`` is refused.

    ``lr=`` is almost always a value that went missing (a shell variable that expanded to nothing);
    an empty string is written ``lr=''``.
    """
    if not text.strip():
        raise InvalidInputError(f"{name}= has no value; write {name}='' for an empty string")
    return parse_literal(text)

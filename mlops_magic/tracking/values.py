"""Values typed as text (``-p lr 0.1``, ``%mlops params lr=0.1``, the lab's run-now form), never ``eval``ed.

One parser for every face, so a value means the same in a magic, on the command line and in a
headless run's parameters.
"""

from __future__ import annotations

import math
import re
from typing import Any

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
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

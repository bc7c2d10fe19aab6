"""The one JSON body reader of both HTTP faces: ``mlops serve`` and the Jupyter server extension.

Whatever a client sends, the answer is a value or one :class:`InvalidInputError` line (a 400), never a
500 from deeper down: not UTF-8, not JSON, a number of 5,000 digits, nesting deep enough to exhaust
Python's stack (``RecursionError``), or nesting deeper than any route reads (:data:`MAX_DEPTH`), which
would otherwise reach code that recurses over it later (storing it, rendering it). By default an
escaped lone surrogate (``"\\ud800"``) is refused too: it is no character, so no store, file name or
header can hold it. A route that only reads text (a notebook's cells) may allow it.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidInputError
from ..tracking.values import is_text

#: Deepest nesting of arrays and objects a body may have; every route reads at most a few levels.
MAX_DEPTH = 32


def parse_body(body: bytes | str, *, allow_surrogates: bool = False) -> Any:
    """The JSON of a request body, checked as the module says.

    ``NaN`` and ``Infinity`` (which Python's json accepts) are read as floats so a column check can
    name the cell that holds them.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"the body is not JSON: it is not UTF-8 (byte {exc.start}); "
                                "send UTF-8 JSON") from None
    try:
        value = json.loads(text, parse_constant=float)
    except RecursionError:
        raise InvalidInputError(f"the body is nested too deeply: at most {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, too many digits
        raise InvalidInputError(f"the body is not JSON: {str(exc).splitlines()[0][:200]}") from None
    check_tree(value, allow_surrogates=allow_surrogates)
    return value


def check_tree(value: Any, *, allow_surrogates: bool = False) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and (unless allowed) lone surrogates, without recursing."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not (allow_surrogates or is_text(item)):
                raise InvalidInputError(f"the body holds a lone surrogate ({item[:40]!a}): "
                                        "send text that is valid Unicode")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise InvalidInputError(f"the body is nested too deeply: at most {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        else:
            stack.extend((v, depth + 1) for v in item)

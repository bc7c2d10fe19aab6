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
import re
from typing import Any

from ..errors import InvalidInputError
from ..tracking.values import is_text

orjson: Any
try:  # 10x faster on a 1,000-row request; the [serve] extra brings it, json reads the same bodies without it
    import orjson
except ImportError:  # pragma: no cover - the Jupyter server extension without the [serve] extra
    orjson = None

#: Deepest nesting of arrays and objects a body may have; every route reads at most a few levels.
MAX_DEPTH = 32
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: orjson reads an integer literal past 64 bits as a float; json keeps it exact. A float this large may
#: have been one, so a body holding one is read again by json.
_HUGE = float(2**63)


def parse_body(body: bytes | str, *, allow_surrogates: bool = False) -> Any:
    """The JSON of a request body, checked as the module says.

    ``NaN`` and ``Infinity`` (which Python's json accepts) are read as floats so a column check can
    name the cell that holds them.
    """
    if orjson is not None and isinstance(body, (bytes, bytearray)):
        try:  # valid UTF-8 JSON without NaN, Infinity or a lone surrogate escape: every string is text
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # json says what is wrong, or reads what orjson does not (NaN, Infinity)
        else:
            if not _walk(value, strings=False, huge=True):
                return value
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
    # text decoded from UTF-8 holds a lone surrogate only through a \\uD800-\\uDFFF escape: without one,
    # no string needs a look
    decoded = isinstance(body, (bytes, bytearray))
    check_tree(value, allow_surrogates=allow_surrogates or (decoded and not _SURROGATE_ESCAPE.search(text)))
    return value


def check_tree(value: Any, *, allow_surrogates: bool = False) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and (unless allowed) lone surrogates, without recursing."""
    _walk(value, strings=not allow_surrogates, huge=False)


def _walk(value: Any, *, strings: bool, huge: bool) -> bool:
    """:func:`check_tree`'s walk; with ``huge``, True as soon as a float of 2**63 or more is found.

    Only containers are walked, and a list of scalars only when it holds what is looked for (the set of
    its types is made in C: a flat list of numbers costs no Python loop)."""
    if isinstance(value, str):
        _check_text(value, strings)
        return False
    if huge and isinstance(value, float):
        return abs(value) >= _HUGE
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInputError(f"the body is nested too deeply: at most {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key in item:
                _check_text(key, strings)
            item = list(item.values())
        kinds = set(map(type, item))
        if huge and float in kinds:
            numbers = item if kinds <= {float, int, bool} else [v for v in item if type(v) is float]
            if max(map(abs, numbers)) >= _HUGE:
                return True
        if (strings and str in kinds) or dict in kinds or list in kinds:
            for v in item:
                if isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
                elif strings and isinstance(v, str):
                    _check_text(v, strings)
    return False


def _check_text(text: str, strings: bool) -> None:
    if strings and not is_text(text):
        raise InvalidInputError(f"the body holds a lone surrogate ({text[:40]!a}): send text that is valid Unicode")

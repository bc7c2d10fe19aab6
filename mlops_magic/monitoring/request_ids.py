"""What a request id is, for every face that takes one: ``/predict``, ``/labels``, ``log_labels``, the CLI.

A request id joins a served prediction to the label that arrives later, so both sides must spell it the
same way, and it travels in an HTTP header (``X-Request-Id``), a SQL column and a CSV file. The rule:

- a string of 1 to :data:`MAX_LENGTH` printable characters (any script, emoji included; no control
  characters, so no CR/LF; no lone surrogates; not only blanks), kept exactly as given;
- or an integer, kept as its decimal string (``42`` and ``"42"`` are the same id);
- anything else (null, true, 1.5, a list, an object) is refused in one line, never stored as ``"None"``.

In the ``X-Request-Id`` answer header an id is percent-encoded (UTF-8) wherever it holds ``%`` or a
character outside printable ASCII (:func:`header_value`), so a header always carries it and
``urllib.parse.unquote`` gives it back; the JSON body carries it as is.
"""

from __future__ import annotations

import numbers
from urllib.parse import quote

from ..errors import InvalidInputError

MAX_LENGTH = 128
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def request_id(value: object, where: str = "a request id") -> str:
    """``value`` as a request id, or :class:`InvalidInputError` naming ``where`` and the rule."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if abs(int(value)) >= 10**MAX_LENGTH:
            raise InvalidInputError(f"{where} is an integer of more than {MAX_LENGTH} digits")
        text = str(int(value))
    else:
        shown = "null" if value is None else "true or false" if isinstance(value, bool) else \
            f"a {type(value).__name__}"
        raise InvalidInputError(f"{where} is {shown}; a request id is a string or an integer")
    if not text or not text.strip():
        raise InvalidInputError(f"{where} is empty; a request id has 1 to {MAX_LENGTH} characters")
    if len(text) > MAX_LENGTH:
        raise InvalidInputError(f"{where} has {len(text)} characters; a request id has at most {MAX_LENGTH}")
    if not text.isprintable():
        raise InvalidInputError(f"{where} {text[:40]!a} holds a control character or a lone surrogate; "
                                "a request id is printable text")
    return text


def request_ids(values: list[object], where: str = "request id") -> list[str]:
    """Each value checked by :func:`request_id`; the first bad one is named by its position."""
    return [request_id(v, f"{where} {i}") for i, v in enumerate(values)]


def header_value(rid: str) -> str:
    """``rid`` fit for an HTTP header: printable ASCII as is, ``%`` and anything else percent-encoded."""
    return quote(rid, safe=_HEADER_SAFE)

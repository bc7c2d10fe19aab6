"""Markdown building blocks for text that is posted where Markdown *and* HTML are rendered: pull-request
comments, ``$GITHUB_STEP_SUMMARY``, GitLab notes. Every user string (notebook paths, metric names, errors,
code) goes through one of these, so none can open a tag, break a table or close a code fence.

GitHub and GitLab pass raw HTML in Markdown through their sanitiser; escaping ``<``, ``>`` and ``&`` means
a user's ``<details>`` or ``<img>`` is shown as text rather than trusted to that sanitiser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .html import fmt_number

_PUNCTUATION = re.compile(r"([\\`*_\[\]~|])")  # emphasis, code, links, strike-through, table cells
_LINE_START = re.compile(r"^([#+=-]|\d+(?=[.)]))")  # a heading, list item or rule where a line starts
_BACKTICKS = re.compile(r"`+")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def _inline(text: str) -> str:
    return _PUNCTUATION.sub(r"\\\1", _html(_one_line(text)))


def md_text(value: Any) -> str:
    """Inline prose: one line, HTML escaped, Markdown's active punctuation backslash-escaped (and what would
    start a heading or a list if the text began a line or a list item)."""
    text = _inline("" if value is None else str(value))
    return _LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1).isdigit() else "\\" + m.group(1), text)


def md_cell(value: Any) -> str:
    """Table-safe text: one line, no HTML, no emphasis, code or link, no bare pipe (numbers to 6 significant
    digits, JSON for containers)."""
    if isinstance(value, float):
        value = fmt_number(value, 6)
    elif isinstance(value, (dict, list)):
        value = json.dumps(value, default=str)
    return _inline(str(value))


def md_code(value: Any, *, table: bool = True) -> str:
    """An inline code span that holds any one-line text: a longer fence than any backtick run inside. In a
    ``table`` a ``|`` is escaped (GitHub's tables split cells on a bare pipe even inside code). Nothing in a
    code span is read as HTML, not even an entity, so nothing else is escaped."""
    text = _one_line("" if value is None else str(value))
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fence(text: str, lang: str = "") -> list[str]:
    """A fenced code block (its lines) that no line of ``text`` can close: the fence is longer than any
    backtick run in it. Nothing inside a fence is read as Markdown or HTML."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, *text.rstrip("\n").split("\n"), fence]


def md_table(headers: list[str], rows: list[list[Any]], *, raw: bool = False) -> list[str]:
    """A GitHub table; cells are escaped with :func:`md_cell` unless ``raw`` (cells built from the helpers
    here already, such as code spans)."""
    if not rows:
        return ["_none_", ""]
    show = (lambda c: str(c)) if raw else md_cell
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *["| " + " | ".join(show(c) for c in row) + " |" for row in rows], ""]

"""HTML building blocks every rendering shares: escaping, status marks, durations, sizes, themed colours.

Every user-controlled string (run names, params, metric names, errors) that reaches HTML goes
through :func:`esc`; faces and core renderings import it from here so there is one escape.

Colours: notebook outputs are drawn in whichever JupyterLab theme the reader uses, and also in
static copies (nbconvert, the run report) with no theme at all. So no rendering sets a fixed
background with the theme's text colour on it, or a fixed text colour on the theme's background:

* text keeps the theme's own foreground; a marked cell or row gets a *translucent* tint of a theme
  colour (``color-mix(... transparent)``), which darkens a dark page and lightens a light one, so
  the theme's text stays readable on it in both (checked by computed colours in
  ``tests/browser/test_outputs_theme.py``);
* a coloured word (a status, a verdict) is the theme's colour mixed with the theme's text colour,
  which pulls it toward contrast with the page in light and dark alike.

Each themed declaration is preceded by a plain fallback for renderers without ``color-mix``.

Tables: :func:`html_table` is the one table builder. It escapes every header and cell that is not
:class:`Html` (markup a caller built from escaped parts, as ``esc`` returns), so a value nobody escaped
shows as text, never as markup: markupsafe's ``Markup`` rule, without the dependency.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..entities import RunStatus

_S = RunStatus  # the keys below are statuses (a str enum: plain strings find them too)
STATUS_ICON: dict[str, str] = {
    _S.SUCCEEDED: "✔", _S.FAILED: "✘", _S.QUEUED: "⏳", _S.RUNNING: "…", "not run": "·", _S.SKIPPED: "↷",
    _S.KILLED: "☠", _S.TIMED_OUT: "⌛"}
STATUS_COLOUR: dict[str, str] = {
    _S.SUCCEEDED: "#2e7d32", _S.FAILED: "#c62828", _S.QUEUED: "#5c6bc0", _S.RUNNING: "#1565c0",
    _S.KILLED: "#6a1b9a", _S.TIMED_OUT: "#ef6c00"}
#: The JupyterLab variable behind each status colour (the hex above is its fallback outside Lab).
STATUS_VAR: dict[str, str] = {
    _S.SUCCEEDED: "--jp-success-color1", _S.FAILED: "--jp-error-color1", _S.QUEUED: "--jp-brand-color1",
    _S.RUNNING: "--jp-brand-color1", _S.KILLED: "--jp-error-color0", _S.TIMED_OUT: "--jp-warn-color1"}

TEXT = "var(--jp-content-font-color1, #1f1f1f)"
MUTED = "var(--jp-content-font-color2, #5f6368)"


def tint(var: str, fallback: str, percent: int) -> str:
    """``background`` declarations: ``percent`` of a theme colour over whatever lies beneath (text unchanged)."""
    r, g, b = (int(fallback[i:i + 2], 16) for i in (1, 3, 5))
    return (f"background:rgba({r},{g},{b},{percent / 100:g});"
            f"background:color-mix(in srgb, var({var}, {fallback}) {percent}%, transparent)")


def ink(var: str, fallback: str, percent: int = 65) -> str:
    """``color`` declarations: a theme colour pulled toward the theme's text colour, readable on its page."""
    return f"color:{fallback};color:color-mix(in srgb, var({var}, {fallback}) {percent}%, {TEXT})"


#: A value that differs between compared runs: a warm tint, bold, and a left rule (not colour alone).
DIFF_STYLE = (tint("--jp-warn-color1", "#f57c00", 22) + ";font-weight:600;"
              "box-shadow:inset 2px 0 0 var(--jp-warn-color1, #f57c00);padding:0 4px;border-radius:2px")
#: A drifted column's row in a drift table.
DRIFT_ROW_STYLE = tint("--jp-error-color1", "#d32f2f", 18)
NOWRAP = "white-space:nowrap"


def status_style(status: str) -> str:
    """The ``color`` declarations of a status word (theme colour toward the theme's text)."""
    colour = STATUS_COLOUR.get(status)
    if colour is None:
        return f"color:{MUTED}"
    return ink(STATUS_VAR[status], colour)


class Html(str):
    """Text that is already HTML (escaped values and the markup built around them), so a table keeps it as is."""

    __slots__ = ()


def esc(value: Any) -> Html:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and both quotes escaped (None is empty). Always escapes,
    even an :class:`Html` value, so text bound for an attribute (``srcdoc``) is escaped again as it must be."""
    return Html(html.escape("" if value is None else str(value), quote=True))


#: What a notebook-output table sets on every cell: Lab right-aligns table cells by default.
CELL_STYLE = "text-align:left;padding:2px 8px"
#: ``line-height``: an ipywidgets HTML sets 28 px (a widget row) on its content, too tall for a table's lines.
TABLE_STYLE = "border-collapse:collapse;line-height:1.4"


@dataclass(frozen=True)
class Cell:
    """A cell with a style of its own (a coloured verdict, a number that must not wrap), after the table's."""

    content: Any
    style: str = ""


@dataclass(frozen=True)
class Row:
    """A row with a class or style of its own (a drifted column's row, an unchanged stage)."""

    cells: Sequence[Any]
    css_class: str = ""
    style: str = ""


def _attrs(css_class: str | None = None, style: str | None = None) -> str:
    out = f' class="{esc(css_class)}"' if css_class else ""
    return out + (f' style="{esc(style)}"' if style else "")


def _cell(tag: str, value: Any, style: str) -> str:
    if isinstance(value, Cell):
        style = ";".join(s for s in (style, value.style) if s)
        value = value.content
    return f"<{tag}{_attrs(style=style)}>{value if isinstance(value, Html) else esc(value)}</{tag}>"


def html_table(headers: Sequence[Any], rows: Iterable[Sequence[Any] | Row], *, css_class: str | None = "mlops-table",
               style: str | None = TABLE_STYLE, cell_style: str = CELL_STYLE,
               head_style: str | None = None) -> Html:
    """A table with a head and a body. Headers and cells that are not :class:`Html` are escaped here;
    a :class:`Cell` adds its style to ``cell_style``, a :class:`Row` its class and style to its ``<tr>``.

    ``head_style`` styles the header cells (default: ``cell_style``). Pass ``style=None, cell_style=""``
    where a page's own stylesheet (the run report) or the notebook's defaults should decide.
    """
    th = cell_style if head_style is None else head_style
    head = "".join(_cell("th", h, th) for h in headers)
    body = []
    for row in rows:
        cells, attrs = (row.cells, _attrs(row.css_class, row.style)) if isinstance(row, Row) else (row, "")
        body.append(f"<tr{attrs}>" + "".join(_cell("td", c, cell_style) for c in cells) + "</tr>")
    return Html(f"<table{_attrs(css_class, style)}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
                "</table>")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def fmt_size(size: float | None) -> str:
    """Bytes as people read them: ``143033`` → ``139.7 KiB`` (binary units, one decimal above bytes)."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns


_LITERAL_WORDS = {"True", "False", "None", "nan", "inf", "-inf"}


def fmt_param(value: Any) -> str:
    """A parameter as it was given: ``0.1`` (not ``0.1000``), ``1e-05``, ``gbm``; a string that would read
    as another type (``"3"``, ``"True"``) keeps its quotes so it is not mistaken for one."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped != value or stripped in _LITERAL_WORDS or _is_number(stripped) or not value:
            return repr(value)
        return value
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def fmt_number(value: Any, digits: int = 4, *, missing: str = "—", sign: bool = False) -> str:
    """A measured number as people read it, the one rule every table and summary uses.

    Reals (numpy's too) at ``digits`` significant digits (``0.8731``, ``2.71e-05``); zero of either sign
    is ``0``; NaN and infinities by name (``nan``, ``inf``: a value, unlike ``missing``, which is what None
    shows); integers whole; booleans and text as they are. ``sign`` writes ``+`` before a change that is
    not negative. Parameters are not numbers to round: see :func:`fmt_param`.
    """
    if value is None:
        return missing
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    plus = "+" if sign else ""
    if isinstance(value, numbers.Integral):
        return format(int(value), plus)
    number = float(value)
    return plus + "0" if number == 0 else format(number, f"{plus}.{digits}g")

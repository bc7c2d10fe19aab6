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
"""

from __future__ import annotations

import html
import math
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


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


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


def fmt_metric(value: Any, digits: int = 4) -> str:
    """A metric value at ``digits`` significant digits (``0.8731``); integers and text as they are."""
    if isinstance(value, float):
        return format(value, f".{digits}g")
    return "" if value is None else str(value)

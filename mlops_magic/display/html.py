"""HTML building blocks every rendering shares: escaping, status marks, durations.

Every user-controlled string (run names, params, metric names, errors) that reaches HTML goes
through :func:`esc`; faces and core renderings import it from here so there is one escape.
"""

from __future__ import annotations

import html
from typing import Any

STATUS_ICON = {"succeeded": "✔", "failed": "✘", "queued": "⏳", "running": "…", "not run": "·", "skipped": "↷",
               "killed": "☠", "timed-out": "⌛"}
STATUS_COLOUR = {"succeeded": "#2e7d32", "failed": "#c62828", "queued": "#5c6bc0", "running": "#1565c0",
                 "killed": "#6a1b9a",
                 "timed-out": "#ef6c00"}


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

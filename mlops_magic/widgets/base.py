"""What every panel shares: a live widget where a frontend draws it, static HTML everywhere else.

A panel is a plain object holding an ipywidgets tree. Its display bundle
carries the widget view *and* ``text/html`` + ``text/plain``: JupyterLab's
widget renderer is registered ``safe: false`` at rank -10, so it wins in a
trusted, live notebook, while an untrusted notebook, nbconvert (which drops a
widget view that has no saved state) and papermill output fall back to the
static HTML. ipywidgets itself only emits ``text/plain`` next to the view
(``Widget._repr_mimebundle_`` in ipywidgets 8), hence this class.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from ..display.html import STATUS_ICON, Html, esc, status_style
from ..entities import says_no

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def frontend_available() -> bool:
    """Whether a widget can render here: ipywidgets importable and a kernel (not a terminal) running.

    ``MLOPS_WIDGETS=0`` forces the static views, ``MLOPS_WIDGETS=1`` forces widgets.
    """
    forced = os.environ.get("MLOPS_WIDGETS", "").strip().lower()
    if says_no(forced):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    if forced in ("1", "true", "yes", "on"):
        return True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def status_badge(status: str) -> Html:
    css = esc(status.replace(" ", "-"))
    return Html(f"<span class='mlops-status mlops-status-{css}' style='{status_style(status)};font-weight:600;"
                "white-space:nowrap'>"
                f"{esc(STATUS_ICON.get(status, ''))} {esc(status)}</span>")


def close_tree(widget: Any) -> None:
    """Close a widget and its descendants (``Widget.close_all`` would close every widget in the kernel)."""
    for child in getattr(widget, "children", ()) or ():
        close_tree(child)
    widget.close()


class Panel:
    """Base of every panel: builds its widget lazily and displays widget + static fallbacks.

    Subclasses implement :meth:`build` (the ipywidgets tree), :meth:`html` and
    :meth:`text` (the static representations, escaped).
    """

    title = "mlops panel"

    def __init__(self) -> None:
        self._widget: Any = None
        self._display_id: str | None = None
        self._closed = False
        self._on_close: list[Callable[[], None]] = []

    # -- to implement -------------------------------------------------------------------------
    def build(self) -> Any:
        raise NotImplementedError

    def html(self) -> str:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    # -- widget -------------------------------------------------------------------------------
    @property
    def widget(self) -> Any:
        """The ipywidgets tree, built on first access (imports ipywidgets)."""
        if self._widget is None:
            self._widget = self.build()
            self._widget.add_class("mlops-panel")
        return self._widget

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop live updates and close the widgets (their views disappear from the page)."""
        if self._closed:
            return
        self._closed = True
        for fn in self._on_close:
            try:
                fn()
            except Exception:
                pass
        if self._widget is not None:
            close_tree(self._widget)

    # -- display ------------------------------------------------------------------------------
    def mimebundle(self, *, with_widget: bool | None = None) -> dict[str, Any]:
        with_widget = frontend_available() if with_widget is None else with_widget
        data: dict[str, Any] = {"text/plain": self.text(), "text/html": self.html()}
        if with_widget and not self._closed:
            data[WIDGET_VIEW] = {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}
        return data

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
        return self.mimebundle()

    def _ipython_display_(self) -> None:
        """Display with a display id so :meth:`refresh_static` can keep the saved HTML current."""
        from IPython.display import display

        self._display_id = self._display_id or uuid.uuid4().hex
        display(self.mimebundle(), raw=True, display_id=self._display_id)

    def refresh_static(self) -> None:
        """Re-publish the bundle so a notebook saved later keeps an up-to-date static fallback."""
        if self._display_id is None or self._closed:
            return
        from IPython.display import update_display

        update_display(self.mimebundle(), raw=True, display_id=self._display_id)

    def __repr__(self) -> str:
        return self.text()


class Poller:
    """Calls ``tick()`` every ``interval`` seconds on a daemon thread until it returns False or is stopped.

    Why a thread: a headless run lives in another process, so no session
    event reaches this kernel; ipykernel sends comm messages from any thread.
    """

    def __init__(self, tick: Callable[[], bool], interval: float = 1.0) -> None:
        self._tick = tick
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mlops-panel-poller", daemon=True)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._tick():
                    return
            except Exception:  # a store hiccup must not kill the kernel's thread noisily
                continue

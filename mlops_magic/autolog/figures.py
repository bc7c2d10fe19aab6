"""matplotlib figures a stage makes, kept as PNG artifacts of that stage.

A figure made during the stage (through ``pyplot``) is collected when it is shown (``plt.show()``), when
it is closed (Jupyter's inline backend shows and closes every figure at the end of a cell, before the
stage ends), or when the stage ends with it still open (a script on the Agg backend). Figures are
rendered once, at the end of the stage, as ``figures/STAGE/N.png`` (``N`` counts from 1 in the order
they were made), or under the figure's label when it has one.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from .patching import Patches, Scope, call_through
from .recorder import Recorder


def open_figures() -> list[Any]:
    """The figures pyplot holds open now (none if pyplot was never imported)."""
    helpers = sys.modules.get("matplotlib._pylab_helpers")
    if helpers is None:
        return []
    return [manager.canvas.figure for manager in helpers.Gcf.get_all_fig_managers()]


def apply(patches: Patches, rec: Recorder) -> int:
    """Wrap ``pyplot.show`` and ``pyplot.close``: what they show or close was made by the stage."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None or not rec.enabled("matplotlib"):
        return 0
    return patches.wrap_all([pyplot], ("show", "close"), on_show_or_close)


def on_show_or_close(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    rec: Recorder = scope.rec
    try:
        collect_new(rec, rec.figures_before)
    except Exception as exc:
        rec.failed("figures", exc)
    return call_through(scope, inner, *args, **kwargs)


def collect_new(rec: Recorder, before: list[Any]) -> None:
    """Keep every open figure that was not open when the stage began."""
    for figure in open_figures():
        if not any(figure is old for old in before):
            rec.add_figure(figure)


def render(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def names(figures: list[Any], stage: str) -> list[str]:
    """Artifact names: ``figures/STAGE/LABEL.png`` for a labelled figure, else ``figures/STAGE/N.png``."""
    out: list[str] = []
    for i, figure in enumerate(figures, start=1):
        label = str(figure.get_label() or "").strip().replace("/", "_")
        name = f"figures/{stage}/{label or i}.png"
        out.append(name if name not in out else f"figures/{stage}/{i}.png")
    return out

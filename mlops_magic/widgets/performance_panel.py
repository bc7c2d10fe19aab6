"""A performance report as a panel: the watched metric over windows (realized, estimated with its band,
the reference and the bar) above the per-window table.

Wraps :class:`~mlops_magic.monitoring.performance.PerformanceReport` without recomputing anything;
its own escaped HTML is the static view.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .base import Panel
from .charts import chart_widget, render_png, render_svg
from .data import Series


class PerformancePanel(Panel):
    """Realized and estimated values per window against the reference and the bar."""

    title = "Performance"

    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report

    def series(self) -> list[Series]:
        r = self.report
        m = r.metric
        xs = [datetime.fromtimestamp(w.start, timezone.utc) if w.start is not None else i
              for i, w in enumerate(r.windows)]
        out = []
        for label, values in (("realized", [w.realized.get(m) for w in r.windows]),
                              ("estimated", [w.estimated.get(m) for w in r.windows])):
            points = [(x, v) for x, v in zip(xs, values) if v is not None]
            if points:
                out.append(Series(label, [p[0] for p in points], [float(p[1]) for p in points]))
        if xs:
            reference = r.reference.get(m)
            if reference is not None:
                out.append(Series("reference", [xs[0], xs[-1]], [float(reference)] * 2))
            out.append(Series("bar", [xs[0], xs[-1]], [float(r.bar)] * 2))
        return out

    def _title(self) -> str:
        return f"{self.report.metric} of {self.report.model} v{self.report.version}"

    def chart_png(self) -> bytes:
        series = self.series()
        return render_png([(self._title(), series)], xlabel="window") if series else b""

    def chart_svg(self) -> str:
        """The chart the panel shows: themed inline SVG."""
        series = self.series()
        return render_svg([(self._title(), series)], xlabel="window") if series else ""

    def build(self) -> Any:
        import ipywidgets as w

        from ..display.performance import performance_html  # lazy: %load_ext stays light

        children: list[Any] = []
        svg = self.chart_svg()
        if svg:
            children.append(chart_widget(svg, self._title()))
        children.append(w.HTML(performance_html(self.report)))
        box = w.VBox(children)
        box.add_class("mlops-performance-panel")
        return box

    def html(self) -> str:
        from ..display.performance import performance_html  # lazy: %load_ext stays light

        return performance_html(self.report)

    def text(self) -> str:
        return repr(self.report)

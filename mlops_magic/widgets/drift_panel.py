"""A drift report as a panel: the verdict, the per-column table, and one column's distributions enlarged.

Wraps :class:`~mlops_magic.monitoring.DriftReport` without re-testing anything;
its own escaped HTML (with inline SVG distributions) is the static view.
"""

from __future__ import annotations

from typing import Any

from ..display.html import fmt_number
from .base import Panel
from .charts import chart_html, chart_widget, render_distribution_png, render_distribution_svg


class DriftPanel(Panel):
    """Per-column verdicts; pick a column (drifted ones first) to see reference vs current large."""

    title = "Drift"

    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report
        charted = [c for c in report.columns if c.chart]
        self.columns = sorted(charted, key=lambda c: (not c.drifted, c.p_value if c.p_value is not None else 1.0))
        self.selected: str | None = self.columns[0].column if self.columns else None

    def chart_png(self, column: str | None = None) -> bytes:
        name = column or self.selected
        col = next((c for c in self.columns if c.column == name), None)
        return render_distribution_png(col.chart, col.column) if col is not None else b""

    def chart_svg(self, column: str | None = None) -> str:
        """The column's reference vs current distributions as themed inline SVG (what the panel shows)."""
        name = column or self.selected
        col = next((c for c in self.columns if c.column == name), None)
        return render_distribution_svg(col.chart, col.column) if col is not None else ""

    def _alt(self) -> str:
        return f"{self.selected}: reference vs current distribution"

    def select(self, column: str) -> None:
        self.selected = column
        if self._widget is not None:
            self._image.value = chart_html(self.chart_svg(), self._alt())

    def build(self) -> Any:
        import ipywidgets as w

        from ..display.monitoring import drift_html  # lazy: %load_ext stays light

        children: list[Any] = []
        if self.columns:
            options = [(f"{c.column} — {'drifted' if c.drifted else 'no drift'}"
                        + (f" (p={fmt_number(c.p_value, 3)})" if c.p_value is not None else ""), c.column)
                       for c in self.columns]
            picker = w.Dropdown(options=options, value=self.selected, description="column",
                                layout=w.Layout(width="420px"))
            picker.observe(lambda change: self.select(change["new"]), names="value")
            self._image = chart_widget(self.chart_svg(), self._alt())
            children += [picker, self._image]
        children.append(w.HTML(drift_html(self.report)))
        box = w.VBox(children)
        box.add_class("mlops-drift-panel")
        return box

    def html(self) -> str:
        from ..display.monitoring import drift_html  # lazy: %load_ext stays light

        return drift_html(self.report)

    def text(self) -> str:
        return repr(self.report)

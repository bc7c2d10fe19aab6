"""``%mlops plot KEY ...``: metric history over steps of one run, or latest value across runs over time."""

from __future__ import annotations

from typing import Any

from ..display.html import esc, fmt_number, html_table
from ..tracking.session import Session
from .base import Panel
from .charts import chart_html, chart_widget, render_svg
from .data import Series, metric_across_runs, metric_keys, metric_series

MODES = {"steps": "over steps", "runs": "across runs"}


def _last(series: Series) -> str:
    return fmt_number(series.y[-1] if series.y else None, 6)


class PlotPanel(Panel):
    """Charts of metrics; the mode toggle switches between one run's steps and the history of runs."""

    title = "Metrics"

    def __init__(self, session: Session, keys: list[str], *, run_id: str | None = None, mode: str = "steps",
                 notebook: str | None = None, trigger: str | None = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.session = session
        self.run_id = run_id
        self.requested_keys = list(keys)
        self.mode = mode
        self.notebook = notebook
        self.trigger = trigger
        self.series: list[Series] = []
        self.svg = ""
        self.reload()

    @property
    def keys(self) -> list[str]:
        if self.requested_keys:
            return self.requested_keys
        return metric_keys(self.session.store, self.run_id) if self.run_id else []

    def _scope(self) -> str:
        if self.mode == "steps":
            return f"run {self.run_id[:8]}" if self.run_id else "no run"
        where = [f"notebook {self.notebook}" if self.notebook else "all notebooks"]
        if self.trigger:
            where.append(f"trigger {self.trigger}")
        return "latest value per run, " + ", ".join(where)

    def reload(self) -> None:
        """Re-read the series and redraw the chart."""
        store = self.session.store
        keys = self.keys
        if self.mode == "steps":
            self.series = metric_series(store, self.run_id, keys) if self.run_id else []
            self.svg = render_svg([(s.label, [s]) for s in self.series], xlabel="step")
        else:
            self.series = metric_across_runs(store, keys, notebook=self.notebook, trigger=self.trigger)
            panels = [(s.label, [Series(f"{s.label} (latest per run)", s.x, s.y)]) for s in self.series]
            self.svg = render_svg(panels, xlabel="run start time", time_axis=True)
        if self._widget is not None:
            self._image.value = chart_html(self.svg, self._alt())
            self._caption.value = self._caption_html()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.reload()

    def _caption_html(self) -> str:
        return f"<b>{esc(', '.join(self.keys) or 'no metrics')}</b> · {esc(self._scope())}"

    def build(self) -> Any:
        import ipywidgets as w

        self._caption = w.HTML(self._caption_html())
        toggle = w.ToggleButtons(options=[(label, mode) for mode, label in MODES.items()], value=self.mode)
        toggle.observe(lambda change: self.set_mode(change["new"]), names="value")
        toggle.add_class("mlops-plot-mode")
        refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        refresh.on_click(lambda _: self.reload())
        self._image = chart_widget(self.svg, self._alt())
        return w.VBox([w.HBox([toggle, refresh]), self._caption, self._image])

    def _alt(self) -> str:
        return f"chart of {', '.join(self.keys)} ({self._scope()})"

    def html(self) -> str:
        rows = [[s.label, len(s.y), _last(s)] for s in self.series]
        return (f"<div class='mlops-plot'>{self._caption_html()}<br>{chart_html(self.svg, self._alt())}"
                + html_table(["metric", "points", "last value"], rows) + "</div>")

    def text(self) -> str:
        lines = [f"Metrics {', '.join(self.keys) or '(none)'}: {self._scope()}"]
        lines += [f"  {s.label}: {len(s.y)} points, last {_last(s)}" for s in self.series]
        return "\n".join(lines)

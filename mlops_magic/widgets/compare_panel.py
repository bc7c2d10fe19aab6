"""``%mlops compare RUN RUN ...``: parameters and metrics side by side, differences marked, curves overlaid."""

from __future__ import annotations

from typing import Any

from ..display.html import esc
from ..store import Store
from .base import Panel, html_table, status_badge
from .charts import image_widget, img_html, render_png
from .data import MISSING, Comparison, ParamRow, compare_runs, run_label

DIFF_STYLE = "background:#fff3cd;font-weight:600"


def _value(v: Any) -> str:
    if v is MISSING:
        return "<span style='color:#999'>—</span>"
    return esc(f"{v:.6g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else v)


def _rows(rows: list[ParamRow], only_diff: bool) -> list[list[str]]:
    out = []
    for row in rows:
        if only_diff and not row.differs:
            continue
        mark = f"<span style='{DIFF_STYLE}' title='differs'>≠</span>" if row.differs else ""
        cells = [f"<span style='{DIFF_STYLE}'>{_value(v)}</span>" if row.differs else _value(v)
                 for v in row.values]
        out.append([mark, esc(row.key), *cells])
    return out


def _text_value(v: Any) -> str:
    return "—" if v is MISSING else f"{v:.6g}" if isinstance(v, float) else repr(v)


class ComparePanel(Panel):
    """Two or more runs: params and latest metrics in columns (≠ marks differences), histories overlaid."""

    title = "Compare runs"

    def __init__(self, store: Store, refs: list[str]) -> None:
        super().__init__()
        if len(refs) < 2:
            raise ValueError("compare needs at least two runs")
        self.store = store
        self.refs = list(refs)
        self.only_diff = False
        self.comparison: Comparison = compare_runs(store, self.refs)
        panels = list(self.comparison.histories.items())
        self.png = render_png(panels, xlabel="step") if panels else b""

    @property
    def differing_params(self) -> list[str]:
        return [r.key for r in self.comparison.params if r.differs]

    def _headers(self) -> list[str]:
        return ["", "name", *(run_label(r) for r in self.comparison.runs)]

    def _runs_html(self) -> str:
        return "Comparing " + ", ".join(
            f"<code>{esc(run_label(r))}</code> {status_badge(r.status)} {esc(r.notebook or '')}"
            for r in self.comparison.runs)

    def _tables_html(self) -> str:
        c = self.comparison
        params = (html_table(self._headers(), _rows(c.params, self.only_diff))
                  if c.params else "<i>no parameters</i>")
        metrics = (html_table(self._headers(), _rows(c.metrics, self.only_diff))
                   if c.metrics else "<i>no metrics</i>")
        return f"<h4>Parameters</h4>{params}<h4>Metrics (last value)</h4>{metrics}"

    def set_only_diff(self, value: bool) -> None:
        self.only_diff = bool(value)
        if self._widget is not None:
            self._tables.value = self._tables_html()

    def build(self) -> Any:
        import ipywidgets as w

        only = w.Checkbox(value=self.only_diff, description="only differences", indent=False)
        only.observe(lambda change: self.set_only_diff(change["new"]), names="value")
        self._tables = w.HTML(self._tables_html())
        children = [w.HTML(self._runs_html()), only, self._tables]
        if self.png:
            children += [w.HTML("<h4>Metric histories</h4>"), image_widget(self.png)]
        box = w.VBox(children)
        box.add_class("mlops-compare-panel")
        return box

    def html(self) -> str:
        chart = ("<h4>Metric histories</h4>" + img_html(self.png, "metric histories of the compared runs")
                 if self.png else "")
        return f"<div class='mlops-compare'>{self._runs_html()}{self._tables_html()}{chart}</div>"

    def text(self) -> str:
        c = self.comparison
        labels = [run_label(r) for r in c.runs]
        lines = ["Compare " + " vs ".join(labels)]
        for title, rows in (("Parameters", c.params), ("Metrics (last value)", c.metrics)):
            lines.append(f"{title}:")
            width = max([len(r.key) for r in rows] + [4])
            for r in rows:
                mark = "≠" if r.differs else " "
                lines.append(f"  {mark} {r.key:<{width}}  " + "  ".join(_text_value(v) for v in r.values))
        return "\n".join(lines)

"""``%mlops compare RUN RUN ...``: parameters, metrics and data fingerprints side by side, differences marked,
curves overlaid.

Differences are marked by a ``≠`` and a translucent theme tint (readable in light and dark themes, see
:mod:`mlops_magic.display.html`). Parameters are shown as given (``0.1``), metrics at 6 significant digits.
A metric with one value per run is in the table (and drawn as bars), not as one-point lines.
"""

from __future__ import annotations

from typing import Any

from ..display.html import DIFF_STYLE, MUTED, NOWRAP, Html, esc, fmt_number, fmt_param, html_table
from ..entities import Fingerprint
from ..store import Store
from .base import Panel, status_badge
from .charts import chart_html, chart_widget, render_svg, single_values
from .data import MISSING, Comparison, FingerprintRow, ParamRow, compare_runs, run_label

_DIFF_MARK = Html(f"<span class='mlops-diff-mark' style='{DIFF_STYLE}' title='differs'>≠</span>")


def _value(v: Any, param: bool) -> str:
    if v is MISSING:
        return f"<span style='color:{MUTED}'>—</span>"
    return esc(_text_value(v, param))


def _cell(inner: str, differs: bool) -> Html:
    return Html(f"<span class='mlops-diff' style='{DIFF_STYLE}'>{inner}</span>" if differs else inner)


def _rows(rows: list[ParamRow], only_diff: bool, *, param: bool) -> list[list[Any]]:
    out = []
    for row in rows:
        if only_diff and not row.differs:
            continue
        cells = [_cell(_value(v, param), row.differs) for v in row.values]
        out.append([_DIFF_MARK if row.differs else "", row.key, *cells])
    return out


def _fingerprint(fp: Any) -> str:
    """``3f2a9c01d4e5 · 12,500 rows`` (short digest, then rows or size), for a table cell."""
    if not isinstance(fp, Fingerprint):
        return "—"
    extent = f"{fp.rows:,} rows" if fp.rows is not None else (f"{fp.size:,} bytes" if fp.size is not None else fp.kind)
    return f"{fp.digest[:12]} · {extent}"


def _data_label(row: FingerprintRow) -> str:
    return f"{row.role} {row.name}" if row.role else row.name


def _fingerprint_rows(rows: list[FingerprintRow], only_diff: bool) -> list[list[Any]]:
    out = []
    for row in rows:
        if only_diff and not row.differs:
            continue
        cells = [_cell(f"<code style='{NOWRAP}'>{esc(_fingerprint(v))}</code>", row.differs) for v in row.values]
        change = "; ".join(c for c in row.changes if c)
        out.append([_DIFF_MARK if row.differs else "", row.stage, _data_label(row), *cells, change])
    return out


def _text_value(v: Any, param: bool = False) -> str:
    if v is MISSING:
        return "—"
    return fmt_param(v) if param else fmt_number(v, 6)


class ComparePanel(Panel):
    """Two or more runs: params, latest metrics and data fingerprints per stage in columns (≠ marks
    differences), metric histories overlaid."""

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
        # Curves first, then the metrics with one value per run (as bars).
        panels.sort(key=lambda p: single_values(p[1]))
        self.svg = render_svg(panels, xlabel="step") if panels else ""

    @property
    def differing_params(self) -> list[str]:
        return [r.key for r in self.comparison.params if r.differs]

    @property
    def differing_data(self) -> list[FingerprintRow]:
        return [r for r in self.comparison.fingerprints if r.differs]

    def _labels(self) -> list[str]:
        return [run_label(r) for r in self.comparison.runs]

    def _headers(self) -> list[str]:
        return ["", "name", *self._labels()]

    def _runs_html(self) -> str:
        return "Comparing " + ", ".join(
            f"<code>{esc(run_label(r))}</code> {status_badge(r.status)} {esc(r.notebook or '')}"
            for r in self.comparison.runs)

    def _tables_html(self) -> str:
        c = self.comparison
        none = f"<i style='color:{MUTED}'>{{}}</i>"
        params = (html_table(self._headers(), _rows(c.params, self.only_diff, param=True))
                  if c.params else none.format("no parameters"))
        metrics = (html_table(self._headers(), _rows(c.metrics, self.only_diff, param=False))
                   if c.metrics else none.format("no metrics"))
        data: str
        if c.fingerprints:
            data = html_table(["", "stage", "data", *self._labels(), "change"],
                              _fingerprint_rows(c.fingerprints, self.only_diff), css_class="mlops-table mlops-data")
        else:
            data = none.format("no data fingerprints")
        same = (f"<p style='color:{MUTED}'>the data is the same in every run</p>"
                if c.fingerprints and not self.differing_data else "")
        return (f"<h4>Parameters</h4>{params}<h4>Metrics (last value)</h4>{metrics}"
                f"<h4>Data fingerprints</h4>{data}{same}")

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
        if self.svg:
            children += [w.HTML("<h4>Metrics</h4>"), chart_widget(self.svg, self._chart_alt())]
        box = w.VBox(children)
        box.add_class("mlops-compare-panel")
        return box

    def _chart_alt(self) -> str:
        return "metrics of the compared runs: " + ", ".join(self.comparison.histories)

    def html(self) -> str:
        chart = "<h4>Metrics</h4>" + chart_html(self.svg, self._chart_alt()) if self.svg else ""
        return f"<div class='mlops-compare'>{self._runs_html()}{self._tables_html()}{chart}</div>"

    def text(self) -> str:
        c = self.comparison
        labels = self._labels()
        lines = ["Compare " + " vs ".join(labels)]
        for title, rows, param in (("Parameters", c.params, True), ("Metrics (last value)", c.metrics, False)):
            lines.append(f"{title}:")
            width = max([len(r.key) for r in rows] + [4])
            for r in rows:
                mark = "≠" if r.differs else " "
                lines.append(f"  {mark} {r.key:<{width}}  " + "  ".join(_text_value(v, param) for v in r.values))
        if c.fingerprints:
            lines.append("Data fingerprints:")
            for f in c.fingerprints:
                mark = "≠" if f.differs else " "
                change = "; ".join(x for x in f.changes if x)
                lines.append(f"  {mark} {f.stage} {_data_label(f)}  " + "  ".join(_fingerprint(v) for v in f.values)
                             + (f"  ({change})" if change else ""))
        return "\n".join(lines)

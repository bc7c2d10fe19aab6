"""``%mlops runs --widget``: the runs table with filters, sorting and "compare selected".

Rows come from :func:`~mlops_magic.tracking.queries.list_run_records` (the same call as
``mlops runs --format json`` and ``GET /runs``); the filters are that call's
arguments, sorting is presentation only.
"""

from __future__ import annotations

import math
from typing import Any

from ..display.html import esc, fmt_duration
from ..entities import RUN_STATUSES, TRIGGERS
from ..tracking.queries import list_run_records
from ..tracking.session import Session
from .base import Panel, close_tree, html_table, status_badge
from .compare_panel import ComparePanel
from .data import notebooks

BASE_SORTS = ["started", "status", "trigger", "notebook", "duration", "name"]
MAX_METRIC_COLUMNS = 4
_GRID_COLUMNS = "30px 80px minmax(80px,1fr) minmax(120px,2fr) 100px 95px 150px 75px"


def _sort_key(record: dict[str, Any], column: str) -> tuple[int, Any]:
    """Missing values last whatever the direction; numbers and strings never compared together."""
    value = record["metrics"].get(column[8:]) if column.startswith("metrics.") else record.get(column)
    metric = column.startswith("metrics.")
    if value is None or (isinstance(value, float) and math.isnan(value)) or (metric and isinstance(value, str)):
        return (1, 0)
    return (0, value if isinstance(value, (int, float)) else str(value))


def _fmt_metric(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "" if value is None else str(value)


class RunsTable(Panel):
    """Runs newest first; filter by status, trigger and notebook; sort by any column; compare a selection."""

    title = "Runs"

    def __init__(self, session: Session, *, notebook: str | None = None, status: str | None = None,
                 trigger: str | None = None, limit: int = 25, sort: str = "started",
                 descending: bool = True) -> None:
        super().__init__()
        self.session = session
        self.notebook, self.status, self.trigger = notebook, status, trigger
        self.limit = limit
        self.sort, self.descending = sort, descending
        self.selected: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.compare: ComparePanel | None = None
        self.message = ""
        self._rendering = False  # guards the sort dropdown's observer while _render resets its options
        self.reload()

    # -- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """Query with the current filters, then sort and cut to ``limit`` rows."""
        records = list_run_records(self.session.store, notebook=self.notebook, status=self.status,
                                   trigger=self.trigger, limit=max(self.limit, 500))
        records.sort(key=lambda r: _sort_key(r, "started"), reverse=True)
        if self.sort != "started" or not self.descending:
            present = [r for r in records if _sort_key(r, self.sort)[0] == 0]
            absent = [r for r in records if _sort_key(r, self.sort)[0] == 1]
            present.sort(key=lambda r: _sort_key(r, self.sort)[1], reverse=self.descending)
            records = present + absent
        self.records = records[: self.limit]
        shown = {r["id"] for r in self.records}
        self.selected = [i for i in self.selected if i in shown]
        if self._widget is not None:
            self._render()

    @property
    def metric_columns(self) -> list[str]:
        keys = sorted({k for r in self.records for k in r["metrics"]})
        return keys[:MAX_METRIC_COLUMNS]

    def set_filter(self, **filters: Any) -> None:
        """Change ``notebook``, ``status``, ``trigger``, ``sort``, ``descending`` or ``limit`` and reload."""
        for name, value in filters.items():
            if name not in ("notebook", "status", "trigger", "sort", "descending", "limit"):
                raise TypeError(f"unknown filter {name!r}")
            setattr(self, name, value if value != "" else None)
        self.sort = self.sort or "started"
        self.reload()

    def select(self, run_id: str, selected: bool = True) -> None:
        if selected and run_id not in self.selected:
            self.selected.append(run_id)
        elif not selected and run_id in self.selected:
            self.selected.remove(run_id)

    def compare_selected(self) -> ComparePanel | None:
        """Open the comparison of the selected runs below the table (two or more)."""
        if len(self.selected) < 2:
            self.message = "select two or more runs to compare"
            self.compare = None
        else:
            self.message = ""
            self.compare = ComparePanel(self.session.store, list(self.selected))
        if self._widget is not None:
            for child in self._compare_box.children:
                close_tree(child)
            self._compare_box.children = [self.compare.widget] if self.compare else []
            self._message.value = esc(self.message)
        return self.compare

    # -- widget -------------------------------------------------------------------------------
    def build(self) -> Any:
        import ipywidgets as w

        def dropdown(label: str, options: list[str], value: str | None, name: str) -> Any:
            dd = w.Dropdown(options=[("any", "")] + [(o, o) for o in options], value=value or "",
                            description=label, layout=w.Layout(width="210px"))
            dd.observe(lambda change: self.set_filter(**{name: change["new"]}), names="value")
            return dd

        nbs = notebooks(self.session.store)
        if self.notebook and self.notebook not in nbs:
            nbs.append(self.notebook)
        self._filters = [dropdown("status", list(RUN_STATUSES), self.status, "status"),
                         dropdown("trigger", list(TRIGGERS), self.trigger, "trigger"),
                         dropdown("notebook", nbs, self.notebook, "notebook")]
        self._sort = w.Dropdown(options=self._sort_options(), value=self.sort, description="sort",
                                layout=w.Layout(width="210px"))
        self._sort.observe(self._on_sort, names="value")
        order = w.ToggleButton(value=self.descending, description="descending", icon="sort-amount-desc",
                               layout=w.Layout(width="auto"))
        order.observe(lambda change: self.set_filter(descending=change["new"]), names="value")
        compare = w.Button(description="Compare selected", icon="columns", button_style="primary",
                           layout=w.Layout(width="auto"))
        compare.on_click(lambda _: self.compare_selected())
        refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        refresh.on_click(lambda _: self.reload())
        self._grid = w.GridBox(layout=w.Layout(grid_template_columns=self._grid_columns(), grid_gap="1px 6px",
                                               align_items="center"))
        self._message = w.HTML()
        self._count = w.HTML()
        self._compare_box = w.VBox()
        box = w.VBox([w.HBox(self._filters, layout=w.Layout(flex_flow="row wrap")),
                      w.HBox([self._sort, order, compare, refresh, self._count],
                             layout=w.Layout(flex_flow="row wrap", align_items="center")),
                      self._grid, self._message, self._compare_box])
        box.add_class("mlops-runs-table")
        self._widget = box
        self._render()
        return box

    def _on_sort(self, change: dict[str, Any]) -> None:
        if not self._rendering and change["new"]:
            self.set_filter(sort=change["new"])

    def _sort_options(self) -> list[tuple[str, str]]:
        options = [(s, s) for s in BASE_SORTS] + [(f"metric {k}", f"metrics.{k}") for k in self.metric_columns]
        if self.sort not in [v for _, v in options]:
            options.append((self.sort, self.sort))
        return options

    def _grid_columns(self) -> str:
        return _GRID_COLUMNS + " 90px" * len(self.metric_columns)

    def _render(self) -> None:
        import ipywidgets as w

        for child in self._grid.children:
            child.close()
        head = ["", "run", "name", "notebook", "status", "trigger", "started", "duration",
                *self.metric_columns]
        cells: list[Any] = [w.HTML(f"<b>{esc(h)}</b>") for h in head]
        for record in self.records:
            box = w.Checkbox(value=record["id"] in self.selected, indent=False, layout=w.Layout(width="28px"))
            box.observe(lambda change, run_id=record["id"]: self.select(run_id, change["new"]), names="value")
            box.add_class("mlops-run-select")
            cells.append(box)
            cells.extend(w.HTML(c) for c in self._cells(record))
        self._grid.layout.grid_template_columns = self._grid_columns()
        self._grid.children = cells
        self._rendering = True
        try:
            options = self._sort_options()
            if list(self._sort.options) != options:
                self._sort.options = options
            self._sort.value = self.sort
        finally:
            self._rendering = False
        self._count.value = f"{len(self.records)} runs shown"

    def _cells(self, r: dict[str, Any]) -> list[str]:
        return [f"<code title='{esc(r['id'])}'>{esc(r['id'][:8])}</code>", esc(r["name"] or ""),
                esc(r["notebook"] or ""), status_badge(r["status"]), esc(r["trigger"]),
                esc(r["started"][:19].replace("T", " ")), esc(fmt_duration(r["duration"])),
                *(esc(_fmt_metric(r["metrics"].get(k))) for k in self.metric_columns)]

    # -- static -------------------------------------------------------------------------------
    def _filters_text(self) -> str:
        parts = [f"{n}={v}" for n, v in (("status", self.status), ("trigger", self.trigger),
                                         ("notebook", self.notebook)) if v]
        order = "descending" if self.descending else "ascending"
        return f"{len(self.records)} runs · sorted by {self.sort} ({order})" + (
            " · " + ", ".join(parts) if parts else "")

    def html(self) -> str:
        head = ["run", "name", "notebook", "status", "trigger", "started", "duration", *self.metric_columns]
        rows = [self._cells(r) for r in self.records]
        compare = self.compare.html() if self.compare else ""
        return (f"<div class='mlops-runs'><b>Runs</b> · {esc(self._filters_text())}"
                + html_table(head, rows) + compare + "</div>")

    def text(self) -> str:
        lines = [f"Runs: {self._filters_text()}"]
        for r in self.records:
            metrics = "  ".join(f"{k}={_fmt_metric(r['metrics'].get(k))}" for k in self.metric_columns
                                if k in r["metrics"])
            lines.append(f"  {r['id'][:8]}  {r['status']:<9} {r['trigger']:<11} {r['started'][:19]}  "
                         f"{r['notebook'] or '-'}  {metrics}".rstrip())
        return "\n".join(lines)

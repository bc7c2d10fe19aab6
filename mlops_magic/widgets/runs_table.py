"""``%mlops runs --widget``: the runs table with filters, sorting by column header and "compare selected".

Rows come from :func:`~mlops_magic.tracking.queries.list_run_records` (the same call as
``mlops runs --format json`` and ``GET /runs``); the filters are that call's
arguments, sorting is presentation only.

Made to fit a notebook's width: the ``name`` column appears only when some shown run has a name, the
start time is short (the full one is its tooltip), parameters share one wrapping column, and each metric
(up to :data:`MAX_METRIC_COLUMNS`) is a narrow column. Clicking a column's header sorts by it; clicking
it again reverses the order. A sweep's points are listed right under it (``└``), in the table's sort, and
its row counts them (``sweep · 3 points``), as ``mlops runs`` and the lab's runs view list them.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from ..display.html import MUTED, NOWRAP, Html, esc, fmt_duration, fmt_number, fmt_param, html_table
from ..entities import RUN_STATUSES, TRIGGERS
from ..tracking.queries import list_run_records
from ..tracking.session import Session
from ..tracking.sweeps import group_by_sweep
from .base import Panel, close_tree, status_badge
from .compare_panel import ComparePanel
from .data import notebooks

BASE_SORTS = ["started", "status", "trigger", "notebook", "duration", "name"]
MAX_METRIC_COLUMNS = 4
#: Sorting by these starts with the largest (newest, longest, best-scoring) first; text columns A→Z.
_DESCENDING_FIRST = {"started", "duration"}
_WIDTHS = {"select": "24px", "run": "74px", "name": "minmax(60px,1fr)", "notebook": "minmax(90px,1.2fr)",
           "status": "max-content", "trigger": "max-content", "started": "max-content", "duration": "max-content",
           "params": "minmax(90px,1.5fr)"}
_METRIC_WIDTH = "minmax(56px,max-content)"
_CELL = "line-height:1.35;white-space:normal;overflow-wrap:anywhere"
_PARAM = "display:inline-block;max-width:100%;overflow-wrap:anywhere"  # one per line if need be, long ones broken


def _sort_key(record: dict[str, Any], column: str) -> tuple[int, Any]:
    """Missing values last whatever the direction; numbers and strings never compared together."""
    value = record["metrics"].get(column[8:]) if column.startswith("metrics.") else record.get(column)
    metric = column.startswith("metrics.")
    if value is None or (isinstance(value, float) and math.isnan(value)) or (metric and isinstance(value, str)):
        return (1, 0)
    return (0, value if isinstance(value, (int, float)) else str(value))


def _short_time(iso: str) -> str:
    """``2026-12-01T14:03:22+00:00`` → ``12-01 14:03`` (the table's column; the tooltip has it all)."""
    return iso[5:16].replace("T", " ")


class RunsTable(Panel):
    """Runs newest first; filter by status, trigger and notebook; sort by a column's header; compare a selection."""

    title = "Runs"

    def __init__(self, session: Session, *, notebook: str | None = None, status: str | None = None,
                 trigger: str | None = None, user: str | None = None, limit: int = 25, sort: str = "started",
                 descending: bool = True) -> None:
        super().__init__()
        self.session = session
        self.notebook, self.status, self.trigger, self.user = notebook, status, trigger, user
        self.limit = limit
        self.sort, self.descending = sort, descending
        self.selected: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.compare: ComparePanel | None = None
        self.message = ""
        self._headers: dict[str, Any] = {}
        self._point_counts: Counter[str] = Counter()
        self.reload()

    # -- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """Query with the current filters, then sort and cut to ``limit`` rows."""
        records = list_run_records(self.session.store, notebook=self.notebook, status=self.status,
                                   trigger=self.trigger, user=self.user, limit=max(self.limit, 500))
        records.sort(key=lambda r: _sort_key(r, "started"), reverse=True)
        if self.sort != "started" or not self.descending:
            present = [r for r in records if _sort_key(r, self.sort)[0] == 0]
            absent = [r for r in records if _sort_key(r, self.sort)[0] == 1]
            present.sort(key=lambda r: _sort_key(r, self.sort)[1], reverse=self.descending)
            records = present + absent
        self.records = group_by_sweep(self.session.store, records[: self.limit], keep_order=True)
        self._point_counts = Counter(r["parent_run_id"] for r in self.records if r.get("depth"))
        shown = {r["id"] for r in self.records}
        self.selected = [i for i in self.selected if i in shown]
        if self._widget is not None:
            self._render()

    @property
    def metric_columns(self) -> list[str]:
        keys = sorted({k for r in self.records for k in r["metrics"]})
        return keys[:MAX_METRIC_COLUMNS]

    @property
    def hidden_metrics(self) -> int:
        return len({k for r in self.records for k in r["metrics"]}) - len(self.metric_columns)

    @property
    def columns(self) -> list[str]:
        """The shown columns, in order: ``name`` only when a shown run has one, ``notebook`` when the runs
        come from more than one, ``params`` when one has any."""
        named = ["name"] if any(r["name"] for r in self.records) else []
        params = ["params"] if any(r["params"] for r in self.records) else []
        notebook = ["notebook"] if len({r["notebook"] for r in self.records}) > 1 else []
        return ["run", *named, *notebook, "status", "trigger", "started", "duration", *params,
                *(f"metrics.{k}" for k in self.metric_columns)]

    @property
    def common_notebook(self) -> str | None:
        """The notebook of every shown run when they share one (then it is said once, not in a column)."""
        names = {r["notebook"] for r in self.records}
        return next(iter(names)) if len(names) == 1 else None

    def set_filter(self, **filters: Any) -> None:
        """Change ``notebook``, ``status``, ``trigger``, ``sort``, ``descending`` or ``limit`` and reload."""
        for name, value in filters.items():
            if name not in ("notebook", "status", "trigger", "sort", "descending", "limit"):
                raise TypeError(f"unknown filter {name!r}")
            setattr(self, name, value if value != "" else None)
        self.sort = self.sort or "started"
        self.descending = bool(self.descending)
        self.reload()

    def sort_by(self, column: str) -> None:
        """What a click on a column header does: sort by it, or reverse the order if it is the sort already."""
        if column == self.sort:
            self.set_filter(descending=not self.descending)
        else:
            self.set_filter(sort=column, descending=column in _DESCENDING_FIRST or column.startswith("metrics."))

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

    def empty_message(self) -> str:
        """What an empty table says: nothing recorded yet, or nothing matching the filters."""
        active = self._active_filters()
        if active:
            return f"No runs match {', '.join(active)}."
        return "No runs yet: run a %%mlops stage cell, or `mlops run NOTEBOOK`."

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
        compare = w.Button(description="Compare selected", icon="columns", button_style="primary",
                           layout=w.Layout(width="auto"))
        compare.on_click(lambda _: self.compare_selected())
        refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        refresh.on_click(lambda _: self.reload())
        self._grid = w.GridBox(layout=w.Layout(grid_gap="1px 8px", align_items="center", width="100%"))
        self._grid.add_class("mlops-runs-grid")
        self._message = w.HTML()
        self._count = w.HTML()
        self._compare_box = w.VBox()
        box = w.VBox([w.HBox([*self._filters, compare, refresh, self._count],
                             layout=w.Layout(flex_flow="row wrap", align_items="center")),
                      self._grid, self._message, self._compare_box])
        box.add_class("mlops-runs-table")
        self._widget = box
        self._render()
        return box

    def _header(self, column: str) -> Any:
        """A header cell: a button for a sortable column (▼/▲ marks the current sort), else a label."""
        import ipywidgets as w

        label = column[8:] if column.startswith("metrics.") else column
        if column in ("run", "params"):
            return w.HTML(f"<b style='{NOWRAP}'>{esc(label)}</b>")
        button = self._headers.get(column)
        if button is None:
            button = w.Button(layout=w.Layout(width="auto", min_width="0", padding="0 4px"))
            button.on_click(lambda _, c=column: self.sort_by(c))
            button.add_class("mlops-sort-header")
            self._headers[column] = button
        arrow = (" ▼" if self.descending else " ▲") if column == self.sort else ""
        button.description = label + arrow
        button.tooltip = f"sort by {label}" + (" (click again to reverse)" if arrow else "")
        button.style.font_weight = "bold" if arrow else ""
        return button

    def _render(self) -> None:
        import ipywidgets as w

        columns = self.columns
        for child in self._grid.children:
            if child not in self._headers.values():
                child.close()
        for name in [n for n in self._headers if n not in columns]:
            self._headers.pop(name).close()
        cells: list[Any] = [w.HTML("")] + [self._header(c) for c in columns]
        for record in self.records:
            box = w.Checkbox(value=record["id"] in self.selected, indent=False,
                             layout=w.Layout(width="22px", min_width="0"))
            box.observe(lambda change, run_id=record["id"]: self.select(run_id, change["new"]), names="value")
            box.add_class("mlops-run-select")
            cells.append(box)
            cells.extend(w.HTML(f"<div style='{_CELL}'>{c}</div>", layout=w.Layout(min_width="0"))
                         for c in self._cells(record, columns))
        self._grid.layout.grid_template_columns = " ".join(
            [_WIDTHS["select"]] + [_WIDTHS.get(c, _METRIC_WIDTH) for c in columns])
        self._grid.children = cells
        more = f" · {self.hidden_metrics} more metrics in <code>%mlops compare</code>" if self.hidden_metrics else ""
        where = f" of <code>{esc(self.common_notebook)}</code>" if self.common_notebook else ""
        self._count.value = f"{len(self.records)} runs shown{where}{more}"
        self._message.value = (f"<i style='color:{MUTED}'>{esc(self.empty_message())}</i>" if not self.records
                               else esc(self.message))

    def _points(self, run_id: str) -> int:
        """How many points of sweep ``run_id`` are listed under it (0: not a sweep, or none shown)."""
        return self._point_counts.get(run_id, 0)

    def _cells(self, r: dict[str, Any], columns: list[str]) -> list[Html]:
        out: list[str] = []
        for c in columns:
            if c == "run":
                branch = f"<span style='color:{MUTED}'>└ </span>" if r.get("depth") else ""
                title = f"{r['id']}, a point of sweep {r['parent_run_id']}" if r.get("depth") else r["id"]
                code = f"<code title='{esc(title)}'>{esc(r['id'][:8])}</code>"
                out.append(f"<span style='{NOWRAP}'>{branch}{code}</span>")
            elif c == "trigger" and (points := self._points(r["id"])):
                out.append(esc(f"{r['trigger']} · {points} point{'' if points == 1 else 's'}"))
            elif c == "status":
                out.append(status_badge(r["status"]))
            elif c == "started":
                full = r["started"][:19].replace("T", " ")
                out.append(f"<span title='{esc(full)} UTC' style='{NOWRAP}'>{esc(_short_time(r['started']))}</span>")
            elif c == "duration":
                out.append(f"<span style='{NOWRAP}'>{esc(fmt_duration(r['duration']))}</span>")
            elif c == "params":
                out.append(" ".join(f"<span style='{_PARAM}'>{esc(k)}=<wbr>{esc(fmt_param(v))}</span>"
                                    for k, v in sorted(r["params"].items())))
            elif c.startswith("metrics."):
                out.append(f"<span style='{NOWRAP}'>{esc(fmt_number(r['metrics'].get(c[8:])))}</span>")
            else:
                out.append(esc(r.get(c) or ""))
        return [Html(c) for c in out]

    # -- static -------------------------------------------------------------------------------
    def _active_filters(self) -> list[str]:
        return [f"{n}={v}" for n, v in (("status", self.status), ("trigger", self.trigger),
                                        ("notebook", self.notebook)) if v]

    def _filters_text(self) -> str:
        parts = self._active_filters()
        order = "descending" if self.descending else "ascending"
        where = f" of {self.common_notebook}" if self.common_notebook and not self.notebook else ""
        return f"{len(self.records)} runs{where} · sorted by {self.sort} ({order})" + (
            " · " + ", ".join(parts) if parts else "")

    def html(self) -> str:
        columns = self.columns
        head = [c[8:] if c.startswith("metrics.") else c for c in columns]
        rows = [self._cells(r, columns) for r in self.records]
        table = (html_table(head, rows) if rows
                 else f"<p><i style='color:{MUTED}'>{esc(self.empty_message())}</i></p>")
        compare = self.compare.html() if self.compare else ""
        return (f"<div class='mlops-runs'><b>Runs</b> · {esc(self._filters_text())}" + table + compare + "</div>")

    def text(self) -> str:
        lines = [f"Runs: {self._filters_text()}"]
        if not self.records:
            lines.append(f"  {self.empty_message()}")
        for r in self.records:
            metrics = "  ".join(f"{k}={fmt_number(r['metrics'].get(k))}" for k in self.metric_columns
                                if k in r["metrics"])
            run = f"└ {r['id'][:6]}" if r.get("depth") else r["id"][:8]
            lines.append(f"  {run}  {r['status']:<9} {r['trigger']:<11} {r['started'][:19]}  "
                         f"{r['notebook'] or '-'}  {metrics}".rstrip())
        return "\n".join(lines)

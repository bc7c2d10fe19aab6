"""``%mlops status``: the six stages of a run, live while stage cells (or a headless run) progress.

The panel subscribes to the session (stage and run events of this kernel)
and, for a run in another process, polls the store; either way it re-reads
the same :func:`~mlops_magic.tracking.queries.run_lifecycle` the static view uses.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from ..display.html import Html, esc, fmt_duration, html_table, ink
from ..display.runs import ERROR, WARN, LifecycleView, lifecycle_text
from ..entities import ACTIVE_STATUSES, Run, RunStatus
from ..tracking.queries import Lifecycle, StageSummary, lifecycle, run_lifecycle
from ..tracking.session import Session, get_session
from .base import Panel, Poller, frontend_available, status_badge
from .data import ModelInfo, model_info

#: At most this many panels follow the session; opening more stops the oldest's live updates.
MAX_LIVE = 8
_live: list[LifecyclePanel] = []
_BUTTON_STYLE: dict[str, str] = {RunStatus.SUCCEEDED: "success", RunStatus.FAILED: "danger", RunStatus.QUEUED: "",
                 RunStatus.RUNNING: "info", "not run": ""}
_COLUMNS = "minmax(120px,max-content) 110px 190px 80px 1fr"
LIVE = ink("--jp-brand-color1", "#1565c0")


def _when(ts: datetime | None) -> str:
    return ts.astimezone().strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def _label(s: StageSummary) -> str:
    return s.kind if s.name == s.kind else f"{s.kind} · {s.name}"


def _attempt(s: StageSummary) -> str:
    if not s.attempt:
        return ""
    return f"#{s.attempt} of {s.attempts} · {_when(s.started)}" if s.attempts > 1 else f"#1 · {_when(s.started)}"


def _notes(s: StageSummary) -> list[str]:
    return ([s.error] if s.error else []) + list(s.warnings)


class LifecyclePanel(Panel):
    """Stages in lifecycle order with status, last attempt, duration, warnings, models and gates."""

    title = "Lifecycle"

    def __init__(self, session: Session, run_id: str | None = None, *, follow_current: bool | None = None,
                 live: bool = True) -> None:
        super().__init__()
        self.session = session
        self.follow_current = run_id is None if follow_current is None else follow_current
        self.run_id = run_id or session.active_run_id() or _latest_run_id(session)
        self.run: Run | None = None
        self.view: Lifecycle = lifecycle([], None)
        self.models: ModelInfo | None = None
        self.selected: str | None = None
        self.updates = 0
        self._lock = threading.RLock()
        self._rows: dict[str, tuple[Any, ...]] = {}
        self._poller: Poller | None = None
        self._unsubscribe: Any = None
        self.reload(render=False)
        if live:
            self.start_live()

    # -- data ---------------------------------------------------------------------------------
    def reload(self, *, render: bool = True) -> None:
        """Re-read the run's lifecycle from the store and push it into the widgets."""
        with self._lock:
            store = self.session.store
            if self.run_id is None:
                self.run, self.view, self.models = None, lifecycle([], None), None
            else:
                self.run = store.get_run(self.run_id)
                self.view = run_lifecycle(store, self.run_id)
                self.models = model_info(store, self.run_id)
            self.updates += 1
            if render and self._widget is not None:
                self._render()

    # -- live updates -------------------------------------------------------------------------
    def start_live(self) -> None:
        if self._unsubscribe is not None:
            return
        self._unsubscribe = self.session.subscribe(self._on_event)
        self._on_close.append(self.stop_live)
        _live.append(self)
        while len(_live) > MAX_LIVE:
            _live.pop(0).stop_live()

    def stop_live(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        if self in _live:
            _live.remove(self)
        if self._widget is not None and not self._closed:
            self._header.value = self._header_html()

    @property
    def live(self) -> bool:
        return self._unsubscribe is not None or (self._poller is not None and self._poller.running)

    def _on_event(self, event: str, info: dict[str, Any]) -> None:
        if event in ("metric", "artifact"):  # a training loop logs thousands; the lifecycle does not change
            return
        run_id = info.get("run_id")
        if event == "run-started" and self.follow_current:
            self.run_id, self.selected = run_id, None
        if run_id != self.run_id:
            return
        self.reload()
        if event in ("stage-finished", "run-finished"):
            self.refresh_static()

    def follow(self, run_id: str, interval: float = 1.0) -> None:
        """Show ``run_id`` and poll the store until it is no longer running (a run in another process)."""
        with self._lock:
            self.run_id, self.follow_current, self.selected = run_id, False, None
            if self._poller is not None:
                self._poller.stop()

        def tick() -> bool:
            if self._closed or self.run_id != run_id:
                return False
            self.reload()
            running = self.run is not None and self.run.status in ACTIVE_STATUSES
            if not running:
                poller.stop()
                if self._widget is not None:
                    self._header.value = self._header_html()  # drop the "live" mark
                self.refresh_static()
            return running

        poller = Poller(tick, interval)
        self._poller = poller.start()
        self.reload()  # after the poller exists, so the header shows the run is followed

    # -- widget -------------------------------------------------------------------------------
    def build(self) -> Any:
        import ipywidgets as w

        self._header = w.HTML(self._header_html())
        self._grid = w.GridBox(layout=w.Layout(grid_template_columns=_COLUMNS, grid_gap="2px 8px",
                                               align_items="center"))
        self._footer = w.HTML()
        self._detail = w.HTML(layout=w.Layout(margin="4px 0 0 0"))
        refresh = w.Button(description="Refresh", icon="refresh", tooltip="re-read the store",
                           layout=w.Layout(width="auto"))
        refresh.on_click(lambda _: self.reload())
        close = w.Button(description="Close", icon="times", tooltip="stop live updates and close",
                         layout=w.Layout(width="auto"))
        close.on_click(lambda _: self.close())
        box = w.VBox([w.HBox([self._header, refresh, close], layout=w.Layout(align_items="center")),
                      self._grid, self._footer, self._detail])
        box.add_class("mlops-lifecycle-panel")
        self._widget = box
        self._render()
        return box

    def _render(self) -> None:
        import ipywidgets as w

        heads = [w.HTML(f"<b>{h}</b>") for h in ("stage", "status", "last attempt", "duration", "warnings")]
        cells: list[Any] = list(heads)
        seen = set()
        for s in self.view.stages:
            seen.add(s.name)
            row = self._rows.get(s.name)
            if row is None:
                button = w.Button(layout=w.Layout(width="auto"))
                button.on_click(lambda _, name=s.name: self.select(name))
                button.add_class("mlops-stage-button")
                row = (button, w.HTML(), w.HTML(), w.HTML(), w.HTML())
                self._rows[s.name] = row
            button, status, attempt, duration, notes = row
            button.description = _label(s)
            button.tooltip = f"details of the last {s.name} attempt"
            button.button_style = _BUTTON_STYLE.get(s.status, "warning")
            status.value = status_badge(s.status)
            attempt.value = esc(_attempt(s))
            duration.value = esc(fmt_duration(s.duration))
            notes.value = "<br>".join(f"<span style='{WARN}'>{esc(n)}</span>" for n in _notes(s))
            cells.extend(row)
        for name in [n for n in self._rows if n not in seen]:  # a new run has other named stages
            for cell in self._rows.pop(name):
                cell.close()
        self._grid.children = cells
        self._header.value = self._header_html()
        self._footer.value = self._models_html()
        self._detail.value = self._detail_html()

    def select(self, name: str | None) -> None:
        """Show the details (error, variables, data fingerprints) of a stage's last attempt; again to hide."""
        self.selected = None if name == self.selected else name
        if self._widget is not None:
            self._detail.value = self._detail_html()

    # -- HTML pieces (shared by the widget and the static view) --------------------------------
    def _header_html(self, *, static: bool = False) -> str:
        if self.run is None:
            return "<b>Lifecycle</b> · no run yet: run a <code>%%mlops stage</code> cell"
        r = self.run
        live = f" · <span class='mlops-live' style='{LIVE}'>● live</span>" if self.live and not static else ""
        return (f"<b>Lifecycle</b> of run <code>{esc(r.id[:8])}</code>{esc(' ' + r.name if r.name else '')} "
                f"{status_badge(r.status)} · {esc(r.trigger)} · {esc(r.notebook or 'no notebook')}{live}")

    def _models_html(self) -> str:
        if self.models is None:
            return ""
        parts = []
        if self.models.versions:
            parts.append("<b>Model versions produced:</b> " + ", ".join(esc(v) for v in self.models.versions))
        if self.models.gates:
            items = "".join(f"<li>{'☑' if ok else '☒'} {esc(name)}{esc(': ' + detail if detail else '')}</li>"
                            for name, ok, detail in self.models.gates)
            parts.append(f"<b>Gates</b><ul class='mlops-gates' style='margin:0'>{items}</ul>")
        return "<div>" + "<br>".join(parts) + "</div>" if parts else ""

    def _detail_html(self) -> str:
        s = next((s for s in self.view.stages if s.name == self.selected), None)
        if s is None:
            return ""
        if s.stage_id is None:
            return f"<div class='mlops-stage-detail'><b>{esc(_label(s))}</b>: not run in this run</div>"
        stage = self.session.store.get_stage(s.stage_id)
        lines = [f"<b>{esc(_label(s))}</b> attempt #{esc(stage.attempt)} of {esc(s.attempts)} · "
                 f"{status_badge(stage.status)} · started {esc(_when(stage.started))} · "
                 f"{esc(fmt_duration(s.duration))}"]
        if stage.error_type:
            line = f" (line {stage.error_line})" if stage.error_line else ""
            lines.append(f"<span style='{ERROR}'>{esc(stage.error_type)}: "
                         f"{esc(stage.error_message)}{esc(line)}</span>")
        lines.extend(f"<span style='{WARN}'>{esc(w)}</span>" for w in s.warnings)
        if stage.variables:
            lines.append("variables: " + ", ".join(
                f"<code>{esc(v.name)}</code> {esc(v.type)}{esc(' ' + str(v.shape) if v.shape else '')}"
                for v in stage.variables))
        if stage.fingerprints:
            lines.append("data: " + ", ".join(
                f"{esc(f.name)} ({esc(f.role)}, {esc(f.rows)} rows, {esc(f.digest[:12])})"
                for f in stage.fingerprints))
        return "<div class='mlops-stage-detail'>" + "<br>".join(lines) + "</div>"

    def html(self) -> str:
        rows = [[_label(s), status_badge(s.status), _attempt(s), fmt_duration(s.duration),
                 Html("<br>".join(f"<span style='{WARN}'>{esc(n)}</span>" for n in _notes(s)))]
                for s in self.view.stages]
        return (f"<div class='mlops-lifecycle'>{self._header_html(static=True)}"
                + html_table(["stage", "status", "last attempt", "duration", "warnings"], rows)
                + self._models_html() + "</div>")

    def text(self) -> str:
        lines = [lifecycle_text(self.view)] if self.run is not None else ["Lifecycle: no run yet"]
        if self.models is not None:
            if self.models.versions:
                lines.append("Model versions produced: " + ", ".join(self.models.versions))
            for name, ok, detail in self.models.gates:
                lines.append(f"  [{'x' if ok else ' '}] {name}{': ' + detail if detail else ''}")
        return "\n".join(lines)

    def status_of(self, name: str) -> str:
        """The status shown for a stage (tests and scripts read it without parsing HTML)."""
        return next((s.status for s in self.view.stages if s.name == name), "not run")


def _latest_run_id(session: Session) -> str | None:
    runs = session.store.list_runs(limit=1)
    return runs[0].id if runs else None


def lifecycle_panel(session: Session, ref: str | None = None) -> LifecyclePanel:
    """The live panel for ``ref`` (default: this session's run, following the next one it starts).

    A run of another process (a headless run, another kernel) sends this session no events, so a
    queued or running one is followed by polling the store until it ends. ``%mlops status`` and
    ``mlops.status()`` both come here.
    """
    run_id = session.store.resolve_run_id(ref) if ref else None
    panel = LifecyclePanel(session, run_id)
    if run_id and panel.run is not None and panel.run.status in ACTIVE_STATUSES and run_id != session.active_run_id():
        panel.follow(run_id)
    return panel


def status(ref: str | None = None, *, static: bool = False) -> LifecyclePanel | LifecycleView:
    """``mlops.status()``: the lifecycle of a run (default: the active or latest run); where a frontend
    draws widgets (and not ``static``) the live panel, else the static view."""
    session = get_session()
    if not static and frontend_available():
        return lifecycle_panel(session, ref)
    return LifecycleView(run_lifecycle(session.store, session.run_ref(ref)))


__all__ = ["LifecyclePanel", "lifecycle_panel", "status"]

"""``%mlops params --widget``: a control per parameter of the notebook's ``parameters`` cell, and "Run headlessly".

Values leave the controls typed (IntText → int, FloatText → float, Checkbox
→ bool, Text → str, Dropdown → the typed choice) and reach the runner as
``-p NAME VALUE`` text that its ``parse_literal`` reads back to the same type.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..display.html import MUTED, esc, html_table
from ..display.runs import ERROR
from ..errors import MlopsError, NotFoundError
from ..tracking.session import Session
from .base import Panel, Poller
from .data import first_run_since
from .lifecycle_panel import LifecyclePanel
from .parameters import ParametersCell, ParamSpec, run_args


@dataclass
class Launch:
    """A headless run being started: its command line, its run id once known, and how it is executed."""

    argv: list[str]
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    process: Any = None  # a subprocess, when a custom launcher starts one, or
    thread: Any = None  # a thread calling the runner's Python API
    log_path: str | None = None
    run_id: str | None = None
    result: Any = None  # the runner's RunResult, when executed in-process
    error: str | None = None  # the runner refused the request (bad input): nothing was recorded

    def exit_code(self) -> int | None:
        if self.thread is not None:
            if self.thread.is_alive():
                return None
            return 2 if self.error else int(getattr(self.result, "exit_code", 1))
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 6) -> str:
        if self.error:
            return self.error
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except OSError:
            return ""


Launcher = Callable[[str, dict[str, Any], str | None], Launch]


def launch_in_process(notebook: str, params: dict[str, Any], store_url: str | None) -> Launch:
    """Run through the runner's Python API on a daemon thread, with a run id chosen up front to follow."""
    from ..runner import run_notebook  # lazy: %load_ext stays light
    from ..runner.prepare import new_run_id  # lazy: %load_ext stays light

    launch = Launch(argv=["mlops", *run_args(notebook, params)], run_id=new_run_id())

    def work() -> None:
        try:
            launch.result = run_notebook(notebook, params, store_url=store_url, run_id=launch.run_id,
                                         trigger="manual")
        except Exception as exc:  # MlopsError for bad input; anything else is shown, not raised in a thread
            launch.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, MlopsError) else str(exc)

    launch.thread = threading.Thread(target=work, name="mlops-headless-run", daemon=True)
    launch.thread.start()
    return launch


def _control(spec: ParamSpec) -> Any:
    import ipywidgets as w

    common = {"description": spec.name, "style": {"description_width": "initial"},
              "layout": w.Layout(width="340px")}
    if spec.choices:
        return w.Dropdown(options=[(str(c), c) for c in spec.choices], value=spec.value, **common)
    if spec.kind == "bool":
        return w.Checkbox(value=spec.value, indent=False, **common)
    if spec.kind == "int":
        return w.IntText(value=spec.value, **common)
    if spec.kind == "float":
        return w.FloatText(value=spec.value, **common)
    return w.Text(value=spec.value, **common)


class ParamsPanel(Panel):
    """Controls for a notebook's parameters; "Run headlessly" launches ``mlops run`` with their typed values."""

    title = "Parameters"

    def __init__(self, session: Session, cell: ParametersCell, *, launcher: Launcher | None = None) -> None:
        super().__init__()
        self.session = session
        self.cell = cell
        self.launcher: Launcher = launcher or launch_in_process
        self.launch: Launch | None = None
        self.run_panel: LifecyclePanel | None = None
        self._controls: dict[str, Any] = {}
        self._overrides: dict[str, Any] = {}

    @property
    def specs(self) -> list[ParamSpec]:
        return self.cell.specs

    def values(self) -> dict[str, Any]:
        """The typed values now in the controls (defaults before the widget exists)."""
        out = {s.name: self._overrides.get(s.name, s.value) for s in self.specs}
        for name, control in self._controls.items():
            out[name] = _typed(next(s for s in self.specs if s.name == name), control.value)
        return out

    def set_value(self, name: str, value: Any) -> None:
        spec = next((s for s in self.specs if s.name == name), None)
        if spec is None:
            raise KeyError(name)
        if name in self._controls:
            self._controls[name].value = value
        else:
            self._overrides[name] = _typed(spec, value)

    def run_headlessly(self) -> Launch:
        """Start the runner with the current values; the run's lifecycle appears below once it exists."""
        values = self.values()
        launch = self.launcher(self.cell.notebook, values, self.session.store.url)
        self.launch = launch
        self._set_status(f"started <code>mlops {esc(shlex.join(run_args(self.cell.notebook, values)))}</code>; "
                         "waiting for the run to appear…")
        Poller(self._watch_launch, interval=0.5).start()
        return launch

    def _watch_launch(self) -> bool:
        launch = self.launch
        if launch is None or self._closed:
            return False
        store = self.session.store
        if launch.run_id:
            try:
                run: Any = store.get_run(launch.run_id)
            except NotFoundError:
                run = None
        else:
            run = first_run_since(store, launch.started)
        if run is not None:
            launch.run_id = run.id
            self.run_panel = LifecyclePanel(self.session, run.id, live=False)
            self.run_panel.follow(run.id)
            self._set_status(f"run <code>{esc(run.id[:8])}</code> started")
            if self._widget is not None:
                self._run_box.children = [self.run_panel.widget]
            return False
        code = launch.exit_code()
        if code is not None:
            self._set_status(f"<span style='{ERROR}'>the run did not start (exit status {esc(code)})"
                             f"</span><pre>{esc(launch.log_tail())}</pre>")
            return False
        return True

    def _set_status(self, html: str) -> None:
        self.status_html = html
        if self._widget is not None:
            self._status.value = html

    # -- widget -------------------------------------------------------------------------------
    def build(self) -> Any:
        import ipywidgets as w

        for spec in self.specs:
            control = _control(spec)
            if spec.name in self._overrides:
                control.value = self._overrides[spec.name]
            control.add_class(f"mlops-param-{spec.name}")
            self._controls[spec.name] = control
        run = w.Button(description="Run headlessly", icon="play", button_style="primary",
                       tooltip="start `mlops run` with these values", layout=w.Layout(width="auto"),
                       disabled=not self.specs and self.cell.cell_index is None)
        run.on_click(lambda _: self.run_headlessly())
        self._status = w.HTML(getattr(self, "status_html", ""))
        self._run_box = w.VBox()
        notes = "".join(f"<div style='color:{MUTED}'>{esc(s)}</div>" for s in self.cell.skipped)
        box = w.VBox([w.HTML(self._title_html() + notes), *self._controls.values(),
                      w.HBox([run], layout=w.Layout(margin="4px 0")), self._status, self._run_box])
        box.add_class("mlops-params-panel")
        return box

    def _title_html(self) -> str:
        return f"<b>Parameters</b> of <code>{esc(self.cell.notebook)}</code>"

    def html(self) -> str:
        rows = [[s.name, s.kind, repr(v), ", ".join(map(str, s.choices))]
                for s, v in zip(self.specs, self.values().values())]
        command = shlex.join(run_args(self.cell.notebook, self.values()))
        skipped = "".join(f"<div style='color:{MUTED}'>{esc(s)}</div>" for s in self.cell.skipped)
        return (f"<div class='mlops-params'>{self._title_html()}"
                + html_table(["name", "type", "value", "choices"], rows) + skipped
                + f"<div>run headlessly: <code>mlops {esc(command)}</code></div></div>")

    def text(self) -> str:
        lines = [f"Parameters of {self.cell.notebook}"]
        for spec, value in zip(self.specs, self.values().values()):
            choices = f"  (choices: {', '.join(map(str, spec.choices))})" if spec.choices else ""
            lines.append(f"  {spec.name}: {spec.kind} = {value!r}{choices}")
        lines += [f"  skipped {s}" for s in self.cell.skipped]
        return "\n".join(lines)


def _typed(spec: ParamSpec, value: Any) -> Any:
    """Coerce a control's value to the parameter's type (FloatText may hold an int, Text always a str)."""
    if spec.choices:
        return value
    if spec.kind == "bool":
        return bool(value)
    if spec.kind == "int":
        return int(value)
    if spec.kind == "float":
        return float(value)
    return str(value)

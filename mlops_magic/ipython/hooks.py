"""Stage cells through IPython's own cell lifecycle, so they behave exactly like plain cells.

An input transformer turns the ``%%mlops stage …`` first line into a comment
(line numbers in tracebacks still match the cell); ``pre_run_cell`` opens the
stage and snapshots the namespace; ``post_run_cell`` closes it with the
result's error, the variables the cell created or rebound, and fingerprints of
the DataFrames and arrays among them. The cell itself runs untouched: its last
expression displays, ``await`` and line magics work, errors are the user's own.

A stage restored from the stage cache (``--cache``, ``MLOPS_CACHE=1``; see ``mlops_magic/cache``) is
the one exception: ``pre_run_cell`` has put its variables back and shown its recorded outputs, and an
AST transformer (which IPython applies after ``pre_run_cell``; input transformers run before it and
cannot know the key) replaces the cell's code by its imports and plain definitions. On a miss the cell's
outputs are recorded while it runs, for the entry the cache saves when it succeeds.
"""

from __future__ import annotations

import ast
import os
from typing import TYPE_CHECKING, Any

from ..autolog import NAME as AUTOLOG
from ..cache import NAME as CACHE
from ..entities import Fingerprint, StageRun, VariableInfo, says_no
from ..errors import MlopsError
from ..tracking.session import Session
from ..tracking.stage_hooks import LazyObserver, StageObserver
from ..tracking.stage_sampling import ensure_registered as ensure_system_metrics
from ..tracking.stages import (
    HEADER_RE,
    MAX_HEADER_ARGS,
    CellCursor,
    StageSpec,
    TagLookup,
    code_digest,
    parse_stage_args,
    spec_from_tags,
    split_header,
)

if TYPE_CHECKING:
    from ..cache.observer import CacheState


def _stage_cache(session: Session, to_python: Any) -> StageObserver:
    from ..cache.observer import StageCache  # lazy: %load_ext stays light (the first --cache stage imports it)

    return StageCache(session, to_python=to_python)


def _autolog(session: Session) -> StageObserver:
    from ..autolog.observer import AutologObserver  # lazy: %load_ext stays light (the first stage imports it)

    return AutologObserver(session)


_SKIP_TYPES = ("module", "function", "builtin_function_or_method", "type", "method")


class StageCellTracker:
    """Opens and closes stages around cells that declare one (by first line or by tag)."""

    def __init__(self, shell: Any, session: Session) -> None:
        from ..tracking.environment import papermill_parent  # lazy: %load_ext stays light

        self.shell = shell
        self.session = session
        self.tags = TagLookup()
        self._open: StageRun | None = None
        self._before: dict[str, int] = {}
        papermill = papermill_parent()  # plain `papermill IN OUT`: cells are found by their source
        self.cursor = CellCursor(papermill.input_path) if papermill else None
        self._cell: tuple[int, str, list[str]] | None = None
        self._cache: CacheState | None = None  # the stage cache's decision for the cell running now
        self._capture: Any = None
        self.skipper = SkipRestoredCell(shell.transform_cell)

    # -- registration -------------------------------------------------------------------------
    def register(self) -> None:
        if AUTOLOG not in self.session.observers.names():
            self.session.add_observer(LazyObserver(AUTOLOG, lambda: _autolog(self.session)))
        ensure_system_metrics(self.session)
        self.shell.input_transformers_cleanup.insert(0, self.transform)
        self.shell.ast_transformers.append(self.skipper)
        self.shell.events.register("pre_run_cell", self.pre_run_cell)
        self.shell.events.register("post_run_cell", self.post_run_cell)
        self.session.add_observer(LazyObserver(CACHE, lambda: _stage_cache(self.session, self.shell.transform_cell),
                                               wanted=lambda ctx: bool(ctx.options.get("cache"))))

    def unregister(self) -> None:
        if self.transform in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.remove(self.transform)
        if self.skipper in self.shell.ast_transformers:
            self.shell.ast_transformers.remove(self.skipper)
        self.session.remove_observer(CACHE)
        for event, fn in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            try:
                self.shell.events.unregister(event, fn)
            except ValueError:
                pass

    # -- the three hooks ----------------------------------------------------------------------
    def transform(self, lines: list[str]) -> list[str]:
        """Comment out a valid stage header; an invalid one is left for the cell magic to reject."""
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            match = HEADER_RE.match(line.rstrip("\r\n"))
            if match:
                args = match.group("args") or ""
                try:
                    parse_stage_args(args)
                except MlopsError as exc:
                    if len(args) > MAX_HEADER_ARGS:  # IPython's $-expansion of a magic line is quadratic:
                        return [_raise_usage(str(exc))]  # never hand it a megabyte line, refuse it here
                    return lines
                rest = lines[i + 1:]
                if rest and rest[0].lstrip().startswith("%%"):
                    return rest  # a stacked cell magic (%%time, %%capture) must stay the first line
                return [*lines[:i], "# " + line.lstrip().rstrip("\r\n") + "\n", *rest]
            return lines
        return lines

    def pre_run_cell(self, info: Any) -> None:
        if getattr(info, "silent", False):
            return
        self.skipper.armed = False  # a cell that never reached post_run_cell leaves nothing armed or teed
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        cell_id = getattr(info, "cell_id", None)
        self._cell = None
        if not cell_id and self.cursor is not None:
            self._cell = self.cursor.match(info.raw_cell or "")
        spec = self._spec(info.raw_cell or "", cell_id)
        if spec is None:
            return
        if self._open is not None:  # a previous cell never reached post_run_cell (interrupted kernel)
            self.session.end_stage(self._open, RuntimeError("cell did not finish"))
            self._open = None
        source = info.raw_cell or ""
        notes = split_header(source)[1].strip()[:10_000] if spec.kind == "problem" else None
        try:
            self._before = self._snapshot()
            self._open = self.session.begin_cell_stage(
                spec.kind, spec.name, cell_id=cell_id or (self._cell[1] if self._cell else None),
                code_digest=code_digest(source), notes=notes or None, code=split_header(source)[1],
                namespace=self.shell.user_ns, options=cache_options(spec))
        except MlopsError as exc:  # the store is unusable: say so once, let the cell run anyway
            print(f"mlops: stage not recorded: {exc}")
            self._open = None
        self._start_cache()

    def _start_cache(self) -> None:
        """Act on the cache's decision: skip a restored cell and show its outputs, or record a missed one's."""
        ctx = self.session.stage_context(self._open.id) if self._open is not None else None
        self._cache = ctx.state.get(CACHE) if ctx is not None else None  # only the cache keeps state there
        if self._cache is None:
            return
        _print_lines(self._cache)
        if self._cache.hit is not None:
            from .cell_outputs import replay  # lazy: only a restored stage replays outputs

            self.skipper.armed = True
            replay(self.shell, self._cache.hit.outputs)
        elif self._cache.capture:
            from .cell_outputs import OutputCapture  # lazy: only a cached stage records its outputs

            self._capture = OutputCapture(self.shell)
            self._capture.start()

    def post_run_cell(self, result: Any) -> None:
        stage, self._open = self._open, None
        cache, self._cache = self._cache, None
        self.skipper.armed = False
        error = result.error_in_exec or result.error_before_exec
        if self._capture is not None:
            capture, self._capture = self._capture, None
            capture.stop()
            if cache is not None and error is None and stage is not None:
                _keep_outputs(cache, capture, result, stage.name)
        if error is not None and self.cursor is not None and not _clean_exit(error):
            # plain papermill stops at the first error: the run failed here, in the runner's words
            where = f"cell {self._cell[0]}" if self._cell else "a cell"
            place = f"stage {stage.name} ({where})" if stage else f"setup {where}"
            detail = str(error).strip().splitlines()[0][:500] if str(error).strip() else ""
            self.session.cell_failed(f"{place} failed: {type(error).__name__}" + (f": {detail}" if detail else ""))
        if stage is None:
            return
        try:
            known = {k: Fingerprint(**v) for k, v in cache.hit.fingerprints.items()} if cache and cache.hit else {}
            variables, outputs = self._produced()
            pending = None
            if cache is not None and cache.capture:  # the entry the cache saves reuses them: hashed now
                pending = self.session.log_outputs(stage, outputs, known)
                cache.fingerprints = {p.name: fp.to_dict() for p in pending if (fp := p.result()) is not None}
            self.session.end_stage(stage, error, variables=variables,
                                   error_line=_cell_error_line(error) if error else None, after_cell=True)
            if pending is None:  # fingerprints: after the cell when that is safe
                self.session.log_outputs(stage, outputs, known)
        except MlopsError as exc:
            print(f"mlops: stage result not recorded: {exc}")
        if cache is not None:
            _print_lines(cache)

    # -- helpers ------------------------------------------------------------------------------
    def _spec(self, raw: str, cell_id: str | None) -> StageSpec | None:
        args, _ = split_header(raw.lstrip("\r\n"))
        if args is not None:
            try:
                return parse_stage_args(args)
            except MlopsError:
                return None  # the cell magic raises the UsageError
        if cell_id:
            source = _notebook_source() or self.session.renamed_notebook_file()
            return spec_from_tags(self.tags.tags_for(source, cell_id))
        if self._cell is not None:
            return spec_from_tags(self._cell[2])
        return None

    def _user_names(self) -> dict[str, Any]:
        hidden = getattr(self.shell, "user_ns_hidden", {})
        return {k: v for k, v in self.shell.user_ns.items()
                if not k.startswith("_") and k not in hidden and k not in ("In", "Out", "exit", "quit")}

    def _snapshot(self) -> dict[str, int]:
        return {k: id(v) for k, v in self._user_names().items()}

    def _produced(self) -> tuple[list[VariableInfo], list[tuple[str, Any]]]:
        """The variables the cell created or rebound, and those among them to fingerprint (frames, arrays)."""
        from ..tracking.fingerprint import is_fingerprintable  # lazy: %load_ext stays light

        before = self._before
        variables, outputs = [], []
        for name, value in self._user_names().items():
            if before.get(name) == id(value) or type(value).__name__ in _SKIP_TYPES:
                continue
            variables.append(describe(name, value))
            if is_fingerprintable(value):
                outputs.append((name, value))
        return variables, outputs


class SkipRestoredCell:
    """The AST transformer that, once armed by ``pre_run_cell`` for a restored stage, replaces the cell's
    code with its replayable statements (imports, plain ``def``/``class``): the stage's work is not done
    again, and the names those statements bind (which no safe format could store) are bound again."""

    def __init__(self, to_python: Any) -> None:
        self.armed = False
        self.to_python = to_python

    def visit(self, node: ast.AST) -> ast.AST:
        if not self.armed or not isinstance(node, ast.Module):
            return node
        self.armed = False
        from ..cache.replay import replay_module  # lazy: %load_ext stays light (only a restored stage replays)

        return ast.fix_missing_locations(replay_module(node, self.to_python))


def cache_options(spec: StageSpec) -> dict[str, Any]:
    """The stage's cache options: its header's (``--cache``, ``--inputs``, ``--outputs``), with
    ``MLOPS_CACHE=1`` caching every stage (``mlops run --cache``) and ``MLOPS_CACHE=0`` none (reproduce)."""
    mode = os.environ.get("MLOPS_CACHE", "").strip().lower()
    if says_no(mode):
        return {}
    if not spec.cache and mode not in ("1", "true", "yes", "on"):
        return {}
    return {"cache": True, "inputs": spec.inputs, "outputs": spec.outputs}


def _print_lines(state: CacheState) -> None:
    lines, state.lines = state.lines, []
    for line in lines:
        print(line)


def _keep_outputs(state: CacheState, capture: Any, result: Any, label: str) -> None:
    """Hand the recorded outputs to the cache (the result last, as the cell showed it)."""
    if result.result is not None:
        capture.add_result(result.result)
    if capture.truncated:
        state.lines.append(f"{label}: --cache: the cell's outputs are over 10 MiB; a restore will not show them")
        return
    state.outputs = capture.outputs


def describe(name: str, value: Any) -> VariableInfo:
    """Name, type, and shape or length: enough to see what a stage produced without storing it."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape):
        return VariableInfo(name=name, type=type(value).__name__, shape=list(shape))
    length = None
    if isinstance(value, (list, tuple, dict, set, frozenset, str, bytes)):
        length = len(value)
    return VariableInfo(name=name, type=type(value).__name__, length=length)


def _clean_exit(error: BaseException) -> bool:
    """``sys.exit(0)`` / ``sys.exit()``: papermill's "stop here", not a failure."""
    return isinstance(error, SystemExit) and error.code in (None, 0, "")


def _notebook_source() -> str | None:
    for var in ("MLOPS_NOTEBOOK_SOURCE", "MLOPS_NOTEBOOK", "JPY_SESSION_NAME"):
        path = os.environ.get(var)
        if not path:
            continue
        if os.path.isfile(path):
            return path
        local = os.path.basename(path)  # Jupyter gives a path relative to its root; the kernel runs beside it
        if os.path.isfile(local):
            return local
    return None


def _cell_error_line(error: BaseException | None) -> int | None:
    """The line in the cell (or the innermost function defined in it) where the error was raised."""
    if error is None:
        return None
    if isinstance(error, SyntaxError):
        return error.lineno
    tb = error.__traceback__
    cell_file = None
    line = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if cell_file is None and code.co_name == "<module>":
            cell_file = code.co_filename
        if cell_file is not None and code.co_filename == cell_file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _raise_usage(message: str) -> str:
    """A cell that raises ``UsageError(message)``: IPython shows it as one line, and the body never runs."""
    return f"raise __import__('IPython.core.error', fromlist=['UsageError']).UsageError({message!r})\n"

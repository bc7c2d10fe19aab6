"""The ``%mlops`` line magic and ``%%mlops`` cell magic: parse, call the core, display.

Errors from the core arrive as :class:`~mlops_magic.errors.MlopsError` and
leave as IPython's ``UsageError``: one line, no traceback.
"""

from __future__ import annotations

import importlib
import os
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..entities import STAGE_KINDS
from ..errors import GateFailedError, MlopsError
from ..tracking.session import Session
from .parsers import HelpShown, option_flags, parse
from .subcommands import SUBCOMMANDS, reference


@magics_class
class MlopsMagics(Magics):
    def __init__(self, shell: Any, session: Session) -> None:
        super().__init__(shell)
        self.session = session

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        """``%%mlops stage KIND`` tracks a cell as a lifecycle stage; ``%mlops SUBCOMMAND ...`` logs, queries,
        registers and monitors. ``%mlops?``, ``%mlops`` alone and ``%mlops help`` print the full reference."""
        try:
            if cell is not None:
                return self._cell(line, cell)
            return self._line(line)
        except GateFailedError:
            raise  # one line already, and headless runs must see its name
        except MlopsError as exc:
            raise UsageError(str(exc)) from None
        except UsageError:
            raise
        except Exception as exc:  # never a traceback wall from a magic; MLOPS_DEBUG=1 shows it
            if os.environ.get("MLOPS_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            raise UsageError(f"{type(exc).__name__}: {first} (set MLOPS_DEBUG=1 to see the traceback)") from None

    def _line(self, line: str) -> Any:
        from .commands import MagicContext  # lazy: %load_ext stays light

        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"cannot read %mlops arguments: {exc}") from None
        if not argv:
            print(reference())
            return None
        name, rest = argv[0], argv[1:]
        sub = SUBCOMMANDS.get(name)
        if sub is None:
            if name == "stage":
                raise UsageError("stage is a cell magic: start a cell with %%mlops stage KIND")
            raise UsageError(f"unknown subcommand {name!r}; use one of: {', '.join(SUBCOMMANDS)}")
        try:
            handles, args = parse(sub, rest)  # the one parser, built from the subcommand's declaration
        except HelpShown:
            return None
        module, _, func = handles.target.partition(":")
        handler = getattr(importlib.import_module(module), func)
        return handler(MagicContext(self.shell, self.session, line), args)

    def _cell(self, line: str, cell: str) -> Any:
        """Reached only when the input transformer did not run (e.g. ``run_cell_magic`` from code)."""
        from ..tracking.stages import STAGE_USAGE, parse_stage_args  # lazy: %load_ext stays light

        argv = line.split(None, 1)
        if not argv or argv[0] != "stage":
            raise UsageError(f"the cell magic is {STAGE_USAGE}")
        spec = parse_stage_args(argv[1] if len(argv) > 1 else "")
        assert self.shell is not None
        with self.session.stage(spec.kind, spec.name, code=cell):
            result = self.shell.run_cell(cell, store_history=False)
            if result.error_in_exec is not None:
                raise result.error_in_exec
        return None


def _complete(self_: Any, event: Any) -> list[str]:
    """Tab completion: subcommands after ``%mlops``, then a subcommand's actions and declared options;
    stage kinds after ``%%mlops stage``."""
    words = event.line.split()
    ends_with_space = event.line.endswith(" ")
    if words and words[0] == "%%mlops":
        if len(words) == 1 or (len(words) == 2 and not ends_with_space):
            return ["stage"]
        if words[1] == "stage" and (len(words) == 2 or (len(words) == 3 and not ends_with_space)):
            return list(STAGE_KINDS)
        return ["--name", "--cache", "--inputs", "--outputs"]
    if len(words) <= 1 or (len(words) == 2 and not ends_with_space):
        return list(SUBCOMMANDS)
    sub = SUBCOMMANDS.get(words[1])
    if sub is not None and sub.actions:
        if len(words) == 2 or (len(words) == 3 and not ends_with_space):
            return [a.name for a in sub.actions]
        sub = next((a for a in sub.actions if a.name == words[2]), None)
    return option_flags(sub) if sub is not None else []


def _install_docs() -> None:
    """``%mlops?`` shows the reference, generated from the subcommands' declarations so it cannot drift.

    IPython's inspector asks an object's ``getdoc()`` before its ``__doc__``: the reference is built
    when someone asks for it, not at ``%load_ext`` (it builds every subcommand's parser).
    """
    setattr(MlopsMagics.mlops, "getdoc", reference)  # noqa: B010 (a function attribute mypy cannot see)


def load(shell: Any, session: Session) -> MlopsMagics:
    magics = MlopsMagics(shell, session)
    _install_docs()
    shell.register_magics(magics)
    for key in ("%mlops", "%%mlops"):
        try:
            shell.set_hook("complete_command", _complete, str_key=key)
        except Exception:  # completion is a convenience; never fail loading over it
            pass
    return magics

"""The statements a restore re-runs instead of storing what they bind: imports, and ``def``/``class``
statements whose decorators, defaults and bases run no code of note (no safe format holds a module or a
function, and re-running these costs nothing). A ``%%time`` cell is unwrapped: its body is the code.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from .scopes import binds, dotted

#: Cell magics that only time the code: their body is analysed (and replayed) as the cell's own.
TIMING_MAGICS = ("time", "timeit")


def timed_body(tree: ast.Module) -> str | None:
    """The body of a cell that is one timing cell magic (``get_ipython().run_cell_magic('time', '', BODY)``)."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr) or not isinstance(tree.body[0].value, ast.Call):
        return None
    call = tree.body[0].value
    args = [a.value if isinstance(a, ast.Constant) else None for a in call.args]
    if dotted(call.func) == "get_ipython.run_cell_magic" and len(args) == 3 and args[0] in TIMING_MAGICS \
            and isinstance(args[2], str):
        return args[2]
    return None


def _plain(expr: ast.AST | None) -> bool:
    """A decorator, default or base that is a name, an attribute or a constant: re-running it costs nothing."""
    return expr is None or all(isinstance(n, (ast.Name, ast.Attribute, ast.Constant, ast.Load, ast.Tuple, ast.UnaryOp,
                                              ast.USub, ast.keyword)) for n in ast.walk(expr))


def replayable(stmt: ast.stmt) -> bool:
    """An import, or a ``def``/``class`` whose decorators, defaults and bases run no code of note."""
    if isinstance(stmt, ast.Import):
        return True
    if isinstance(stmt, ast.ImportFrom):
        return all(a.name != "*" for a in stmt.names)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = stmt.args
        return all(_plain(e) for e in [*stmt.decorator_list, *args.defaults, *args.kw_defaults])
    if isinstance(stmt, ast.ClassDef):
        head = [*stmt.bases, *[k.value for k in stmt.keywords], *stmt.decorator_list]
        body_ok = all((replayable(s) and not isinstance(s, (ast.Import, ast.ImportFrom))) or isinstance(s, ast.Pass)
                      or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                      or (isinstance(s, (ast.Assign, ast.AnnAssign)) and _plain(s.value))
                      for s in stmt.body)
        return body_ok and all(_plain(e) for e in head)
    return False


def replayed_names(tree: ast.Module) -> set[str]:
    """Names bound by replayable top-level statements and by nothing else in the cell."""
    by_replay: set[str] = set()
    by_other: set[str] = set()
    for stmt in tree.body:
        names = binds(stmt) if replayable(stmt) else set()
        by_replay |= names
        if not names:
            by_other |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            by_other |= binds(stmt)
    return by_replay - by_other


def replay_module(tree: ast.Module, to_python: Callable[[str], str] | None = None) -> ast.Module:
    """The cell a restore runs instead of the stage's code: only its replayable definitions (those of a
    ``%%time`` cell's body, unwrapped: timing a restore tells nothing)."""
    inner = timed_body(tree)
    if inner is not None:
        try:
            tree = ast.parse(to_python(inner) if to_python else inner)
        except SyntaxError:
            return ast.Module(body=[], type_ignores=[])
    keep = replayed_names(tree)
    body = [s for s in tree.body if replayable(s) and binds(s) and binds(s) <= keep]
    return ast.Module(body=body, type_ignores=[])

"""A notebook's ``parameters`` cell read as typed specs, and typed values turned into ``mlops run`` arguments.

The cell is parsed, never executed: ``ast.parse`` finds ``name = literal``
assignments and ``ast.literal_eval`` reads only the value node. Comments come
from :mod:`tokenize`, so a ``# choices: a, b`` inside a string is not one.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shlex
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..tracking.stages import read_notebook_json
from ..tracking.values import check_param_name, is_param_name, parse_literal

KINDS: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}
_CHOICES = re.compile(r"#\s*choices\s*:\s*(?P<items>.+)$", re.IGNORECASE)
_MAGIC_PARAMS = re.compile(r"^\s*%mlops\s+params\s+(?P<args>.*)$")


@dataclass(frozen=True)
class ParamSpec:
    name: str
    value: Any
    kind: str  # int | float | bool | str
    choices: tuple[Any, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class ParametersCell:
    notebook: str
    cell_index: int | None
    specs: list[ParamSpec]
    skipped: list[str] = field(default_factory=list)  # "name: why" for assignments we cannot type


def _kind(value: Any) -> str | None:
    return KINDS.get(type(value))


def _typed_choice(raw: str, kind: str) -> Any:
    text = raw.strip()
    if kind == "str":
        return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text
    value = parse_literal(text)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(raw)
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(raw)


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def parse_parameters(source: str) -> tuple[list[ParamSpec], list[str]]:
    """Typed specs of ``name = literal`` lines (and ``%mlops params a=1`` lines); plus what was skipped."""
    lines = source.splitlines()
    specs: list[ParamSpec] = []
    skipped: list[str] = []
    for number, line in enumerate(lines, 1):  # the core's magic spelling of parameters
        match = _MAGIC_PARAMS.match(line)
        if match:
            try:
                items = shlex.split(match.group("args"), comments=True)
            except ValueError:
                items = []
            for item in items:
                name, sep, raw = item.partition("=")
                value = parse_literal(raw)
                if sep and is_param_name(name) and _kind(value):
                    specs.append(ParamSpec(name, value, _kind(value) or "str", line=number))
    python = "\n".join("" if re.match(r"^\s*[%!]", ln) else ln for ln in lines)  # keep line numbers
    try:
        tree = ast.parse(python)
    except SyntaxError as exc:
        raise InvalidInputError(f"the parameters cell is not valid Python (line {exc.lineno}): {exc.msg}") from None
    comments = _comments(python)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, node = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            name, node = stmt.target.id, stmt.value
        else:
            continue
        try:
            value = ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            skipped.append(f"{name}: not a literal value")
            continue
        kind = _kind(value)
        if kind is None:
            skipped.append(f"{name}: {type(value).__name__} values have no control")
            continue
        choices: tuple[Any, ...] = ()
        match = _CHOICES.search(comments.get(stmt.end_lineno or stmt.lineno, ""))
        if match:
            try:
                choices = tuple(_typed_choice(c, kind) for c in match.group("items").split(",") if c.strip())
            except ValueError as exc:
                skipped.append(f"{name}: choice {exc} is not a {kind}; shown as a free field")
        if choices and value not in choices:
            choices = (value, *choices)
        specs = [s for s in specs if s.name != name]
        specs.append(ParamSpec(name, value, kind, choices, stmt.lineno))
    return specs, skipped


def find_parameters_cell(nb: dict[str, Any]) -> tuple[int, str] | None:
    """(index, source) of the first code cell tagged ``parameters`` (papermill's convention)."""
    for index, cell in enumerate(nb.get("cells", [])):
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "code" and "parameters" in tags:
            src = cell.get("source", "")
            return index, "".join(src) if isinstance(src, list) else str(src)
    return None


def read_parameters(notebook: str | os.PathLike[str]) -> ParametersCell:
    nb = read_notebook_json(notebook)
    found = find_parameters_cell(nb)
    if found is None:
        return ParametersCell(str(notebook), None, [], ["no cell is tagged 'parameters'"])
    specs, skipped = parse_parameters(found[1])
    return ParametersCell(str(notebook), found[0], specs, skipped)


def resolve_notebook(explicit: str | None = None) -> str:
    """The notebook to read: ``--notebook``, else ``MLOPS_NOTEBOOK``, else ``JPY_SESSION_NAME``."""
    from ..store import find_project_dir  # lazy: %load_ext stays light

    raw = explicit or os.environ.get("MLOPS_NOTEBOOK") or os.environ.get("JPY_SESSION_NAME")
    if not raw:
        raise NotFoundError("which notebook? pass --notebook PATH (MLOPS_NOTEBOOK and JPY_SESSION_NAME are unset)")
    candidates = [Path(raw).expanduser()]
    project = find_project_dir(Path.cwd())
    if project is not None and not candidates[0].is_absolute():
        candidates.append(Path(project) / raw)
    for path in candidates:
        if path.is_file():
            return str(path)
    raise NotFoundError(f"no such notebook: {raw}")


# -- typed values to the runner's command line -----------------------------------------------------
def cli_value(value: Any) -> str:
    """Text that the runner's ``-p`` typing (``parse_literal``) reads back as the same typed value."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # "1.0", "1e-05", "nan", "inf": all read back as float
    if isinstance(value, str):
        return f'"{value}"'  # quoted, so "3" or "true" stays a string
    raise InvalidInputError(f"parameter value {value!r} is not an int, float, bool or str")


def run_args(notebook: str, params: dict[str, Any]) -> list[str]:
    """``run NOTEBOOK -p NAME VALUE ...``: the arguments after ``mlops``."""
    args = ["run", str(notebook)]
    for name, value in params.items():
        args += ["-p", check_param_name(name), cli_value(value)]
    return args

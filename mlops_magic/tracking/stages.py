"""Which cells are stages: ``%%mlops stage KIND`` first lines and ``mlops:KIND`` cell tags.

Both spellings mean the same stage everywhere: here, to the runner, the
widgets and the lab panel. This module is pure (no IPython, no store) so every
face can call it on a notebook file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from ..entities import STAGE_KINDS
from ..errors import InvalidInputError, NotFoundError
from .values import is_text

HEADER_RE = re.compile(r"^[ \t]*%%mlops[ \t]+stage(?:[ \t]+(?P<args>.*))?$")
TAG_PREFIX = "mlops:"
#: What a stage header accepts (its errors, ``%mlops?`` and the cell magic say it in these words).
STAGE_USAGE = "%%mlops stage KIND [--name NAME] [--cache] [--inputs GLOB ...] [--outputs PATH ...]"


@dataclass(frozen=True)
class StageSpec:
    kind: str
    name: str
    #: ``--cache``: restore the stage from the stage cache when nothing it depends on changed (docs/cache.md)
    cache: bool = False
    #: ``--inputs GLOB ...``: files the stage reads, fingerprinted into its cache key
    inputs: tuple[str, ...] = ()
    #: ``--outputs PATH ...``: files the stage writes, kept in its cache entry and written back on a restore
    outputs: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.kind if self.name == self.kind else f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class CellStage:
    """A stage cell found in a notebook file."""

    index: int
    cell_id: str | None
    kind: str
    name: str
    form: str  # "magic" | "tag"
    code_digest: str


def check_kind(kind: str) -> str:
    if kind not in STAGE_KINDS:
        raise InvalidInputError(f"unknown stage kind {_shown(kind)}; use one of: {', '.join(STAGE_KINDS)}")
    return kind


#: Characters of a stage header's arguments (after ``%%mlops stage``) that are read at most. A real one
#: (``train --name gbm-v2``) is tens of characters; a longer one is refused as an invalid header, so a
#: megabyte first line costs the kernel, the runner and the server no more than reading its length.
MAX_HEADER_ARGS = 4096

_BLANKS = " \t\r\n"  # shlex's whitespace: other characters (\v, no-break space) belong to a word


def split_args(args: str) -> list[str]:
    """``args`` split as ``shlex.split`` splits it (POSIX: quotes, backslash escapes, no comments), in
    one pass: shlex grows each token by string concatenation, quadratic in a long token."""
    tokens: list[str] = []
    token: list[str] = []
    in_token = False
    quote = ""
    i, n = 0, len(args)
    while i < n:
        c = args[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and (i + 1 >= n or args[i + 1] in '"\\'):
                if i + 1 >= n:
                    raise ValueError("No escaped character")
                i += 1
                token.append(args[i])
            else:
                token.append(c)
        elif c in _BLANKS:
            if in_token:
                tokens.append("".join(token))
                token, in_token = [], False
        elif c in "'\"":
            quote, in_token = c, True
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError("No escaped character")
            i += 1
            token.append(args[i])
            in_token = True
        else:
            token.append(c)
            in_token = True
        i += 1
    if quote:
        raise ValueError("No closing quotation")
    if in_token:
        tokens.append("".join(token))
    return tokens


def _shown(token: str) -> str:
    return repr(token if len(token) <= 60 else token[:60] + "…")


def parse_stage_args(args: str) -> StageSpec:
    """:data:`STAGE_USAGE` as written after ``%%mlops stage`` (at most :data:`MAX_HEADER_ARGS` characters),
    in one pass: ``--inputs`` and ``--outputs`` take the words after them up to the next ``--`` option
    (``--inputs=GLOB`` one), and may be repeated."""
    if len(args or "") > MAX_HEADER_ARGS:
        raise InvalidInputError(f"the %%mlops stage arguments are {len(args):,} characters long; at most "
                                f"{MAX_HEADER_ARGS:,} are read (usage: {STAGE_USAGE})")
    try:
        tokens = split_args(args or "")
    except ValueError as exc:
        raise InvalidInputError(f"cannot read stage arguments {_shown(args)}: {exc}") from None
    if not tokens:
        raise InvalidInputError(f"%%mlops stage needs a kind: one of {', '.join(STAGE_KINDS)}")
    kind, name, cache = tokens[0], None, False
    files: dict[str, list[str]] = {"--inputs": [], "--outputs": []}
    i = 1
    while i < len(tokens):
        token = tokens[i]
        flag, eq, value = token.partition("=")
        if token in ("--name", "-n") and i + 1 < len(tokens):
            name = tokens[i + 1]
            i += 1
        elif flag == "--name" and eq:
            name = value
        elif token == "--cache":
            cache = True
        elif token in files:
            start = i
            while i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                i += 1
                files[token].append(_file_arg(token, tokens[i]))
            if i == start:
                raise InvalidInputError(f"{token} needs a path or glob; usage: {STAGE_USAGE}")
        elif flag in files and eq:
            files[flag].append(_file_arg(flag, value))
        else:
            raise InvalidInputError(f"unexpected {_shown(token)} after the stage kind; usage: {STAGE_USAGE}")
        i += 1
    check_kind(kind)
    if name is not None and not name.strip():
        raise InvalidInputError("--name needs a non-empty value")
    if name is not None and not is_text(name):
        raise InvalidInputError(f"--name {_shown(name)} holds a lone surrogate; give a name of real characters")
    return StageSpec(kind=kind, name=name or kind, cache=cache, inputs=tuple(files["--inputs"]),
                     outputs=tuple(files["--outputs"]))


def _file_arg(flag: str, value: str) -> str:
    """A path or glob of ``--inputs``/``--outputs``: some real text."""
    if not value.strip():
        raise InvalidInputError(f"{flag} needs a non-empty path or glob")
    if not is_text(value):
        raise InvalidInputError(f"{flag} {_shown(value)} holds a lone surrogate; give a path of real characters")
    return value


def split_header(source: str) -> tuple[str | None, str]:
    """(header arguments or None, body) of a cell; the body keeps its line numbers' meaning."""
    first, _, rest = source.partition("\n")
    match = HEADER_RE.match(first.rstrip("\r"))
    if not match:
        return None, source
    return match.group("args") or "", rest


def spec_from_tags(tags: Any) -> StageSpec | None:
    """``mlops:train`` or ``mlops:train:gbm`` among a cell's tags."""
    for tag in tags or ():
        if isinstance(tag, str) and tag.startswith(TAG_PREFIX):
            parts = tag[len(TAG_PREFIX):].split(":", 1)
            if parts[0] in STAGE_KINDS:
                return StageSpec(kind=parts[0], name=parts[1] if len(parts) > 1 and parts[1] else parts[0])
    return None


def stage_of_cell(source: str, tags: Any = ()) -> StageSpec | None:
    """The stage a cell declares, by its first line or its tags (the first line wins)."""
    args, _ = split_header(source)
    if args is not None:
        return parse_stage_args(args)
    return spec_from_tags(tags)


def code_digest(source: str) -> str:
    """Digest of a stage's body: the header line excluded, line endings and trailing blanks normalised."""
    _, body = split_header(source)
    lines = [line.rstrip() for line in body.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    # surrogatepass: a cell may hold a lone surrogate (a JSON "\ud800" from a client); valid text is
    # encoded exactly as before, so no digest of a stored stage changes.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def combined_digest(digests: list[str]) -> str:
    """The code digest of a stage spread over several cells: one cell keeps its own digest; several
    combine order-independently (running them in another order is not a code change)."""
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("+".join(sorted(digests)).encode("ascii")).hexdigest()[:32]


def _cell_source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def read_notebook_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise NotFoundError(f"no such notebook: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path} is not a valid notebook (not JSON: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise InvalidInputError(f"{path} is not a valid notebook (no 'cells' list)")
    return data


@dataclass(frozen=True)
class InvalidStageCell:
    """A cell that tries to be a stage and cannot (``%%mlops stage trian``): shown, never fatal to a view."""

    index: int
    cell_id: str | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"cell_index": self.index, "cell_id": self.cell_id, "error": self.error}


def scan_stages(notebook: str | os.PathLike[str] | dict[str, Any]) -> tuple[list[CellStage], list[InvalidStageCell]]:
    """Every stage cell of a notebook in cell order, and the cells whose stage header or tag is wrong.

    Views (the lab's lifecycle, badges) show a bad cell beside the good ones; the runner refuses the
    notebook through :func:`notebook_stages` instead.
    """
    nb = notebook if isinstance(notebook, dict) else read_notebook_json(notebook)
    found, invalid = [], []
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = _cell_source(cell)
        try:
            spec = stage_of_cell(source, (cell.get("metadata") or {}).get("tags"))
        except InvalidInputError as exc:
            cell_id = cell.get("id")
            invalid.append(InvalidStageCell(index, cell_id if isinstance(cell_id, str) else None, str(exc)))
            continue
        if spec is None:
            continue
        form = "magic" if split_header(source)[0] is not None else "tag"
        found.append(CellStage(index=index, cell_id=cell.get("id"), kind=spec.kind, name=spec.name,
                               form=form, code_digest=code_digest(source)))
    return found, invalid


def notebook_stages(notebook: str | os.PathLike[str] | dict[str, Any]) -> list[CellStage]:
    """Every stage cell of a notebook, in cell order; a bad stage header raises with the cell named."""
    found, invalid = scan_stages(notebook)
    if invalid:
        raise InvalidInputError(f"cell {invalid[0].index}: {invalid[0].error}")
    return found


class TagLookup:
    """Cell id → tags of a notebook file, re-read only when the file changes.

    Lets a kernel recognise tag-form stages: Jupyter sends the cell id with
    each execution, and the notebook on disk holds the tags.
    """

    def __init__(self) -> None:
        self._path: str | None = None
        self._mtime: float = -1.0
        self._tags: dict[str, list[str]] = {}

    def tags_for(self, path: str | None, cell_id: str | None) -> list[str]:
        if not path or not cell_id:
            return []
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return []
        if path != self._path or mtime != self._mtime:
            try:
                nb = read_notebook_json(path)
            except Exception:
                return []
            self._tags = {c.get("id"): list((c.get("metadata") or {}).get("tags") or [])
                          for c in nb.get("cells", []) if c.get("id")}
            self._path, self._mtime = path, mtime
        return self._tags.get(cell_id, [])


class CellCursor:
    """Finds the notebook cell a kernel is executing from its source, for clients that send no cell
    id (nbclient, so plain ``papermill``): cells run in file order, so the next code cell at or after
    the last match with exactly this source is the one. A source found nowhere (papermill's injected
    parameters cell) matches nothing and leaves the cursor where it was.
    """

    def __init__(self, path: str) -> None:
        try:
            nb = read_notebook_json(path)
        except Exception:
            nb = {"cells": []}
        self._cells = [(i, c) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"]
        self._next = 0

    def match(self, source: str) -> tuple[int, str, list[str]] | None:
        """(index in the file, the cell's id or ``cell-INDEX``, its tags) of the cell now running."""
        for pos in range(self._next, len(self._cells)):
            index, cell = self._cells[pos]
            if _cell_source(cell) == source:
                self._next = pos + 1
                tags = list((cell.get("metadata") or {}).get("tags") or [])
                return index, str(cell.get("id") or f"cell-{index}"), tags
        return None

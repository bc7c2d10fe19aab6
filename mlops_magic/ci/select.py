"""Which notebooks a pull request changed in a way that can change a result, and which of their stages.

Notebooks are compared by code, not by bytes: each stage's code digest (``tracking.stages``: the
header excluded, line endings and trailing blanks normalised, several cells of one stage combined),
the ``parameters`` cell's and the setup cells' (code that is no stage: imports, helpers). So a
notebook whose markdown, outputs, execution counts or whitespace changed runs nothing, while a new
default in the parameters cell does. A notebook whose code is the same is still run when a file it
read as an input (``%mlops fingerprint data/x.csv --role input``, recorded with its last run) changed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..tracking.stages import code_digest, combined_digest, scan_stages
from .git import FileChange

#: Where executed copies and the store live: notebooks there are never a pull request's own.
IGNORED_PARTS = (".mlops", ".ipynb_checkpoints")


@dataclass(frozen=True)
class NotebookCode:
    """The code of one notebook, as digests: per stage (notebook order), its parameters cell, its setup."""

    stages: dict[str, str]
    kinds: dict[str, str]
    parameters: str | None
    setup: str | None


@dataclass
class NotebookChange:
    """What changed in one notebook between the base and the head, in words the report can use."""

    path: str  # relative to the repository root
    status: str  # added | modified | renamed | deleted | inputs (only its inputs changed)
    old_path: str | None = None
    stages: list[str] = field(default_factory=list)  # stages whose code changed, in notebook order
    added_stages: list[str] = field(default_factory=list)
    removed_stages: list[str] = field(default_factory=list)
    parameters: bool = False
    setup: bool = False
    inputs: list[str] = field(default_factory=list)  # changed files the notebook read as inputs
    kinds: dict[str, str] = field(default_factory=dict)

    @property
    def runs(self) -> bool:
        return self.status != "deleted" and bool(
            self.status == "added" or self.stages or self.added_stages or self.removed_stages or self.parameters
            or self.setup or self.inputs)

    def reasons(self) -> list[str]:
        """'the code of train', 'the parameters cell', 'input data/train.csv', … ('new notebook')."""
        if self.status == "added":
            return ["new notebook"]
        if self.status == "deleted":
            return ["notebook removed"]
        out = []
        if self.stages:
            out.append("the code of " + ", ".join(self.stages))
        if self.added_stages:
            out.append("stages added: " + ", ".join(self.added_stages))
        if self.removed_stages:
            out.append("stages removed: " + ", ".join(self.removed_stages))
        if self.parameters:
            out.append("the parameters cell")
        if self.setup:
            out.append("setup code (cells outside any stage)")
        out += [f"input {path}" for path in self.inputs]
        return out or ["no code change"]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "old_path": self.old_path, "stages": self.stages,
                "added_stages": self.added_stages, "removed_stages": self.removed_stages,
                "parameters": self.parameters, "setup": self.setup, "inputs": self.inputs, "runs": self.runs,
                "reasons": self.reasons()}


def notebook_code(nb: dict[str, Any]) -> NotebookCode:
    """Digests of a notebook's code; a cell whose stage header does not parse counts as setup code."""
    found, _invalid = scan_stages(nb)
    stage_at = {s.index: s for s in found}
    per_stage: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    params: list[str] = []
    setup: list[str] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        stage = stage_at.get(index)
        if stage is not None:
            per_stage.setdefault(stage.name, []).append(stage.code_digest)
            kinds.setdefault(stage.name, stage.kind)
            continue
        source = cell.get("source", "")
        digest = code_digest("".join(source) if isinstance(source, list) else str(source))
        tags = (cell.get("metadata") or {}).get("tags") or []
        (params if "parameters" in tags else setup).append(digest)
    return NotebookCode(stages={n: combined_digest(d) for n, d in per_stage.items()}, kinds=kinds,
                        parameters=_joined(params), setup=_joined(setup))


def _joined(digests: list[str]) -> str | None:
    """Cells outside stages run in order, so their order counts (unlike a stage's cells)."""
    if not digests:
        return None
    return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()[:32]


def compare_code(change: NotebookChange, old: NotebookCode | None, new: NotebookCode) -> NotebookChange:
    """Fill ``change`` with what differs between the base's code (None: a new notebook) and the head's."""
    change.kinds = dict(new.kinds)
    if old is None:
        return change
    change.stages = [n for n, d in new.stages.items() if n in old.stages and old.stages[n] != d]
    change.added_stages = [n for n in new.stages if n not in old.stages]
    change.removed_stages = [n for n in old.stages if n not in new.stages]
    change.parameters = old.parameters != new.parameters
    change.setup = old.setup != new.setup
    return change


def matches(path: str, patterns: Sequence[str]) -> bool:
    """A notebook path (relative to the repository) against ``--notebooks`` globs (fnmatch: ``*``
    crosses folders); never a copy under ``.mlops/`` or ``.ipynb_checkpoints/``."""
    if not path.endswith(".ipynb") or any(part in IGNORED_PARTS for part in path.split("/")):
        return False
    return not patterns or any(fnmatch.fnmatchcase(path, p) for p in patterns)


def read_json(data: bytes | None, label: str) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        nb = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{label} is not a valid notebook (not JSON: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidInputError(f"{label} is not a valid notebook (no 'cells' list)")
    return nb


def input_changed(inputs: Sequence[str], changed: set[str]) -> list[str]:
    """The changed files among a notebook's recorded inputs (paths or globs, relative to the repository)."""
    hits = [p for pattern in inputs for p in sorted(changed) if p == pattern or fnmatch.fnmatchcase(p, pattern)]
    return list(dict.fromkeys(hits))


def select(changes: Sequence[FileChange], patterns: Sequence[str], *, base_file: Callable[[str], bytes | None],
           head_file: Callable[[str], bytes | None], all_notebooks: Sequence[str],
           inputs_of: Callable[[str], list[str]]) -> list[NotebookChange]:
    """Every notebook the pull request touched or whose inputs it changed, with what changed in each.

    ``base_file``/``head_file`` read a path at the base and in the working tree; ``inputs_of`` gives the
    files a notebook's last recorded run read as inputs (paths or globs relative to the repository).
    """
    out: list[NotebookChange] = []
    touched: set[str] = set()
    for fc in changes:
        if not matches(fc.path, patterns):
            continue
        touched.add(fc.path)
        if fc.status == "deleted":
            out.append(NotebookChange(fc.path, "deleted"))
            continue
        head = read_json(head_file(fc.path), fc.path)
        base = read_json(base_file(fc.old_path or fc.path), fc.old_path or fc.path) if fc.status != "added" else None
        change = NotebookChange(fc.path, "added" if base is None else fc.status, fc.old_path)
        out.append(compare_code(change, notebook_code(base) if base is not None else None,
                                notebook_code(head or {"cells": []})))
    changed_files = {fc.path for fc in changes}
    for path in all_notebooks if changed_files - touched else ():  # only a changed file can be an input
        if path in touched or not matches(path, patterns):
            continue
        hits = input_changed(inputs_of(path), changed_files)
        if hits:
            head = read_json(head_file(path), path) or {"cells": []}
            change = NotebookChange(path, "inputs", inputs=hits)
            change.kinds = notebook_code(head).kinds
            out.append(change)
    for change in out:  # an edited notebook whose inputs changed too
        if change.status not in ("inputs", "deleted", "added"):
            change.inputs = input_changed(inputs_of(change.path), changed_files)
    return sorted(out, key=lambda c: c.path)

"""The notebook kept with a run (artifact ``executed.ipynb``), read as stage cells.

Headless runs keep the executed notebook; its cells are matched to stages by their
``%%mlops stage`` header or ``mlops:KIND`` tag, exactly as the runner and the kernel do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..cache.observer import CACHE_LINE
from ..errors import InvalidInputError, NotFoundError
from ..store import Store
from ..tracking.stages import split_header, stage_of_cell

KEPT_NOTEBOOK = "executed.ipynb"


@dataclass
class StageCell:
    """One stage cell of a kept notebook: its code (header excluded), its outputs, the markdown above it."""

    kind: str
    name: str
    index: int
    body: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)


def source_of(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def kept_notebook(store: Store, run_id: str) -> dict[str, Any] | None:
    """The executed notebook a headless run kept, or None (interactive runs keep none)."""
    try:
        artifact = store.get_artifact(run_id, KEPT_NOTEBOOK)
    except NotFoundError:
        return None
    try:
        with store.artifacts.open(artifact.digest) as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except (NotFoundError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("cells"), list) else None


def stage_cells(nb: dict[str, Any] | None) -> dict[str, StageCell]:
    """Stage name → its cell (the last cell declaring that name wins, as its latest attempt does)."""
    out: dict[str, StageCell] = {}
    markdown: list[str] = []
    for index, cell in enumerate((nb or {}).get("cells", [])):
        source = source_of(cell)
        if cell.get("cell_type") == "markdown":
            markdown.append(source)
            continue
        if cell.get("cell_type") != "code":
            continue
        try:
            spec = stage_of_cell(source, (cell.get("metadata") or {}).get("tags"))
        except InvalidInputError:
            spec = None
        if spec is not None:
            out[spec.name] = StageCell(kind=spec.kind, name=spec.name, index=index, body=split_header(source)[1],
                                       outputs=list(cell.get("outputs") or []), markdown=markdown)
        markdown = []
    return out


def text_outputs(cell: StageCell) -> str:
    """The text a cell printed or displayed (streams, text/plain results, error lines), joined; the stage
    cache's own lines (``data: cached from run …``) are left out."""
    parts: list[str] = []
    for out in cell.outputs:
        kind = out.get("output_type")
        if kind == "stream":
            lines = _text(out.get("text")).splitlines(keepends=True)
            parts.append("".join(line for line in lines if not CACHE_LINE.match(line)))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") or {}
            if "text/plain" in data and not any(m.startswith("image/") for m in data):  # not "<Figure …>"
                parts.append(_text(data["text/plain"]))
        elif kind == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "\n".join(p.rstrip("\n") for p in parts if p)


def image_outputs(cell: StageCell) -> list[str]:
    """The images a cell displayed, as their base64 text (compared, never decoded)."""
    images = []
    for out in cell.outputs:
        for mime, value in (out.get("data") or {}).items():
            if mime.startswith("image/"):
                images.append(_text(value))
    return images


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")

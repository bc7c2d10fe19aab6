"""Run reports: a self-contained HTML page per run, an index across runs, and Markdown summaries.

``write_run_report()`` and ``write_index()`` are the core the CLI
(``mlops report``) and the runner share.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..entities import ACTIVE_STATUSES
from .data import executed_notebook, index_data, run_data
from .html import index_html, run_html
from .markdown import index_markdown, run_markdown


def run_report(store: Any, ref: str, fmt: str = "html", *, include_notebook: bool = True) -> str:
    data = run_data(store, ref)
    if fmt == "markdown":
        return run_markdown(data)
    if include_notebook:
        data["executed_notebook"] = executed_notebook(store, data["executed_digest"])
    return run_html(data, include_notebook=include_notebook)


def default_report_path(store: Any, run_id: str) -> Path:
    return Path(store.work_dir) / "runs" / run_id / "report.html"


def write_run_report(store: Any, ref: str, path: str | os.PathLike[str] | None = None) -> Path:
    run_id = store.resolve_run_id(ref)
    target = Path(path) if path else default_report_path(store, run_id)
    _write(target, run_report(store, run_id))
    return target


def index_report(store: Any, fmt: str = "html", limit: int = 500) -> str:
    data = index_data(store, limit)
    if fmt == "markdown":
        return index_markdown(data)

    return index_html(data)


def write_index(store: Any, folder: str | os.PathLike[str], *, limit: int = 500, run_pages: int = 100) -> Path:
    """``folder/index.html`` plus ``folder/runs/<id>.html`` for the newest ``run_pages`` runs.

    A finished run never changes, so its page is written once and reused.
    """

    root = Path(folder)
    data = index_data(store, limit)
    newest = sorted((r for runs in data["notebooks"].values() for r in runs), key=lambda r: -r["ts"])[:run_pages]
    pages = set()
    for r in newest:
        page = root / "runs" / f"{r['id']}.html"
        if not page.exists() or r["status"] in ACTIVE_STATUSES:
            _write(page, run_report(store, r["id"]))
        pages.add(r["id"])
    target = root / "index.html"
    _write(target, index_html(data, link=lambda run_id: f"runs/{run_id}.html" if run_id in pages else None))
    return target


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = ["index_report", "run_report", "write_index", "write_run_report"]

"""``mlops reproduce RUN``: re-execute a run as recorded and say whether its results came back.

The code is the notebook kept with the run (``executed.ipynb``, its injected parameters cell
removed), the parameters are those the run was started with, the stage selection its tags; the
new run's parent is the original and its trigger ``reproduce``. Before running, the recorded
file and glob inputs are fingerprinted again: a changed input refuses the run (one line naming
each) unless ``allow_changed_inputs``. After, the metrics are compared within ``tolerance``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..display.html import fmt_number
from ..entities import Fingerprint, Run
from ..errors import ConflictError, InvalidInputError, NotFoundError
from ..runner import RunRequest, run_notebooks
from ..runner.execute import runs_dir
from ..runner.prepare import new_run_id
from ..store import Store
from ..store import autolog as autolog_table
from ..tracking.environment import environment
from ..tracking.fingerprint import fingerprint_path
from ..tracking.queries import cached_from, notebook_file
from .diff import RunDiff, describe_data_change, diff_runs, environment_diff
from .notebooks import kept_notebook
from .render import describe_environment


@dataclass
class InputCheck:
    name: str
    path: str
    status: str  # same | changed | missing | not-a-file
    detail: str = ""

    def line(self) -> str:
        if self.status == "changed":
            return f"input `{self.path}` changed ({self.detail})"
        if self.status == "missing":
            return f"input `{self.path}` is missing ({self.detail})"
        return f"input `{self.path}` {self.status}"


@dataclass
class ReproduceResult:
    original: str
    run_id: str | None
    status: str | None
    verdict: str  # reproduced | differs
    tolerance: float
    environment: list[str] = field(default_factory=list)
    inputs: list[InputCheck] = field(default_factory=list)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    diff: RunDiff | None = None
    cached: list[str] = field(default_factory=list)  # the original's stages the stage cache restored

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == "reproduced" else 1

    def summary(self) -> str:
        """The last line: the verdict first."""
        new = (self.run_id or "?")[:8]
        if self.verdict == "reproduced":
            return (f"reproduced: run {new} matches run {self.original[:8]} "
                    f"({len(self.metrics)} metric{'s' if len(self.metrics) != 1 else ''} within {self.tolerance:g})")
        return f"differs: run {new} vs run {self.original[:8]}: " + "; ".join(self.reasons)

    def lines(self) -> list[str]:
        out = []
        if self.environment:
            out.append("environment differs from the original: " + "; ".join(self.environment))
        out += [c.line() for c in self.inputs if c.status != "same"]
        out += self.cached
        if self.diff is not None and self.verdict == "differs":
            out.append(self.diff.text())
        out.append(self.summary())
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"original": self.original, "run_id": self.run_id, "status": self.status, "verdict": self.verdict,
                "tolerance": self.tolerance, "environment": self.environment,
                "inputs": [c.__dict__ for c in self.inputs], "metrics": self.metrics, "reasons": self.reasons,
                "diff": self.diff.to_dict() if self.diff else None}

    def __repr__(self) -> str:
        return "\n".join(self.lines())


def run_folder(store: Store, run: Run) -> Path:
    """Where the run executed: its notebook's folder (the runner's default working directory)."""

    file = notebook_file(store, run.notebook)
    if file is not None and file.parent.is_dir():
        return file.parent
    return Path(store.project_dir or ".").resolve()


def recorded_path(fp: Fingerprint) -> str | None:
    """The path or glob a file fingerprint was taken of (older stores: its name, when it looks like one)."""
    if fp.kind not in ("file", "files"):
        return None
    return str((fp.schema or {}).get("path") or fp.name or "") or None


def check_inputs(store: Store, run: Run) -> list[InputCheck]:
    """Fingerprint every recorded file or glob input of ``run`` again, from the run's folder."""

    base = run_folder(store, run)
    checks: list[InputCheck] = []
    seen: set[str] = set()
    for fp in store.list_fingerprints(run.id):
        path = recorded_path(fp)
        if fp.role != "input" or path is None or path in seen:
            continue
        seen.add(path)
        try:
            now = fingerprint_path(path, name=fp.name, base=base)
        except NotFoundError as exc:
            checks.append(InputCheck(fp.name or path, path, "missing", str(exc)))
            continue
        if now.digest == fp.digest:
            checks.append(InputCheck(fp.name or path, path, "same"))
        else:
            checks.append(InputCheck(fp.name or path, path, "changed", describe_data_change(fp, now)))
    return checks


def prepare_source(store: Store, run: Run) -> Path:
    """The run's kept notebook, cleaned to re-execute: no injected parameters, no outputs."""
    nb = kept_notebook(store, run.id)
    if nb is None:
        raise NotFoundError(f"run {run.id[:8]} kept no notebook to re-execute (only headless `mlops run` runs "
                            "keep one); run the notebook again with `mlops run`")
    cells = []
    for cell in nb["cells"]:
        meta = dict(cell.get("metadata") or {})
        if "injected-parameters" in (meta.get("tags") or []):
            continue
        meta.pop("papermill", None)
        meta.pop("execution", None)
        cell = {**cell, "metadata": meta}
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    metadata = {k: v for k, v in (nb.get("metadata") or {}).items() if k != "papermill"}

    folder = runs_dir(store) / run.id
    folder.mkdir(parents=True, exist_ok=True)

    path = folder / f"reproduce-{new_run_id()[:8]}.ipynb"  # two reproductions at once never share a file
    path.write_text(json.dumps({**nb, "cells": cells, "metadata": metadata}, indent=1), encoding="utf-8")
    return path


def compare_metrics(a: dict[str, float], b: dict[str, float], tolerance: float) -> dict[str, dict[str, Any]]:
    out = {}
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if va is None or vb is None:
            within = False
        elif math.isnan(va) or math.isnan(vb):
            within = math.isnan(va) and math.isnan(vb)
        else:
            within = va == vb or abs(vb - va) <= tolerance
        delta = vb - va if va is not None and vb is not None else None
        out[key] = {"a": va, "b": vb, "delta": delta, "within": within}
    return out


def reproduce(store: Store, ref: str, *, tolerance: float = 1e-6, allow_changed_inputs: bool = False,
              say: Any = None) -> ReproduceResult:
    """Re-execute run ``ref`` through the runner and compare; ``say(line)`` hears the up-front notes."""

    if not (tolerance >= 0):
        raise InvalidInputError(f"--tolerance must be a number >= 0, got {tolerance}")
    run = store.get_run(ref)
    if kept_notebook(store, run.id) is None:
        prepare_source(store, run)  # raises the one-line error: nothing to re-execute
    env = describe_environment(environment_diff(run.environment, environment())) if run.environment else []
    inputs = check_inputs(store, run)
    changed = [c for c in inputs if c.status != "same"]
    if changed and not allow_changed_inputs:
        raise ConflictError(f"cannot reproduce run {run.id[:8]}: " + "; ".join(c.line() for c in changed)
                            + "; pass --allow-changed-inputs to run it on today's data")
    if say is not None:
        if env:
            say("environment differs from the original: " + "; ".join(env))
        for c in changed:
            say(f"warning: {c.line()}; running anyway")
    source = prepare_source(store, run)
    tags = run.tags
    request = RunRequest(
        notebook=str(source), params=store.run_requested_params(run.id),
        stages=tuple(s for s in (tags.get("mlops.stages") or "").split(",") if s),
        from_stage=tags.get("mlops.from_stage") or None, trigger="reproduce", store_url=store.url,
        cwd=str(run_folder(store, run)), parent_run_id=run.id, name=f"reproduce {run.id[:8]}",
        record_as=run.notebook, cache=False)
    result = run_notebooks([request], store=store)[0]
    metrics = store.latest_metrics([run.id, result.run_id])
    timing = autolog_table.timing_metrics(store.db, [run.id, result.run_id])  # durations never reproduce
    checks = compare_metrics({k: v for k, v in metrics[run.id].items() if k not in timing},
                             {k: v for k, v in metrics[result.run_id].items() if k not in timing}, tolerance)
    reasons = []
    if result.status != run.status:
        reasons.append(f"status {run.status} → {result.status}" + (f" ({result.error})" if result.error else ""))
    for key, m in checks.items():
        if not m["within"]:
            if m["a"] is None or m["b"] is None:
                reasons.append(f"{key} only in {'the original' if m['b'] is None else 'the new run'}")
            else:
                reasons.append(f"{key} {fmt_number(m['a'], 6)} → {fmt_number(m['b'], 6)} "
                               f"({fmt_number(m['delta'], 3, sign=True)}, tolerance {tolerance:g})")
    diff = diff_runs(store, run.id, result.run_id)
    names = {s.id: s.name for s in store.list_stages(run.id)}
    cached = [f"stage {names.get(sid, sid)} of run {run.id[:8]} was restored from the cache of run "
              f"{source['run_id'][:8]}; the reproduction computed it (the stage cache is off for reproductions)"
              for sid, source in cached_from(store, run_ids=[run.id]).items()]
    return ReproduceResult(cached=cached, original=run.id, run_id=result.run_id, status=result.status,
                           verdict="differs" if reasons else "reproduced", tolerance=tolerance, environment=env,
                           inputs=inputs, metrics=checks, reasons=reasons, diff=diff)

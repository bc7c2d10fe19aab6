"""The base's result for a notebook a pull request changed, and whether it ran on the same inputs.

A baseline is a recorded run of the notebook made from the base's code: at the base commit itself
(with a clean work tree), or at an earlier commit of the base's history whose notebook code is the
base's (headless runs record the digest of every code cell they ran, tag ``mlops.inputs``), since main
rarely has a run at exactly the commit a branch grew from. A branch's own runs never count. Among
those, the newest run with the head's requested parameters and the head's data inputs wins; failing
that the newest one, reported with what differs. Without any, ``--rerun-base`` runs the base's
notebook in a ``git worktree`` of the base commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..entities import ACTIVE_STATUSES, Fingerprint, Run, RunStatus, Trigger
from ..explain.diff import data_label, describe_data_change
from ..runner.execute import INPUTS_TAG
from ..runner.prepare import signature_parts
from ..store import Store

#: Run tags of runs made by ``mlops ci`` (no migration: tags are free key/values).
ROLE_TAG = "ci.role"  # head | base
BRANCH_TAG = "ci.branch"
BASE_TAG = "ci.base"  # the base commit (merge base of --base and HEAD)
BASE_REF_TAG = "ci.base_ref"  # --base as given
HEAD_TAG = "ci.head"  # the head commit
PARTIAL_TAGS = ("mlops.stages", "mlops.from_stage")  # a run of some stages only is nobody's baseline
SCAN_LIMIT = 200  # recorded runs of one notebook looked at, newest first


@dataclass
class Baseline:
    """The run a head run is compared with, how it was found, and whether its inputs were the head's."""

    run: Run | None = None
    how: str = ""  # recorded at the base commit | recorded with the base's code | run again at the base
    note: str = ""  # why there is none
    input_changes: list[str] = field(default_factory=list)
    param_changes: list[str] = field(default_factory=list)

    @property
    def same_inputs(self) -> bool:
        return not (self.input_changes or self.param_changes)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run.id if self.run else None, "how": self.how, "note": self.note,
                "input_changes": self.input_changes, "param_changes": self.param_changes,
                "same_inputs": self.same_inputs}


def base_code(nb: dict[str, Any]) -> list[Any]:
    """The code list a headless run of this notebook records (``mlops.inputs``'s ``code``)."""
    return signature_parts(nb, {}, (), base=Path("."))["code"]  # no watched files: base is not read


def recorded_code(run: Run) -> list[Any] | None:
    try:
        return json.loads(run.tags.get(INPUTS_TAG) or "null")["code"]
    except (ValueError, TypeError, KeyError):
        return None


def candidates(store: Store, recorded: str, base_commit: str, code: list[Any] | None,
               in_base_history: Callable[[str], bool]) -> list[tuple[Run, str]]:
    """Finished, whole runs of the notebook made from the base's code, newest first, with how each matched.

    A run at another commit counts when that commit is in the base's history (``in_base_history``) and
    its notebook code was the base's: a branch's own runs (another pull request's, this one's) never do.
    """
    found = []
    for run in store.list_runs(notebook=recorded, limit=SCAN_LIMIT):
        if run.notebook != recorded and not (run.notebook or "").endswith("/" + recorded):
            continue  # the store's filter also matches a longer path ending in this one
        if run.status in ACTIVE_STATUSES or run.status == RunStatus.SKIPPED or any(t in run.tags for t in PARTIAL_TAGS):
            continue
        if run.trigger == Trigger.INTERACTIVE:
            continue  # a kernel session ran what its user chose, in their order: not the notebook top to bottom
        if run.code_version == base_commit and run.git_dirty is False:
            found.append((run, "recorded at the base commit"))
        elif code is not None and run.code_version and recorded_code(run) == code \
                and in_base_history(run.code_version):
            found.append((run, "recorded with the base's code"))
    return found


def data_inputs(store: Store, run_id: str) -> dict[str, Fingerprint]:
    """The run's inputs from outside it (label → fingerprint): an input another stage of the run made
    (the deploy stage's ``X`` from the data stage) is an effect, not an input."""
    fps = store.list_fingerprints(run_id)
    made = {fp.digest for fp in fps if fp.role == "output"}
    return {data_label(fp): fp for fp in fps if fp.role == "input" and fp.digest not in made}


def input_changes(store: Store, base_id: str, head_id: str) -> list[str]:
    """'input `data/train.csv` changed: 200 → 260 rows, same columns', one per input that differs."""
    a, b = data_inputs(store, base_id), data_inputs(store, head_id)
    out = []
    for label in sorted(set(a) | set(b)):
        x, y = a.get(label), b.get(label)
        if x is not None and y is not None:
            if x.digest != y.digest:
                out.append(f"input `{label}` changed: {describe_data_change(x, y)}")
        elif x is None:
            out.append(f"input `{label}` read only by the head")
        else:
            out.append(f"input `{label}` read only by the base")
    return out


def param_changes(store: Store, base_id: str, params: dict[str, Any]) -> list[str]:
    """The ``-p`` parameters the head was given that the base run was not (or with other values)."""
    before = store.run_requested_params(base_id)
    names = sorted(set(before) | set(params))
    return [f"parameter {k}: {before.get(k)!r} → {params.get(k)!r}" for k in names if before.get(k) != params.get(k)
            or (k in before) != (k in params)]


def choose(store: Store, found: list[tuple[Run, str]], head_id: str, params: dict[str, Any]) -> Baseline:
    """The newest candidate with the head's parameters and inputs, else the newest, saying what differs."""
    first: Baseline | None = None
    for run, how in found:
        option = Baseline(run=run, how=how, input_changes=input_changes(store, run.id, head_id),
                          param_changes=param_changes(store, run.id, params))
        if option.same_inputs:
            return option
        first = first or option
    return first or Baseline(note="no baseline")

"""Retention (``mlops gc``): remove old runs with everything that is theirs, then the artifact bytes no
remaining row references.

A run goes when it ended, started before the rule's cut-off, and is not among the ``keep_last`` newest
of its notebook; never when a model version names it (an alias points at a version), when it is a
schedule's newest run, or when it is marked keep (tag ``mlops.keep``). Each table's owner module
deletes its own rows (``params.delete_of_runs`` …); this module only decides and orchestrates them, one
transaction per batch of runs, in the order the foreign keys need (a run's rows, then the run).

Safe while others write: the runs it removes ended long ago, and each batch reads their status and
protections again inside its own transaction. The artifact sweep removes only objects that no
``artifacts`` row, no model version and no stage-cache entry names (the cache evicts its own), *and*
that were last written more than ``grace`` before the sweep started; a writer puts an object before it
inserts the row naming it, and a writer that re-uses an object older than
:data:`~.artifact_files.REFRESH_AFTER` writes it again first, so nothing written or re-used after gc
started is ever removed (``grace`` must exceed REFRESH_AFTER plus the time between a put and its row,
seconds in practice).

``dry_run`` runs the same deletes and rolls each batch back, so the counts it prints are exactly what
a real run would remove at that moment.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInputError
from . import artifacts, autolog, cache, events, fingerprints, metrics, params, registry, runs, stages
from .artifact_files import REFRESH_AFTER
from .columns import chunks
from .db import Reader, Transaction
from .facade import Store

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_UNIT = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str, what: str = "duration", hint: str = "") -> float:
    """``90d``, ``6h``, ``30m``, ``2w`` → seconds (a served-traffic window is one of these too)."""
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise InvalidInputError(f"{what} {text!r}: write a length such as 30m, 6h, 1d or 1w{hint}")
    return float(match.group(1)) * _UNIT[match.group(2)]

#: Tables besides ``artifacts`` that name artifact digests, each read by its owner: the sweep keeps every
#: digest they name. A feature that stores bytes through ``store.artifacts`` and names them in a table of
#: its own adds its reader here, or the sweep removes its bytes.
DIGEST_REFERENCES: tuple[Callable[[Reader], set[str]], ...] = (
    lambda q: registry.version_references(q)[1],
    cache.digests,
)
#: The grace period's floor: shorter, and an object re-used just before REFRESH_AFTER could go.
MIN_GRACE = 2 * REFRESH_AFTER


@dataclass(frozen=True)
class RetentionRule:
    older_than: float  # seconds: runs that started longer ago than this may go
    keep_last: int = 1  # the newest runs of each notebook always stay
    grace: float = 6 * 3600  # seconds: objects written more recently than this before gc started stay
    batch: int = 500  # runs per transaction


@dataclass
class GcReport:
    dry_run: bool
    runs: list[str] = field(default_factory=list)  # removed (or, dry, that would be)
    kept: dict[str, int] = field(default_factory=dict)  # old runs kept, by reason
    rows: Counter[str] = field(default_factory=Counter)  # rows removed by table
    work_bytes: int = 0  # working copies (input/output notebooks, logs) removed
    objects: int = 0  # artifact objects removed
    object_bytes: int = 0
    stale_uploads: int = 0
    seconds: float = 0.0

    @property
    def bytes_freed(self) -> int:
        return self.object_bytes + self.work_bytes


class _RolledBack(Exception):
    """Ends a dry run's batch: the transaction rolls back, the counts come out."""

    def __init__(self, counts: Counter[str], removed: list[str]) -> None:
        super().__init__("dry run")
        self.counts, self.removed = counts, removed


def collect(store: Store, rule: RetentionRule, *, dry_run: bool = False, now: float | None = None) -> GcReport:
    """Apply ``rule`` to ``store`` (see the module's docstring); what was (or would be) removed."""
    started = time.time() if now is None else now
    clock = time.monotonic()
    report = GcReport(dry_run=dry_run)
    db = store.db
    candidates = runs.expired(db, started_before=started - rule.older_than, keep_last=rule.keep_last)
    protected = {"a model version names it": registry.version_references(db)[0],
                 "a schedule's newest run": runs.last_of_schedules(db),
                 "marked keep": params.kept_runs(db)}
    doomed = []
    for run_id in candidates:
        reason = next((why for why, ids in protected.items() if run_id in ids), None)
        if reason is None:
            doomed.append(run_id)
        else:
            report.kept[reason] = report.kept.get(reason, 0) + 1
    for batch in chunks(doomed, max(1, rule.batch)):
        try:
            counts, removed = db.run_in_transaction(functools.partial(_remove, batch=batch, dry_run=dry_run))
        except _RolledBack as done:
            counts, removed = done.counts, done.removed
        report.rows.update(counts)
        report.runs.extend(removed)
    report.work_bytes = _working_copies(store.work_dir / "runs", report.runs, dry_run)
    _sweep(store, report, started - rule.grace, dry_run)
    if not dry_run:
        report.stale_uploads = len(store.artifacts.clean_stale_uploads(started))
    report.seconds = time.monotonic() - clock
    return report


def _remove(tx: Transaction, batch: list[str], dry_run: bool) -> tuple[Counter[str], list[str]]:
    """One batch, in one transaction: the runs still ended and unprotected, with every row naming them."""
    versions = registry.version_references(tx)[0]
    keep = params.kept_runs(tx)
    ids = [r for r in runs.still_expired(tx, batch) if r not in versions and r not in keep]
    counts: Counter[str] = Counter()
    if ids:
        counts.update({
            "metrics": metrics.delete_of_runs(tx, ids),
            "params and tags": params.delete_of_runs(tx, ids),
            "artifacts": artifacts.delete_of_runs(tx, ids),
            "fingerprints": fingerprints.delete_of_runs(tx, ids),
            "stages": stages.delete_of_runs(tx, ids),
            "events": events.delete_of_runs(tx, ids),
            "autologged": autolog.delete_of_runs(tx, ids),
            "gate results": registry.delete_gate_results_of_runs(tx, ids),
            "cache restores": cache.delete_restores_of_runs(tx, ids),
        })
        counts["runs"] = runs.delete(tx, ids)
    if dry_run:
        raise _RolledBack(counts, ids)
    return counts, ids


def _working_copies(folder: Path, run_ids: list[str], dry_run: bool) -> int:
    """Bytes of the removed runs' working folders on this machine (each worker keeps its own)."""
    freed = 0
    for run_id in run_ids:
        path = folder / run_id
        if not path.is_dir():
            continue
        for root, _, files in os.walk(path):
            for name in files:
                try:
                    freed += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    continue
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return freed


def _referenced(q: Reader, except_runs: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Every digest a row names (leaving out the artifacts rows of ``except_runs``)."""
    found = artifacts.digests(q, except_runs=except_runs)
    for reader in DIGEST_REFERENCES:
        found |= reader(q)
    return found


def _sweep(store: Store, report: GcReport, written_before: float, dry_run: bool) -> None:
    """Remove the objects nothing names that were last written before ``written_before``."""
    # a dry run's removed runs still have their rows: leave those out by hand
    referenced = _referenced(store.db, set(report.runs) if dry_run else frozenset())
    orphans = [o for o in store.artifacts.objects() if o.digest not in referenced and o.modified < written_before]
    if not dry_run and orphans:
        named_now = _referenced(store.db)  # rows inserted while the objects were listed
        orphans = [o for o in orphans if o.digest not in named_now]
        removed = store.artifacts.delete([o.digest for o in orphans], written_before=written_before)
        if removed < len(orphans):  # some were written again meanwhile: count what went (listed again)
            present = {o.digest for o in store.artifacts.objects()}
            orphans = [o for o in orphans if o.digest not in present]
    report.objects = len(orphans)
    report.object_bytes = sum(o.size for o in orphans)

"""The Store facade: what every domain is handed, speaking entities instead of rows.

Each method opens the transaction it needs and calls the module that owns the table (``runs``,
``params``, ``stages``, ``metrics``, ``fingerprints``, ``artifacts``, ``events``, ``orphans``). Domains
that make decisions spanning tables (the registry's next version, the scheduler's claim) call those
modules directly inside their own transaction over :attr:`Store.db`. No SQL is written here, and none
outside this package.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..entities import (
    ACTIVE_STATUSES,
    Artifact,
    Fingerprint,
    Metric,
    Run,
    RunStatus,
    StageRun,
    StageStatus,
    VariableInfo,
)
from ..errors import NotFoundError
from . import artifacts, events, fingerprints, notebooks, orphans, runs, stages
from . import params as params_table
from .artifact_files import ArtifactStore
from .columns import check_name
from .db import Database, Row, Transaction
from .location import redact_url
from .metrics import MetricLog
from .processes import current_user


class Store:
    """One project's store: a :class:`Database` plus an :class:`ArtifactStore`."""

    def __init__(self, db: Database, files: ArtifactStore, project_dir: Path | None = None, *,
                 url: str | None = None, work_dir: Path | None = None) -> None:
        self.db = db
        self.artifacts = files
        self.project_dir = project_dir
        self._url = url
        #: The local folder whose ``runs/`` keeps headless runs' working copies (see StoreLocation.work_dir).
        self.work_dir = Path(work_dir) if work_dir is not None else Path(getattr(files, "root", ".")).parent
        self._metrics = MetricLog(db)

    @property
    def url(self) -> str:
        """The URL that reopens this store with the same artifacts (a PostgreSQL one keeps its password: show
        display_url)."""
        return self._url or self.db.url

    @property
    def display_url(self) -> str:
        """:attr:`url` fit to show people: any password replaced by ``***``."""
        return redact_url(self.url)

    def ping(self) -> None:
        """Raise unless the database answers: a worker's check before it starts."""
        self.db.query_one("SELECT 1")

    def close(self) -> None:
        self.db.close()

    # -- runs ---------------------------------------------------------------------------------------
    def create_run(self, *, notebook: str | None = None, trigger: str = "manual", name: str | None = None,
                   params: Mapping[str, Any] | None = None, code_version: str | None = None,
                   git_dirty: bool | None = None, environment: Mapping[str, Any] | None = None,
                   parent_run_id: str | None = None, schedule_id: str | None = None,
                   status: str = RunStatus.RUNNING, run_id: str | None = None, error: str | None = None,
                   pid: int | None = None, executor: str | None = None, waiting: str | None = None) -> Run:
        status = runs.check_status(status)
        run_id = run_id or uuid.uuid4().hex[:16]
        now, host = time.time(), socket.gethostname()
        values = {
            "id": run_id, "notebook": notebook, "name": name, "trigger": trigger, "status": status,
            "started": now, "ended": None if status in ACTIVE_STATUSES else now,
            "code_version": code_version, "git_dirty": None if git_dirty is None else int(git_dirty),
            "environment": environment, "parent_run_id": parent_run_id, "schedule_id": schedule_id,
            "error": error, "host": host, "pid": pid or os.getpid(), "run_params": dict(params or {}),
            "executor": executor, "waiting": waiting, "submitted_by": f"{host}:{os.getpid()}",
            "username": current_user(),
        }

        def write(tx: Transaction) -> None:
            runs.insert(tx, values)
            params_table.insert_params(tx, run_id, dict(params or {}))

        self.db.run_in_transaction(write)
        return self.get_run(run_id)

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> Run:
        """End a run as ``status`` (whatever it was: its own process is closing it)."""
        ending = runs.check_status(status, ending=True)
        self.db.run_in_transaction(lambda tx: runs.transition(tx, run_id, to=ending, error=error))
        return self.get_run(run_id)

    def reap_orphans(self) -> int:
        """End runs whose process on this host is gone as ``killed`` (see :mod:`.orphans`); how many."""
        return orphans.reap(self.db)

    def resolve_run_id(self, ref: str) -> str:
        """A full id, or a unique prefix of one (as git accepts short hashes)."""
        return runs.resolve_id(self.db, ref)

    def get_run(self, ref: str) -> Run:
        return runs.get(self.db, ref)

    def list_runs(self, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
                  schedule_id: str | None = None, user: str | None = None, limit: int | None = None,
                  offset: int = 0) -> list[Run]:
        """Runs newest first, each with its params and tags. Reading never reaps: see :meth:`reap_orphans`."""
        return runs.listing(self.db, notebook=notebook, status=status, trigger=trigger, schedule_id=schedule_id,
                            user=user, limit=limit, offset=offset)

    def run_table(self, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
                  user: str | None = None, limit: int | None = None,
                  ) -> tuple[list[Row], dict[str, dict[str, Any]], dict[str, dict[str, float]]]:
        """Runs (summary columns only), their params and latest metrics: the fast path behind tables."""
        rows = runs.summary_rows(self.db, notebook=notebook, status=status, trigger=trigger, user=user, limit=limit)
        ids = [r[0] for r in rows]
        every = limit is None and not (notebook or status or trigger or user)  # all the runs: scans, no IN lists
        return rows, params_table.params_of(self.db, ids, every_run=every), self.latest_metrics(ids, every_run=every)

    def change_marker(self) -> str | None:
        """A value that differs whenever anything was committed to the store since it was last read
        (see :meth:`Database.change_marker`); None when the backend cannot tell."""
        return self.db.change_marker()

    def count_runs(self, *, notebook: str | None = None, status: str | None = None,
                   trigger: str | None = None, user: str | None = None) -> int:
        return runs.count(self.db, notebook=notebook, status=status, trigger=trigger, user=user)

    def run_requested_params(self, run_id: str) -> dict[str, Any]:
        """The parameters a run was started with (headless ``-p``), as opposed to ones logged later."""
        return runs.requested_params(self.db, run_id)

    def current_notebook_name(self, name: str, *, since: float) -> str:
        """``name`` after the renames logged since ``since`` (see :mod:`.notebooks`)."""
        return notebooks.current_name(self.db, name, since=since)

    # -- tags and params ----------------------------------------------------------------------------
    def get_tag(self, run_id: str, key: str) -> str | None:
        return params_table.tag(self.db, run_id, key)

    def latest_tagged_run(self, notebook: str, key: str, *, status: RunStatus) -> tuple[str, str] | None:
        """(run id, tag value) of the notebook's newest run in ``status`` that carries tag ``key``."""
        return runs.latest_tagged(self.db, notebook, key, status=status)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.db.run_in_transaction(lambda tx: params_table.upsert_tags(tx, run_id, tags))

    def log_params(self, run_id: str, values: Mapping[str, Any], stage_id: int | None = None) -> None:
        self.db.run_in_transaction(lambda tx: params_table.upsert_params(tx, run_id, values, stage_id))

    # -- metrics ------------------------------------------------------------------------------------
    def log_metric(self, run_id: str, key: str, value: Any, step: int = 0, timestamp: float | None = None,
                   stage_id: int | None = None) -> None:
        self._metrics.log_metric(run_id, key, value, step, timestamp, stage_id)

    def log_metrics(self, run_id: str, rows: Iterable[tuple[str, Any, int]], timestamp: float | None = None,
                    stage_id: int | None = None) -> int:
        """Batch insert of (key, value, step) rows in one transaction; all or nothing."""
        return self._metrics.log_metrics(run_id, rows, timestamp, stage_id)

    def latest_metrics(self, run_ids: Sequence[str], *, every_run: bool = False) -> dict[str, dict[str, float]]:
        """The last logged value of every metric of each run (``every_run``: the ids are all the runs)."""
        return self._metrics.latest_values(run_ids, every_run=every_run)

    def metric_history(self, run_id: str, key: str | None = None) -> list[Metric]:
        return self._metrics.history(run_id, key)

    def last_step(self, run_id: str, key: str) -> int | None:
        return self._metrics.last_step(run_id, key)

    # -- stages -------------------------------------------------------------------------------------
    def start_stage(self, run_id: str, kind: str, name: str | None = None, code_digest: str | None = None,
                    notes: str | None = None) -> StageRun:
        return self.db.run_in_transaction(lambda tx: stages.insert(tx, run_id, kind, name, code_digest, notes))

    def resume_stage(self, stage_id: int, code_digest: str | None) -> StageRun:
        """Reopen a stage run that continues in another cell (same stage, same execution)."""
        self.db.run_in_transaction(lambda tx: stages.resume(tx, stage_id, code_digest))
        return self.get_stage(stage_id)

    def finish_stage(self, stage_id: int, status: StageStatus | str, *, error_type: str | None = None,
                     error_message: str | None = None, error_line: int | None = None,
                     variables: Sequence[VariableInfo] = ()) -> None:
        stages.finish(self.db, stage_id, StageStatus(status), error_type=error_type, error_message=error_message,
                      error_line=error_line, variables=variables)

    def get_stage(self, stage_id: int) -> StageRun:
        return stages.get(self.db, stage_id)

    def list_stages(self, run_id: str) -> list[StageRun]:
        """Every attempt of every stage of a run, in the order they started."""
        return stages.of_run(self.db, run_id)

    # -- artifacts ----------------------------------------------------------------------------------
    def log_artifact(self, run_id: str, path: str | os.PathLike[str], name: str | None = None,
                     stage_id: int | None = None) -> Artifact:
        source = Path(path)
        name = check_name("artifact name", name or source.name)
        digest, size = self.artifacts.put_file(source)
        self.db.run_in_transaction(lambda tx: artifacts.upsert(tx, run_id, name, digest, size, stage_id))
        return self.get_artifact(run_id, name)

    def log_artifact_bytes(self, run_id: str, name: str, data: bytes, stage_id: int | None = None) -> Artifact:
        name = check_name("artifact name", name)
        digest, size = self.artifacts.put_bytes(data)
        self.db.run_in_transaction(lambda tx: artifacts.upsert(tx, run_id, name, digest, size, stage_id))
        return self.get_artifact(run_id, name)

    def name_artifact(self, run_id: str, name: str, digest: str, size: int, stage_id: int | None = None) -> Artifact:
        """Give a run an artifact whose bytes the store already holds (a restored stage re-using its source
        stage's files): a row, no upload. Wherever the bytes live, nothing is read from a path."""
        name = check_name("artifact name", name)
        if not self.artifacts.exists(digest):
            raise NotFoundError(f"artifact {digest[:12]} is missing from {self.artifacts.url}")
        self.db.run_in_transaction(lambda tx: artifacts.upsert(tx, run_id, name, digest, size, stage_id))
        return self.get_artifact(run_id, name)

    def get_artifact(self, run_id: str, name: str) -> Artifact:
        found = artifacts.rows(self.db, self.artifacts, run_id, name)
        if not found:
            raise NotFoundError(f"run {run_id[:8]} has no artifact {name!r}")
        return found[0]

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        return artifacts.rows(self.db, self.artifacts, run_id)

    # -- fingerprints and lineage (mlops_magic.explain) ---------------------------------------------
    def log_fingerprint(self, run_id: str, fp: Fingerprint, *, stage_id: int | None = None) -> None:
        self.db.run_in_transaction(lambda tx: fingerprints.insert(tx, run_id, fp, stage_id=stage_id))

    def fingerprint_uses(self, digests: Sequence[str]) -> list[dict[str, Any]]:
        """Every stage that read or wrote data with one of these digests, oldest first (lineage by content)."""
        return fingerprints.uses(self.db, digests)

    def fingerprint_digests(self, prefix: str) -> list[str]:
        """The distinct recorded data digests starting with ``prefix`` (hex), at most 2: a unique prefix or not."""
        return fingerprints.digests(self.db, prefix)

    def list_fingerprints(self, run_id: str) -> list[Fingerprint]:
        return fingerprints.of_run(self.db, run_id)

    def fingerprints_of_runs(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every fingerprint of these runs with its stage's name and kind, oldest first."""
        return fingerprints.of_runs(self.db, run_ids)

    def run_summaries(self, run_ids: Sequence[str] = (), *, parents: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Summary rows of these runs and of every run whose parent is one of ``parents``; oldest first."""
        return runs.summaries(self.db, run_ids, parents=parents)

    def params_with_stages(self, run_id: str) -> dict[str, tuple[Any, int | None]]:
        """Every parameter of a run with the stage that logged it last (None: the run's own)."""
        return params_table.params_with_stages(self.db, run_id)

    def latest_metrics_with_stages(self, run_id: str) -> dict[str, tuple[float, int | None]]:
        """The last value of every metric of a run, with the stage that logged it."""
        return {key: found for (_, key), found in self._metrics.latest([run_id]).items()}

    # -- events -------------------------------------------------------------------------------------
    def emit_event(self, kind: str, *, subject: str | None = None, run_id: str | None = None,
                   payload: Mapping[str, Any] | None = None) -> int:
        """Append an event (drift found, run finished, …) that schedulers and panels can follow."""
        return self.db.run_in_transaction(
            lambda tx: events.insert(tx, kind, subject=subject, run_id=run_id, payload=payload))

    def list_events(self, kind: str | None = None, *, after_id: int = 0, subject: str | None = None,
                    limit: int = 1000) -> list[dict[str, Any]]:
        return events.after(self.db, after_id, kind=kind, subject=subject, limit=limit)

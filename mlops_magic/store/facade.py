"""The runs tables: runs, stage runs, params, metrics, artifacts, fingerprints, tags; and the Store facade.

:class:`Store` is what every domain is handed: these tables through its methods (which speak
entities, not rows), the other domains' tables through their own modules beside this one
(``registry``, ``scheduling``, ``monitoring``, ``events``) over :attr:`Store.db`, and the files
through :attr:`Store.artifacts`. No SQL is written outside this package.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import socket
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..entities import (
    ACTIVE_STATUSES,
    RUN_STATUSES,
    STAGE_KINDS,
    TRIGGERS,
    Artifact,
    Fingerprint,
    Metric,
    Run,
    RunStatus,
    StageRun,
    VariableInfo,
    utc_from_ts,
)
from ..errors import InvalidInputError, NotFoundError
from . import events, notebooks
from .artifacts import ArtifactStore
from .db import Database, Transaction
from .processes import pid_alive

MAX_NAME = 250  # keys and names longer than this are refused with a clear message
_CONTROL = re.compile(r"[\x00-\x1f]")
_RUN_COLUMNS = (
    "id, notebook, name, trigger, status, started, ended, code_version, git_dirty, environment, "
    "parent_run_id, schedule_id, error, host, pid, run_params, executor, worker, waiting, submitted_by"
)


_INSERT_POINT = "INSERT INTO metric_points (series_id, step, value, is_nan, timestamp, stage_id) VALUES (?,?,?,?,?,?)"
_INSERT_PACKED = ("INSERT INTO metric_points (series_id, step, value, is_nan, timestamp, stage_id, packed) "
                  "VALUES (?,?,?,?,?,?,?)")
#: A batch of at least this many values is stored as one packed row: inserting a row per value into the
#: ``(series_id, step)`` index costs a place per series, which made 1,000 values 1.6 ms of SQLite alone.
PACK_MIN = 100
#: The series under which a run's packed batches are kept; user keys cannot hold control characters.
BATCH_KEY = "\x1fbatch"


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, allow_nan=True)


def _loads(text: str | None, default: Any = None) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return text


_checked_names: set[str] = set()  # metric keys repeat; validating each once keeps batches fast


def check_name(kind: str, name: str) -> str:
    """Keys are any non-empty unicode up to MAX_NAME characters, without control characters."""
    if name in _checked_names:
        return name
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{kind} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"{kind} is {len(name)} characters long; the limit is {MAX_NAME}")
    if _CONTROL.search(name):
        raise InvalidInputError(f"{kind} {name[:40]!r} contains control characters")
    if len(_checked_names) < 100_000:
        _checked_names.add(name)
    return name


def as_metric_value(key: str, value: Any) -> float:
    """Numbers only; NaN and ±inf are numbers and are kept."""
    if type(value) is float or type(value) is int:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            import numpy as np  # only reached for non-builtin values

            if isinstance(value, np.generic) and np.issubdtype(type(value), np.number):
                return float(value)
        except ImportError:  # pragma: no cover
            pass
        raise InvalidInputError(f"metric {key!r} must be a number, got {type(value).__name__} {value!r:.60}")
    return float(value)


class Store:
    """One project's store: a :class:`Database` plus an :class:`ArtifactStore`."""

    def __init__(self, db: Database, artifacts: ArtifactStore, project_dir: Path | None = None) -> None:
        self.db = db
        self.artifacts = artifacts
        self.project_dir = project_dir
        self._series: dict[tuple[str, str], int] = {}  # (run id, metric key) -> committed series id

    @property
    def url(self) -> str:
        """The URL that reopens this store (a PostgreSQL one keeps its password: show display_url)."""
        return self.db.url

    @property
    def display_url(self) -> str:
        """:attr:`url` fit to show people: any password replaced by ``***``."""
        return self.db.display_url

    def ping(self) -> None:
        """Raise (the backend's own error) unless the database answers: a worker's check before it starts."""
        self.db.query_one("SELECT 1")

    def close(self) -> None:
        self.db.close()

    # -- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        *,
        notebook: str | None = None,
        trigger: str = "manual",
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        code_version: str | None = None,
        git_dirty: bool | None = None,
        environment: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        schedule_id: str | None = None,
        status: str = "running",
        run_id: str | None = None,
        error: str | None = None,
        pid: int | None = None,
        executor: str | None = None,
        waiting: str | None = None,
    ) -> Run:
        if trigger not in TRIGGERS:
            raise InvalidInputError(f"unknown trigger {trigger!r}; use one of {', '.join(TRIGGERS)}")
        if status not in RUN_STATUSES:
            raise InvalidInputError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
        run_id = run_id or uuid.uuid4().hex[:16]
        now = time.time()
        params = dict(params or {})
        ended = None if status in ACTIVE_STATUSES else now
        submitted_by = f"{socket.gethostname()}:{os.getpid()}"

        def write(tx: Transaction) -> None:
            tx.execute(
                f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, notebook, name, trigger, status, now, ended, code_version,
                 None if git_dirty is None else int(git_dirty), _dumps(dict(environment or {})),
                 parent_run_id, schedule_id, error, socket.gethostname(), pid or os.getpid(),
                 _dumps(params), executor, None, waiting, submitted_by),
            )
            if params:
                tx.executemany(
                    "INSERT INTO params (run_id, key, value, stage_id) VALUES (?,?,?,NULL)",
                    [(run_id, check_name("parameter name", k), _dumps(v)) for k, v in params.items()],
                )

        self.db.run_in_transaction(write)
        return self.get_run(run_id)

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> Run:
        if status not in RUN_STATUSES or status in ACTIVE_STATUSES:
            raise InvalidInputError(f"a run cannot finish as {status!r}")
        self.db.write(
            "UPDATE runs SET status = ?, ended = ?, error = COALESCE(?, error) WHERE id = ?",
            (status, time.time(), error, run_id),
        )
        return self.get_run(run_id)

    def current_notebook_name(self, name: str, *, since: float) -> str:
        """``name`` after the renames logged since ``since`` (see :mod:`.notebooks`)."""
        return notebooks.current_name(self.db, name, since=since)

    def resolve_run_id(self, ref: str) -> str:
        """A full id, or a unique prefix of one (as git accepts short hashes)."""
        ref = (ref or "").strip()
        if not ref:
            raise InvalidInputError("a run id is required")
        if ref in ("latest", "last"):
            row = self.db.query_one("SELECT id FROM runs ORDER BY started DESC LIMIT 1")
            if row is None:
                raise NotFoundError("the store has no runs yet")
            return row[0]
        rows = self.db.query("SELECT id FROM runs WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                             (ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",))
        if not rows:
            raise NotFoundError(f"no run {ref!r}; list runs with `mlops runs`")
        if len(rows) > 1:
            raise InvalidInputError(f"run id {ref!r} is ambiguous; give more characters")
        return rows[0][0]

    def get_run(self, ref: str) -> Run:
        run_id = self.resolve_run_id(ref)
        row = self.db.query_one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        assert row is not None
        tags = {r[0]: r[1] for r in self.db.query("SELECT key, value FROM tags WHERE run_id = ?", (run_id,))}
        params = {r[0]: _loads(r[1]) for r in self.db.query(
            "SELECT key, value FROM params WHERE run_id = ?", (run_id,))}
        return self._run_from_row(row, params, tags)

    @staticmethod
    def _run_from_row(row: Any, params: dict[str, Any], tags: dict[str, str]) -> Run:
        return Run(
            id=row["id"], notebook=row["notebook"], name=row["name"], trigger=row["trigger"],
            status=row["status"], started=utc_from_ts(row["started"]),  # type: ignore[arg-type]
            ended=utc_from_ts(row["ended"]), params=params, tags=tags,
            code_version=row["code_version"],
            git_dirty=None if row["git_dirty"] is None else bool(row["git_dirty"]),
            environment=_loads(row["environment"], {}), parent_run_id=row["parent_run_id"],
            schedule_id=row["schedule_id"], error=row["error"], host=row["host"], pid=row["pid"],
            executor=row["executor"], worker=row["worker"], waiting=row["waiting"],
        )

    def run_requested_params(self, run_id: str) -> dict[str, Any]:
        """The parameters a run was started with (headless ``-p``), as opposed to ones logged later."""
        row = self.db.query_one("SELECT run_params FROM runs WHERE id = ?", (run_id,))
        return _loads(row[0], {}) if row else {}

    def _run_filters(self, notebook: str | None, status: str | None, trigger: str | None,
                     schedule_id: str | None = None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for column, values in filter_values(status, trigger).items():
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if notebook:
            clauses.append("(notebook = ? OR notebook LIKE ? ESCAPE '\\')")
            args.extend([notebook, "%/" + notebook.replace("%", "\\%").replace("_", "\\_")])
        if schedule_id:
            clauses.append("schedule_id = ?")
            args.append(schedule_id)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def list_runs(self, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
                  schedule_id: str | None = None, limit: int | None = None, offset: int = 0) -> list[Run]:
        """Runs newest first, each with its params and tags."""
        self.reap_orphans()
        where, args = self._run_filters(notebook, status, trigger, schedule_id)
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self.db.query(f"SELECT {_RUN_COLUMNS} FROM runs{where} ORDER BY started DESC, id{page}", args)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        params: dict[str, dict[str, Any]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", chunk):
                params[r[0]][r[1]] = _loads(r[2])
            for r in self.db.query(f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})", chunk):
                tags[r[0]][r[1]] = r[2]
        return [self._run_from_row(r, params[r["id"]], tags[r["id"]]) for r in rows]

    def run_table(self, *, notebook: str | None = None, status: str | None = None, trigger: str | None = None,
                  limit: int | None = None) -> tuple[list[Any], dict[str, dict[str, Any]], dict[str, dict[str, float]]]:
        """Runs (summary columns only), their params and latest metrics: the fast path behind tables."""
        self.reap_orphans()
        where, args = self._run_filters(notebook, status, trigger)
        page = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self.db.query(
            "SELECT id, notebook, name, status, trigger, started, ended, parent_run_id, code_version "
            f"FROM runs{where} ORDER BY started DESC, id{page}", args)
        ids = [r[0] for r in rows]
        params: dict[str, dict[str, Any]] = {i: {} for i in ids}
        for chunk in _chunks(ids, 900):
            marks = ",".join("?" * len(chunk))
            for r in self.db.query(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", chunk):
                params[r[0]][r[1]] = _loads(r[2])
        return rows, params, self.latest_metrics(ids)

    def count_runs(self, *, notebook: str | None = None, status: str | None = None,
                   trigger: str | None = None) -> int:
        where, args = self._run_filters(notebook, status, trigger)
        row = self.db.query_one(f"SELECT COUNT(*) FROM runs{where}", args)
        return int(row[0]) if row else 0

    def latest_metrics(self, run_ids: Sequence[str]) -> dict[str, dict[str, float]]:
        """The last logged value of every metric of each run."""
        out: dict[str, dict[str, float]] = {i: {} for i in run_ids}
        for (run_id, key), (value, _) in self._latest(run_ids).items():
            out[run_id][key] = value
        return out

    def _latest(self, run_ids: Sequence[str]) -> dict[tuple[str, str], tuple[float, int | None]]:
        """(run, key) -> (value, stage_id) of the last logged value, over single points and packed batches."""
        best: dict[tuple[str, str], tuple[tuple[int, int], float, int | None]] = {}
        for chunk in _chunks(list(run_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                "SELECT s.run_id, s.key, p.value, p.is_nan, p.stage_id, p.id FROM metric_points p "
                "JOIN metric_series s ON s.id = p.series_id JOIN ("
                " SELECT series_id, MAX(id) AS id FROM metric_points WHERE packed IS NULL AND series_id IN "
                f"  (SELECT id FROM metric_series WHERE run_id IN ({marks})) GROUP BY series_id"
                ") last ON last.id = p.id", chunk)
            for r in rows:
                best[(r[0], r[1])] = ((int(r[5]), 0), math.nan if r[3] else r[2], r[4])
        for run_id, key, value, _step, _ts, stage_id, order in self._packed_points(run_ids):
            seen = best.get((run_id, key))
            if seen is None or order > seen[0]:
                best[(run_id, key)] = (order, value, stage_id)
        return {k: (v[1], v[2]) for k, v in best.items()}

    def reap_orphans(self) -> int:
        """Runs whose process on this host no longer exists become 'killed'.

        A local run: its own process. A cluster run (one with a worker) is the submitting executor's to
        reconcile while that process lives; once both the worker process and the submitter are gone (both
        on this host), it is killed here, naming the worker. A queued run whose submitter on this host
        exited before any worker started it is killed too: nothing will ever start it.
        """
        host = socket.gethostname()
        rows = self.db.query(
            "SELECT id, status, pid, host, worker, submitted_by FROM runs WHERE status IN ('queued', 'running') "
            "AND (host = ? OR submitted_by LIKE ? ESCAPE '\\')",
            (host, host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"))
        dead: list[tuple[str, str, str]] = []
        for run_id, status, pid, run_host, worker, submitted_by in rows:
            sub_host, _, sub_pid = (submitted_by or "").rpartition(":")
            submitter_gone = sub_host == host and sub_pid.isdigit() and not pid_alive(int(sub_pid))
            if status == "queued":
                if submitter_gone:
                    dead.append((run_id, status, f"the process that submitted it (pid {sub_pid}) exited "
                                                 "before a worker started it"))
            elif run_host == host and pid and not pid_alive(int(pid)):
                if not worker:
                    dead.append((run_id, status, "the process running it exited without closing the run"))
                elif submitter_gone or not submitted_by:
                    dead.append((run_id, status, f"worker {worker} (pid {pid}) died mid-run"))
        for run_id, status, reason in dead:
            self.db.write(
                "UPDATE runs SET status = 'killed', ended = ?, error = COALESCE(error, ?) "
                "WHERE id = ? AND status = ?", (time.time(), reason, run_id, status))
            self.db.write("UPDATE stage_runs SET status = 'failed', ended = ?, error_type = 'Killed', "
                          "error_message = 'the process exited mid-stage' WHERE run_id = ? AND status = 'running'",
                          (time.time(), run_id))
        return len(dead)

    # -- tags and params ----------------------------------------------------------------------
    def get_tag(self, run_id: str, key: str) -> str | None:
        row = self.db.query_one("SELECT value FROM tags WHERE run_id = ? AND key = ?", (run_id, key))
        return row[0] if row else None

    def latest_tagged_run(self, notebook: str, key: str, *, status: str) -> tuple[str, str] | None:
        """(run id, tag value) of the notebook's newest run in ``status`` that carries tag ``key``."""
        row = self.db.query_one(
            "SELECT r.id, t.value FROM runs r JOIN tags t ON t.run_id = r.id AND t.key = ? "
            "WHERE r.notebook = ? AND r.status = ? ORDER BY r.started DESC LIMIT 1", (key, notebook, status))
        return (row[0], row[1]) if row else None

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        rows = [(run_id, check_name("tag name", k), str(v)) for k, v in tags.items()]
        self.db.run_in_transaction(lambda tx: tx.executemany(
            "INSERT INTO tags (run_id, key, value) VALUES (?,?,?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", rows))

    def log_params(self, run_id: str, params: Mapping[str, Any], stage_id: int | None = None) -> None:
        rows = [(run_id, check_name("parameter name", k), _dumps(v), stage_id) for k, v in params.items()]
        self.db.run_in_transaction(lambda tx: tx.executemany(
            "INSERT INTO params (run_id, key, value, stage_id) VALUES (?,?,?,?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, stage_id = excluded.stage_id", rows))

    # -- metrics ------------------------------------------------------------------------------
    # A metric is a series (run, key) of points (step, value). Points carry the series' integer id, so a
    # batch is one insert of numbers; the series ids of a run are cached per store once committed.
    def log_metric(self, run_id: str, key: str, value: Any, step: int = 0, timestamp: float | None = None,
                   stage_id: int | None = None) -> None:
        number = value if type(value) is float else as_metric_value(key, value)
        series = self._series.get((run_id, key))
        if series is None:
            self.log_metrics(run_id, [(key, number, step)], timestamp, stage_id)
            return
        nan = number != number
        self.db.write(_INSERT_POINT, (series, int(step), None if nan else number, int(nan), timestamp or time.time(),
                                      stage_id))

    def log_metrics(self, run_id: str, rows: Iterable[tuple[str, Any, int]], timestamp: float | None = None,
                    stage_id: int | None = None) -> int:
        """Batch insert of (key, value, step) rows in one transaction; all or nothing."""
        ts = timestamp or time.time()
        checked: list[tuple[str, float, int]] = []
        for key, value, step in rows:  # every row is checked before anything is written
            checked.append((check_name("metric name", key),
                            value if type(value) is float else as_metric_value(key, value), int(step)))
        if not checked:
            return 0
        keys = {key for key, _, _ in checked}
        packed = len(checked) >= PACK_MIN

        def write(tx: Transaction) -> dict[str, int]:
            ids = self._series_ids(tx, run_id, keys | {BATCH_KEY} if packed else keys)
            if packed:
                body = json.dumps({"s": [ids[k] for k, _, _ in checked], "t": [t for _, _, t in checked],
                                   "v": [n for _, n, _ in checked]}, separators=(",", ":"))
                tx.execute(_INSERT_PACKED, (ids[BATCH_KEY], max(t for _, _, t in checked), None, 0, ts, stage_id,
                                            body))
            else:
                tx.executemany(_INSERT_POINT, [(ids[k], step, None if n != n else n, int(n != n), ts, stage_id)
                                               for k, n, step in checked])
            return ids

        ids = self.db.run_in_transaction(write)
        if len(self._series) > 100_000:
            self._series.clear()
        self._series.update({(run_id, k): i for k, i in ids.items()})  # only what committed
        return len(checked)

    def _series_ids(self, tx: Transaction, run_id: str, keys: set[str]) -> dict[str, int]:
        ids = {k: self._series[(run_id, k)] for k in keys if (run_id, k) in self._series}
        missing = sorted(keys - ids.keys())
        if missing:
            tx.executemany("INSERT INTO metric_series (run_id, key) VALUES (?, ?) ON CONFLICT (run_id, key) DO NOTHING",
                           [(run_id, k) for k in missing])
            for chunk in _chunks(missing, 500):
                rows = tx.query(f"SELECT key, id FROM metric_series WHERE run_id = ? AND key IN "
                                f"({','.join('?' * len(chunk))})", [run_id, *chunk])
                ids.update({r[0]: int(r[1]) for r in rows})
        return ids

    def _packed_points(self, run_ids: Sequence[str], key: str | None = None) -> list[tuple[Any, ...]]:
        """The values of these runs' packed batches as (run_id, key, value, step, timestamp, stage_id, order),
        ``order`` = (row id, place in the batch): the order they were logged in, comparable with a point's id."""
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(list(run_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                "SELECT s.run_id, p.id, p.timestamp, p.stage_id, p.packed FROM metric_points p JOIN metric_series s "
                f"ON s.id = p.series_id WHERE s.key = ? AND s.run_id IN ({marks}) AND p.packed IS NOT NULL",
                [BATCH_KEY, *chunk])
            if not rows:
                continue
            names = {int(r[0]): r[1] for r in self.db.query(
                f"SELECT id, key FROM metric_series WHERE run_id IN ({marks})", chunk)}
            for run_id, row_id, ts, stage_id, body in rows:
                batch = json.loads(body)
                for i, (sid, step, value) in enumerate(zip(batch["s"], batch["t"], batch["v"])):
                    name = names.get(int(sid))
                    if name is not None and (key is None or name == key):
                        value = math.nan if value is None else float(value)
                        out.append((run_id, name, value, int(step), ts, stage_id, (int(row_id), i)))
        return out

    def metric_history(self, run_id: str, key: str | None = None) -> list[Metric]:
        sql = ("SELECT s.key, p.value, p.is_nan, p.step, p.timestamp, p.stage_id, p.id FROM metric_points p "
               "JOIN metric_series s ON s.id = p.series_id WHERE s.run_id = ? AND p.packed IS NULL")
        args: list[Any] = [run_id]
        if key is not None:
            sql += " AND s.key = ?"
            args.append(key)
        rows = [(r[0], math.nan if r[2] else r[1], r[3], r[4], r[5], (int(r[6]), 0)) for r in self.db.query(sql, args)]
        rows += [p[1:] for p in self._packed_points([run_id], key)]
        rows.sort(key=lambda r: (r[0], r[2], r[5]))
        return [Metric(key=r[0], value=r[1], step=r[2], timestamp=utc_from_ts(r[3]),  # type: ignore[arg-type]
                       stage_id=r[4]) for r in rows]

    def last_step(self, run_id: str, key: str) -> int | None:
        row = self.db.query_one("SELECT MAX(p.step) FROM metric_points p JOIN metric_series s ON s.id = p.series_id "
                                "WHERE s.run_id = ? AND s.key = ? AND p.packed IS NULL", (run_id, key))
        steps = [p[3] for p in self._packed_points([run_id], key)]
        if row is not None and row[0] is not None:
            steps.append(int(row[0]))
        return max(steps) if steps else None

    # -- stages -------------------------------------------------------------------------------
    def start_stage(self, run_id: str, kind: str, name: str | None = None, code_digest: str | None = None,
                    notes: str | None = None) -> StageRun:
        if kind not in STAGE_KINDS:
            raise InvalidInputError(f"unknown stage kind {kind!r}; use one of {', '.join(STAGE_KINDS)}")
        name = check_name("stage name", name or kind)
        now = time.time()

        def write(tx: Transaction) -> int:
            row = tx.query_one("SELECT MAX(attempt) FROM stage_runs WHERE run_id = ? AND name = ?", (run_id, name))
            attempt = (row[0] or 0) + 1 if row else 1
            return tx.execute(
                "INSERT INTO stage_runs (run_id, kind, name, attempt, status, started, code_digest, notes) "
                "VALUES (?,?,?,?,?,?,?,?)", (run_id, kind, name, attempt, "running", now, code_digest, notes))

        stage_id = self.db.run_in_transaction(write)
        return self.get_stage(stage_id)

    def resume_stage(self, stage_id: int, code_digest: str | None) -> StageRun:
        """Reopen a stage run that continues in another cell (same stage, same execution)."""
        self.db.write("UPDATE stage_runs SET status = 'running', ended = NULL, code_digest = ? WHERE id = ?",
                      (code_digest, stage_id))
        return self.get_stage(stage_id)

    def finish_stage(self, stage_id: int, status: str, *, error_type: str | None = None,
                     error_message: str | None = None, error_line: int | None = None,
                     variables: Sequence[VariableInfo] = ()) -> None:
        self.db.write(
            "UPDATE stage_runs SET status = ?, ended = ?, error_type = ?, error_message = ?, error_line = ?, "
            "variables = ? WHERE id = ?",
            (status, time.time(), error_type, (error_message or "")[:4000] or None, error_line,
             _dumps([v.to_dict() for v in variables]), stage_id))

    def get_stage(self, stage_id: int) -> StageRun:
        rows = self._stage_rows("WHERE id = ?", [stage_id])
        if not rows:
            raise NotFoundError(f"no stage run {stage_id}")
        return rows[0]

    def list_stages(self, run_id: str) -> list[StageRun]:
        """Every attempt of every stage of a run, in the order they started."""
        return self._stage_rows("WHERE run_id = ? ORDER BY started, id", [run_id])

    def _stage_rows(self, where: str, args: list[Any]) -> list[StageRun]:
        rows = self.db.query(
            "SELECT id, run_id, kind, name, attempt, status, started, ended, code_digest, error_type, "
            f"error_message, error_line, variables, notes FROM stage_runs {where}", args)
        if not rows:
            return []
        fps: dict[int, list[Fingerprint]] = {}
        ids = [r["id"] for r in rows]
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for fp in self._fingerprint_rows(f"WHERE stage_id IN ({marks})", chunk):
                fps.setdefault(fp.stage_id or 0, []).append(fp)
        return [
            StageRun(
                id=r["id"], run_id=r["run_id"], kind=r["kind"], name=r["name"], attempt=r["attempt"],
                status=r["status"], started=utc_from_ts(r["started"]),  # type: ignore[arg-type]
                ended=utc_from_ts(r["ended"]), code_digest=r["code_digest"], error_type=r["error_type"],
                error_message=r["error_message"], error_line=r["error_line"],
                variables=[VariableInfo(**v) for v in _loads(r["variables"], [])],
                fingerprints=fps.get(r["id"], []), notes=r["notes"],
            )
            for r in rows
        ]

    # -- artifacts ----------------------------------------------------------------------------
    def log_artifact(self, run_id: str, path: str | os.PathLike[str], name: str | None = None,
                     stage_id: int | None = None) -> Artifact:
        source = Path(path)
        name = check_name("artifact name", name or source.name)
        digest, size = self.artifacts.put_file(source)
        self.db.write(
            "INSERT INTO artifacts (run_id, name, digest, size, created, stage_id) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (run_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size, "
            "created = excluded.created, stage_id = excluded.stage_id",
            (run_id, name, digest, size, time.time(), stage_id))
        return self.get_artifact(run_id, name)

    def log_artifact_bytes(self, run_id: str, name: str, data: bytes, stage_id: int | None = None) -> Artifact:
        digest, size = self.artifacts.put_bytes(data)
        self.db.write(
            "INSERT INTO artifacts (run_id, name, digest, size, created, stage_id) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (run_id, name) DO UPDATE SET digest = excluded.digest, size = excluded.size, "
            "created = excluded.created, stage_id = excluded.stage_id",
            (run_id, check_name("artifact name", name), digest, size, time.time(), stage_id))
        return self.get_artifact(run_id, name)

    def get_artifact(self, run_id: str, name: str) -> Artifact:
        row = self.db.query_one("SELECT name, digest, size, created, stage_id FROM artifacts "
                                "WHERE run_id = ? AND name = ?", (run_id, name))
        if row is None:
            raise NotFoundError(f"run {run_id[:8]} has no artifact {name!r}")
        return self._artifact(row)

    def list_artifacts(self, run_id: str) -> list[Artifact]:
        rows = self.db.query("SELECT name, digest, size, created, stage_id FROM artifacts WHERE run_id = ? "
                             "ORDER BY created, name", (run_id,))
        return [self._artifact(r) for r in rows]

    def _artifact(self, row: Any) -> Artifact:
        return Artifact(name=row[0], digest=row[1], size=row[2], created=utc_from_ts(row[3]),  # type: ignore[arg-type]
                        path=str(self.artifacts.path_for(row[1])), stage_id=row[4])

    # -- fingerprints -------------------------------------------------------------------------
    def log_fingerprint(self, run_id: str, fp: Fingerprint, *, stage_id: int | None = None) -> None:
        self.db.run_in_transaction(lambda tx: insert_fingerprint(tx, run_id, fp, stage_id=stage_id))

    def fingerprint_uses(self, digests: Sequence[str]) -> list[dict[str, Any]]:
        """Every stage that read or wrote data with one of these digests, oldest first (lineage by content)."""
        if not digests:
            return []
        rows = self.db.query(
            "SELECT f.digest, f.name, f.role, f.rows, f.run_id, s.name, s.kind, f.created, f.schema "
            "FROM fingerprints f "
            f"LEFT JOIN stage_runs s ON s.id = f.stage_id WHERE f.digest IN ({','.join('?' * len(digests))}) "
            "ORDER BY f.created", list(digests))
        return [{"digest": r[0], "name": r[1], "role": r[2], "rows": r[3], "run_id": r[4], "stage": r[5],
                 "kind": r[6], "created": utc_from_ts(r[7]), "schema": _loads(r[8])} for r in rows]

    def fingerprint_digests(self, prefix: str) -> list[str]:
        """The distinct recorded data digests starting with ``prefix`` (hex), at most 2: a unique prefix or not."""
        if not re.fullmatch(r"[0-9a-f]{1,64}", prefix or ""):
            return []
        rows = self.db.query("SELECT DISTINCT digest FROM fingerprints WHERE digest LIKE ? LIMIT 2", (prefix + "%",))
        return [r[0] for r in rows]

    def list_fingerprints(self, run_id: str) -> list[Fingerprint]:
        return self._fingerprint_rows("WHERE run_id = ? ORDER BY id", [run_id])

    def _fingerprint_rows(self, where: str, args: Sequence[Any]) -> list[Fingerprint]:
        rows = self.db.query(
            f"SELECT digest, kind, rows, schema, size, name, role, stage_id FROM fingerprints {where}", args)
        return [Fingerprint(digest=r[0], kind=r[1], rows=r[2], schema=_loads(r[3]), size=r[4], name=r[5],
                            role=r[6], stage_id=r[7]) for r in rows]

    # -- reads for diffs (mlops_magic.explain) --------------------------------------------------
    def params_with_stages(self, run_id: str) -> dict[str, tuple[Any, int | None]]:
        """Every parameter of a run with the stage that logged it last (None: the run's own)."""
        rows = self.db.query("SELECT key, value, stage_id FROM params WHERE run_id = ?", (run_id,))
        return {r[0]: (_loads(r[1]), r[2]) for r in rows}

    def latest_metrics_with_stages(self, run_id: str) -> dict[str, tuple[float, int | None]]:
        """The last value of every metric of a run, with the stage that logged it."""
        return {key: found for (_, key), found in self._latest([run_id]).items()}

    # -- reads for lineage (mlops_magic.explain) -----------------------------------------------
    def run_summaries(self, run_ids: Sequence[str] = (), *, parents: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Summary rows (id, notebook, name, status, trigger, started, parent_run_id) of these runs, and of
        every run whose parent is one of ``parents``; oldest first. A few queries whatever the count."""
        out: dict[str, dict[str, Any]] = {}
        for column, values in (("id", list(run_ids)), ("parent_run_id", list(parents))):
            for chunk in _chunks(sorted(set(values)), 500):
                rows = self.db.query(
                    "SELECT id, notebook, name, status, trigger, started, parent_run_id FROM runs "
                    f"WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)
                for r in rows:
                    out[r[0]] = {"id": r[0], "notebook": r[1], "name": r[2], "status": r[3], "trigger": r[4],
                                 "started": utc_from_ts(r[5]), "parent_run_id": r[6]}
        return sorted(out.values(), key=lambda r: (r["started"], r["id"]))

    def fingerprints_of_runs(self, run_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every fingerprint of these runs with its stage's name and kind, oldest first."""
        out: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(set(run_ids)), 500):
            rows = self.db.query(
                "SELECT f.digest, f.name, f.role, f.rows, f.run_id, s.name, s.kind, f.created, f.kind, f.schema "
                "FROM fingerprints f LEFT JOIN stage_runs s ON s.id = f.stage_id "
                f"WHERE f.run_id IN ({','.join('?' * len(chunk))})", chunk)
            out += [{"digest": r[0], "name": r[1], "role": r[2], "rows": r[3], "run_id": r[4], "stage": r[5],
                     "kind": r[6], "created": utc_from_ts(r[7]), "data_kind": r[8], "schema": _loads(r[9])}
                    for r in rows]
        return sorted(out, key=lambda r: r["created"])

    # -- events -------------------------------------------------------------------------------
    def emit_event(self, kind: str, *, subject: str | None = None, run_id: str | None = None,
                   payload: Mapping[str, Any] | None = None) -> int:
        """Append an event (drift found, run finished, …) that schedulers and panels can follow."""
        return self.db.run_in_transaction(
            lambda tx: events.insert(tx, kind, subject=subject, run_id=run_id, payload=payload))

    def list_events(self, kind: str | None = None, *, after_id: int = 0, subject: str | None = None,
                    limit: int = 1000) -> list[dict[str, Any]]:
        return events.after(self.db, after_id, kind=kind, subject=subject, limit=limit)


def insert_fingerprint(tx: Transaction, run_id: str, fp: Fingerprint, *, stage_id: int | None = None,
                       created: float | None = None) -> None:
    """One row of ``fingerprints``: the data a stage read or wrote (or a registered model was trained on)."""
    tx.execute(
        "INSERT INTO fingerprints (run_id, stage_id, name, role, kind, digest, rows, size, schema, created) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        (run_id, stage_id if stage_id is not None else fp.stage_id, fp.name, fp.role, fp.kind, fp.digest,
         fp.rows, fp.size, _dumps(fp.schema) if fp.schema is not None else None,
         time.time() if created is None else created))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__ = ["RunStatus", "Store", "as_metric_value", "check_name"]


def rename_notebook_runs(tx: Transaction, old: str, new: str) -> int:
    """Move the runs recorded under notebook ``old`` (or a notebook inside folder ``old``) to ``new``."""
    where = "WHERE notebook = ? OR substr(notebook, 1, ?) = ?"
    args = (old, len(old) + 1, old + "/")
    row = tx.query_one(f"SELECT COUNT(*) FROM runs {where}", args)
    tx.execute(f"UPDATE runs SET notebook = ? || substr(notebook, ?) {where}", (new, len(old) + 1, *args))
    return int(row[0]) if row else 0


def filter_values(status: str | None, trigger: str | None) -> dict[str, list[str]]:
    """The comma-separated ``status`` and ``trigger`` filters of a runs query as lists, each value checked
    (one clear error for an unknown one), whether or not there is a store to ask yet."""
    out: dict[str, list[str]] = {}
    for column, value, allowed in (("status", status, RUN_STATUSES), ("trigger", trigger, TRIGGERS)):
        values = [v.strip() for v in (value or "").split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if bad:
            raise InvalidInputError(f"unknown {column} {bad[0]!r}; use one of {', '.join(allowed)}")
        out[column] = values
    return out

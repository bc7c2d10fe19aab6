"""The ``metric_series`` and ``metric_points`` tables: a metric is a series (run, key) of points (step, value).

Points carry the series' integer id, so a batch is one insert of numbers; the series ids of a run are
cached per store once committed. A batch of :data:`PACK_MIN` values or more is one packed row instead:
the series ids, steps and values as JSON under the run's reserved batch series (:data:`BATCH_KEY`, a key
no user key can be), because every value of a batch lands in another series' place of the index. The
reads merge single points and packed values, ordered by row id and place in the batch. SQLite stores
NaN as NULL, so points carry an ``is_nan`` flag; ±inf are stored as they are.
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ..entities import Metric, utc_from_ts
from ..errors import InvalidInputError
from .columns import changed_in_chunks, check_name, checked_names, chunks, marks
from .db import Database, Transaction

_INSERT_POINT = "INSERT INTO metric_points (series_id, step, value, is_nan, timestamp, stage_id) VALUES (?,?,?,?,?,?)"
_INSERT_PACKED = ("INSERT INTO metric_points (series_id, step, value, is_nan, timestamp, stage_id, packed) "
                  "VALUES (?,?,?,?,?,?,?)")
#: A batch of at least this many values is stored as one packed row: inserting a row per value into the
#: ``(series_id, step)`` index costs a place per series, which made 1,000 values 1.6 ms of SQLite alone.
PACK_MIN = 100
#: The series under which a run's packed batches are kept; user keys cannot hold control characters.
BATCH_KEY = "\x1fbatch"


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


def insert_history(tx: Transaction, run_id: str, points: Sequence[tuple[str, float, int, float]]) -> int:
    """Every point of a new run's metrics, each with its own step and time stamp: (key, value, step, timestamp).

    For histories recorded elsewhere (an MLflow import): one series per key, then one row per point, in
    the caller's transaction. The run must be new (its series are created here). The number of points.
    """
    keys = sorted({check_name("metric name", key) for key, *_ in points})
    if not keys:
        return 0
    tx.executemany("INSERT INTO metric_series (run_id, key) VALUES (?, ?)", [(run_id, k) for k in keys])
    ids: dict[str, int] = {}
    for chunk in chunks(keys):
        ids.update({r[0]: int(r[1]) for r in tx.query(
            f"SELECT key, id FROM metric_series WHERE run_id = ? AND key IN ({marks(len(chunk))})", [run_id, *chunk])})
    tx.executemany(_INSERT_POINT, [(ids[key], int(step), None if value != value else value, int(value != value), ts,
                                    None) for key, value, step, ts in points])
    return len(points)


class MetricLog:
    """The metric tables of one store, with the series ids committed so far (so a point is one insert)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._series: dict[str, dict[str, int]] = {}  # run id -> {metric key: committed series id}
        self._known = 0  # how many series ids the cache holds

    def log_metric(self, run_id: str, key: str, value: Any, step: int = 0, timestamp: float | None = None,
                   stage_id: int | None = None) -> None:
        number = value if type(value) is float else as_metric_value(key, value)
        series = self._series.get(run_id, {}).get(key)
        if series is None:
            self.log_metrics(run_id, [(key, number, step)], timestamp, stage_id)
            return
        nan = number != number
        self.db.write(_INSERT_POINT, (series, step if type(step) is int else int(step), None if nan else number,
                                      int(nan), timestamp or time.time(), stage_id))

    def log_metrics(self, run_id: str, rows: Iterable[tuple[str, Any, int]], timestamp: float | None = None,
                    stage_id: int | None = None) -> int:
        """Batch insert of (key, value, step) rows in one transaction; all or nothing."""
        ts = timestamp or time.time()
        checked = _checked(rows)
        if not checked[0]:
            return 0
        names, numbers, steps = checked
        keys = set(names)
        packed = len(names) >= PACK_MIN

        def write(tx: Transaction) -> dict[str, int]:
            ids = self._series_ids(tx, run_id, keys | {BATCH_KEY} if packed else keys)
            if packed:
                body = json.dumps({"s": list(map(ids.__getitem__, names)), "t": steps, "v": numbers},
                                  separators=(",", ":"))
                tx.execute(_INSERT_PACKED, (ids[BATCH_KEY], max(steps), None, 0, ts, stage_id, body))
            else:
                tx.executemany(_INSERT_POINT, [(ids[k], step, None if n != n else n, int(n != n), ts, stage_id)
                                               for k, n, step in zip(names, numbers, steps)])
            return ids

        ids = self.db.run_in_transaction(write)
        current = self._series.get(run_id)
        if ids is not current:  # series created: remember them, only now that they committed
            if self._known > 100_000:
                self._series.clear()
                self._known, current = 0, None
            merged = {**current, **ids} if current else ids  # another thread may have added some meanwhile
            self._known += len(merged) - len(current or ())
            self._series[run_id] = merged
        return len(names)

    def _series_ids(self, tx: Transaction, run_id: str, keys: set[str]) -> dict[str, int]:
        """key -> series id for ``keys``: the run's committed ids when it has them all (no query), else a
        new dict with the missing series created."""
        known = self._series.get(run_id, {})
        missing = sorted(keys - known.keys())
        if not missing:
            return known
        ids = dict(known)
        tx.executemany("INSERT INTO metric_series (run_id, key) VALUES (?, ?) ON CONFLICT (run_id, key) DO NOTHING",
                       [(run_id, k) for k in missing])
        for chunk in chunks(missing):
            rows = tx.query(f"SELECT key, id FROM metric_series WHERE run_id = ? AND key IN "
                            f"({marks(len(chunk))})", [run_id, *chunk])
            ids.update({r[0]: int(r[1]) for r in rows})
        return ids

    # -- reads ------------------------------------------------------------------------------------
    def latest(self, run_ids: Sequence[str], *, every_run: bool = False
               ) -> dict[tuple[str, str], tuple[float, int | None]]:
        """(run, key) -> (value, stage_id) of the last logged value, over single points and packed batches.

        ``every_run``: the ids are all the store's runs, so each table is read in one scan (no ``IN`` lists).
        """
        return self._latest(run_ids, every_run, self._packed_points(run_ids, every_run=every_run))

    def latest_values(self, run_ids: Sequence[str], *, every_run: bool = False) -> dict[str, dict[str, float]]:
        """run -> {key: last value}: :meth:`latest` without stages, in one pass when no run has a packed batch
        (each series' last single point is then its last value; the runs table reads this for every run)."""
        out: dict[str, dict[str, float]] = {i: {} for i in run_ids}
        packed = self._packed_points(run_ids, every_run=every_run)
        if packed:
            for (run_id, key), (value, _) in self._latest(run_ids, every_run, packed).items():
                out[run_id][key] = value
            return out
        nan = math.nan
        for sql, args in self._last_points(run_ids, every_run):
            for run_id, key, value, is_nan, _stage, _id in self.db.query(sql, args):
                values = out.get(run_id)
                if values is not None:  # (a run created after the ids were read)
                    values[key] = nan if is_nan else value
        return out

    def _latest(self, run_ids: Sequence[str], every_run: bool, packed: list[tuple[Any, ...]]
                ) -> dict[tuple[str, str], tuple[float, int | None]]:
        """:meth:`latest`, given the runs' packed values: single points and batches merged in logging order."""
        wanted = set(run_ids)
        best: dict[tuple[str, str], tuple[tuple[int, int], float, int | None]] = {}
        for sql, args in self._last_points(run_ids, every_run):
            for run_id, key, value, is_nan, stage_id, point_id in self.db.query(sql, args):
                if run_id in wanted:
                    best[(run_id, key)] = ((int(point_id), 0), math.nan if is_nan else value, stage_id)
        for run_id, key, value, _step, _ts, stage_id, order in packed:
            seen = best.get((run_id, key))
            if run_id in wanted and (seen is None or order > seen[0]):
                best[(run_id, key)] = (order, value, stage_id)
        return {k: (v[1], v[2]) for k, v in best.items()}

    def _last_points(self, run_ids: Sequence[str], every_run: bool) -> list[tuple[str, list[Any]]]:
        """The queries (SQL, args) of the last single point of each series of ``run_ids`` (of every run)."""
        last = "SELECT series_id, MAX(id) AS id FROM metric_points WHERE packed IS NULL"
        inners = [(f"{last} GROUP BY series_id", [])] if every_run else [
            (f"{last} AND series_id IN (SELECT id FROM metric_series WHERE run_id IN ({marks(len(c))})) "
             "GROUP BY series_id", c) for c in chunks(list(run_ids))]
        return [("SELECT s.run_id, s.key, p.value, p.is_nan, p.stage_id, p.id FROM metric_points p "
                 f"JOIN metric_series s ON s.id = p.series_id JOIN ({inner}) last ON last.id = p.id", args)
                for inner, args in inners]

    def _packed_points(self, run_ids: Sequence[str], key: str | None = None, *,
                       every_run: bool = False) -> list[tuple[Any, ...]]:
        """The values of these runs' packed batches as (run_id, key, value, step, timestamp, stage_id, order),
        ``order`` = (row id, place in the batch): the order they were logged in, comparable with a point's id."""
        out: list[tuple[Any, ...]] = []
        groups = [("", [])] if every_run else \
            [(f" AND s.run_id IN ({marks(len(c))})", c) for c in chunks(list(run_ids))]
        for in_runs, chunk in groups:
            rows = self.db.query(
                "SELECT s.run_id, p.id, p.timestamp, p.stage_id, p.packed FROM metric_points p JOIN metric_series s "
                f"ON s.id = p.series_id WHERE s.key = ?{in_runs} AND p.packed IS NOT NULL", [BATCH_KEY, *chunk])
            if not rows:
                continue
            names = {int(r[0]): r[1] for r in self.db.query(
                f"SELECT s.id, s.key FROM metric_series s WHERE 1 = 1{in_runs}", chunk)}
            for run_id, row_id, ts, stage_id, body in rows:
                batch = json.loads(body)
                for i, (sid, step, value) in enumerate(zip(batch["s"], batch["t"], batch["v"])):
                    name = names.get(int(sid))
                    if name is not None and (key is None or name == key):
                        value = math.nan if value is None else float(value)
                        out.append((run_id, name, value, int(step), ts, stage_id, (int(row_id), i)))
        return out

    def history(self, run_id: str, key: str | None = None) -> list[Metric]:
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


def delete_of_runs(tx: Transaction, run_ids: Sequence[str]) -> int:
    """Retention: every point (single or packed) and series of these runs; rows removed."""
    return (changed_in_chunks(tx, "DELETE FROM metric_points WHERE series_id IN "
                                  "(SELECT id FROM metric_series WHERE run_id IN ({ids}))", run_ids)
            + changed_in_chunks(tx, "DELETE FROM metric_series WHERE run_id IN ({ids})", run_ids))
def _checked(rows: Iterable[tuple[str, Any, int]]) -> tuple[list[str], list[float], list[int]]:
    """(keys, values, steps) of (key, value, step) rows, every row checked before anything is written.

    A batch of names already checked, float values and int steps (what a training loop logs) is
    checked as three columns at C speed; anything else row by row, the first bad row raising."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return [], [], []
    names, values, steps = (list(column) for column in zip(*rows, strict=True))
    if checked_names(names) and set(map(type, values)) == {float} and set(map(type, steps)) == {int}:
        return names, values, steps
    for i, (key, value, step) in enumerate(rows):
        names[i] = check_name("metric name", key)
        values[i] = value if type(value) is float else as_metric_value(key, value)
        steps[i] = int(step)
    return names, values, steps

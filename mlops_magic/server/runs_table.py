"""``GET runs-table``: every run as one compact columnar answer, for the main-area runs view.

Why not page through ``GET runs``: that route caps a page at 500 runs and repeats every key
in every record, so 10,000 runs take 20 requests of verbose JSON. This answer is one request
with one array per column (``store.run_table``, the same fast path as ``runs_frame``), the
notebooks dictionary-encoded, and a ``version`` (a digest of the answer) the view sends back
on its next poll as ``since``: when nothing changed it gets ``{"unchanged": true}`` and has
nothing to parse or redraw. ``benchmarks/bench_lab.py`` measures both ways.

An unchanged poll does not even read the tables: the version last answered for the same store and
filters is kept with the store's change marker (``Store.change_marker``, moved by any commit) read
before that answer's query. While the marker stands, the answer would be the same, so ``since``
equal to the kept version is "unchanged" at the cost of one marker read.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from typing import Any

import tornado.web

from ..entities import RUN_STATUSES, TRIGGERS, result_metrics
from ..store.runs import filter_values
from ..tracking import queries
from .base import MlopsHandler, maps_errors
from .paths import to_api_path

#: At most this many runs in one answer (newest first); ``limit`` may ask for fewer.
MAX_ROWS = 100_000
#: (store url, filters) -> (change marker read before the answer, its version); the newest few only.
_answered: OrderedDict[tuple[Any, ...], tuple[str, str]] = OrderedDict()
_answered_lock = threading.Lock()
_ANSWERED_MAX = 64


def _remember(key: tuple[Any, ...], marker: str | None, version: str) -> None:
    if marker is None:
        return
    with _answered_lock:
        _answered[key] = (marker, version)
        _answered.move_to_end(key)
        while len(_answered) > _ANSWERED_MAX:
            _answered.popitem(last=False)


def _still(key: tuple[Any, ...], marker: str | None, since: str | None) -> bool:
    """Whether the answer for ``key`` is still version ``since``: nothing committed since it was computed."""
    if marker is None or not since:
        return False
    with _answered_lock:
        return _answered.get(key) == (marker, since)


def _number(value: Any) -> Any:
    """A float JSON can carry: non-finite metric values travel as their names, as ``GET runs`` sends them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def runs_columns(rows: list[Any], params: dict[str, dict[str, Any]], metrics: dict[str, dict[str, float]],
                 locate: Any) -> dict[str, Any]:
    """``store.run_table``'s rows as columns; ``locate(recorded notebook) -> API path or None``.

    Params and metrics become one column per key (``null`` where a run lacks it), so the view
    can offer each as a sortable column without scanning every run's dict."""
    ids = [r[0] for r in rows]
    notebooks: list[str | None] = []
    index: dict[str | None, int] = {}
    notebook_col: list[int] = []
    for r in rows:
        name = r[1]
        if name not in index:
            index[name] = len(notebooks)
            notebooks.append(name)
        notebook_col.append(index[name])
    param_keys = sorted({k for run_id in ids for k in params[run_id]})
    metric_keys = sorted({k for run_id in ids for k in metrics[run_id]})
    return {
        "total": len(ids),
        "statuses": list(RUN_STATUSES),
        "triggers": list(TRIGGERS),
        "notebooks": notebooks,
        "notebook_paths": [locate(n) for n in notebooks],
        "columns": {
            "id": ids,
            "notebook": notebook_col,
            "status": [r[3] for r in rows],
            "trigger": [r[4] for r in rows],
            "started": [r[5] for r in rows],
            "ended": [r[6] for r in rows],
            "user": [r[9] for r in rows],
            # The run this one belongs to (a sweep's point names its sweep): the view groups by it.
            "parent_run_id": [r[7] for r in rows],
        },
        "params": {k: [params[i].get(k) for i in ids] for k in param_keys},
        "metrics": {k: [_number(metrics[i].get(k)) for i in ids] for k in metric_keys},
    }


class RunsTableHandler(MlopsHandler):
    @tornado.web.authenticated
    @maps_errors
    def get(self) -> None:
        """``?notebook=&status=&trigger=&limit=&since=VERSION[&at=]``: the runs as columns, newest first,
        from the store ``at`` finds (the server root's without it)."""
        store = self.store_or_none  # no store yet is no runs yet (an empty table), not an error
        limit = self.int_arg("limit", MAX_ROWS, 1, MAX_ROWS)
        notebook = self.str_arg("notebook")
        status, trigger = self.str_arg("status"), self.str_arg("trigger")
        since, marker = self.str_arg("since"), None
        memo: tuple[Any, ...] = ()
        if store is None:
            filter_values(status, trigger)
            if notebook:
                self.notebook_path(notebook)  # a path outside the root is refused all the same
            rows, params, metrics = [], {}, {}
        else:
            key = queries.notebook_key(store, self.notebook_path(notebook)) if notebook else None
            store.reap_orphans()  # a run whose kernel is gone is listed as killed, not running
            marker = store.change_marker()  # read before the tables: a commit after it moves it
            memo = (store.url, str(self.root_dir), key, status, trigger, limit)
            if _still(memo, marker, since):
                self._unchanged(str(since))
                return
            rows, params, metrics = store.run_table(notebook=key, status=status, trigger=trigger, limit=limit)

        def locate(recorded: str | None) -> str | None:
            file = queries.notebook_file(store, recorded) if store is not None else None
            return to_api_path(self.root_dir, file) if file else None

        table = runs_columns(rows, params, {k: result_metrics(v) for k, v in metrics.items()}, locate)
        body = json.dumps(table, default=str, separators=(",", ":"))
        version = hashlib.sha1(body.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]
        if store is not None:
            _remember(memo, marker, version)
        if since == version:
            self._unchanged(version)
            return
        self.set_header("Content-Type", "application/json")
        # The version is the digest of the rest, so it goes in after it: splice it into the object.
        self.finish('{"version":' + json.dumps(version) + ',"unchanged":false,' + body[1:])

    def _unchanged(self, version: str) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"version": version, "unchanged": True}))


ROUTES: list[tuple[str, type[MlopsHandler]]] = [
    (r"runs-table", RunsTableHandler),
]

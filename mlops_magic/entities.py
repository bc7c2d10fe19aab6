"""The values mlops-magic hands to callers: frozen dataclasses and string enums.

Entities are separate from table rows and from API schemas so the store can
change its layout without breaking callers. Times are timezone-aware UTC.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

#: The lifecycle stages, in lifecycle order.
STAGE_KINDS: tuple[str, ...] = ("problem", "data", "train", "evaluate", "deploy", "monitor")


class _Word(str, Enum):
    """A string enum that prints as its value (``str(RunStatus.FAILED) == "failed"``)."""

    def __str__(self) -> str:
        return self.value


class RunStatus(_Word):
    QUEUED = "queued"  # submitted to a cluster executor, waiting for a worker
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed-out"
    KILLED = "killed"
    SKIPPED = "skipped"


class StageStatus(_Word):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class FireState(_Word):
    """Where a scheduler's claimed due time (a row of ``schedule_fires``) is."""

    CLAIMED = "claimed"  # a tick won it and reserved its run id
    RUNNING = "running"  # handed to an executor
    DONE = "done"  # its run ended (or was never started and is recorded as killed)


class Trigger(_Word):
    INTERACTIVE = "interactive"
    PAPERMILL = "papermill"  # a kernel started by the plain `papermill` command (not `mlops run`)
    MANUAL = "manual"
    SCHEDULE = "schedule"
    DATA_CHANGE = "data-change"
    DRIFT = "drift"
    PERFORMANCE = "performance"
    CI = "ci"
    AFTER = "after"
    REPRODUCE = "reproduce"
    SWEEP = "sweep"  # a sweep's parent run and each of its points (the points have the sweep as parent)


class DeliveryStatus(_Word):
    """Where an alert's delivery is (``alert_deliveries.status``)."""

    PENDING = "pending"  # queued, or waiting to retry
    SENDING = "sending"  # claimed under a lease
    SENT = "sent"
    FAILED = "failed"  # gave up after its retries
    SUPPRESSED = "suppressed"  # a duplicate, or over the rule's rate limit


RUN_STATUSES: tuple[str, ...] = tuple(s.value for s in RunStatus)
#: Statuses of a run that has not ended yet.
ACTIVE_STATUSES: tuple[RunStatus, ...] = (RunStatus.QUEUED, RunStatus.RUNNING)
#: Statuses a headless run may be given another attempt from.
RETRYABLE_STATUSES: tuple[RunStatus, ...] = (RunStatus.FAILED, RunStatus.KILLED, RunStatus.TIMED_OUT)
TRIGGERS: tuple[str, ...] = tuple(t.value for t in Trigger)


def utc_from_ts(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


#: Metrics under this prefix are sampled system series (``tracking/system.py``): what a run cost the
#: machine, shown as its system line, not among the results it computed.
SYSTEM_PREFIX = "system."


def result_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` without the system series: for tables, model versions and diffs of results."""
    return {k: v for k, v in metrics.items() if not k.startswith(SYSTEM_PREFIX)}


#: What a yes/no setting (an environment variable, a tag's value) says when it says no.
NO_WORDS = frozenset({"0", "false", "no", "off"})


def says_no(value: Any) -> bool:
    """Whether a yes/no setting's text says no: ``0``, ``false``, ``no`` or ``off``, in any case and spacing."""
    return str(value).strip().lower() in NO_WORDS


def json_safe(value: Any, *, non_finite: Literal["name", "null"] = "name") -> Any:
    """``value`` as plain values ``json.dumps`` accepts (``allow_nan=False`` too), the one rule for every
    JSON answer: ISO 8601 times, enums as their values, numpy scalars and arrays as Python numbers and
    lists, mappings and sequences converted item by item, anything else as it is.

    JSON has no NaN or infinity: by default they travel as their names ``"nan"``, ``"inf"``, ``"-inf"``
    (a metric's value, readable rather than invalid; the REST API and the lab read them so);
    ``non_finite="null"`` sends None instead, for a report whose fields are "a number or none".
    pandas' missing value ``pd.NA`` is None either way: it is no number, only a missing one.
    """
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):  # numpy's float64 too: a plain float
        return float(value) if math.isfinite(value) else (str(value) if non_finite == "name" else None)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (str, int)):  # numpy's str_ too: plain, so its repr is the value's
        return str(value) if isinstance(value, str) else int(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays, pandas Series (numpy is never imported here)
        return json_safe(value.tolist(), non_finite=non_finite)
    if isinstance(value, Mapping):
        return {k: json_safe(v, non_finite=non_finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, non_finite=non_finite) for v in value]
    return None if is_pandas_na(value) else value


def is_pandas_na(value: Any) -> bool:
    """Whether ``value`` is pandas' missing value ``pd.NA`` (a nullable column's, or a model's answer), which
    JSON carries as null; checked without importing pandas: no ``pd.NA`` exists before pandas is imported."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is getattr(pandas, "NA", None)


class _Entity:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ISO times, plain strings for enums (:func:`json_safe`)."""
        out: dict[str, Any] = json_safe(asdict(self))  # type: ignore[call-overload]
        return out


@dataclass(frozen=True)
class Run(_Entity):
    id: str
    notebook: str | None
    trigger: str
    status: RunStatus
    started: datetime
    ended: datetime | None = None
    name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    code_version: str | None = None
    git_dirty: bool | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    schedule_id: str | None = None
    error: str | None = None
    host: str | None = None
    pid: int | None = None
    executor: str | None = None  # where it executes: local, local:N, dask://HOST:PORT
    worker: str | None = None  # the cluster worker's address, once one started it
    waiting: str | None = None  # why a queued run waits
    user: str | None = None  # who started it (MLOPS_USER, JUPYTERHUB_USER or the OS user)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, or ``None`` while queued or running."""
        return None if self.ended is None else (self.ended - self.started).total_seconds()


@dataclass(frozen=True)
class VariableInfo(_Entity):
    name: str
    type: str
    shape: list[int] | None = None
    length: int | None = None


@dataclass(frozen=True)
class Fingerprint(_Entity):
    digest: str
    kind: str  # dataframe | array | series | file | files
    rows: int | None = None
    schema: dict[str, str] | None = None
    size: int | None = None
    name: str | None = None
    role: str | None = None  # input | output
    stage_id: int | None = None


@dataclass(frozen=True)
class StageRun(_Entity):
    id: int
    run_id: str
    kind: str
    name: str
    attempt: int
    status: StageStatus
    started: datetime
    ended: datetime | None = None
    code_digest: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_line: int | None = None
    variables: list[VariableInfo] = field(default_factory=list)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    notes: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.ended is None else (self.ended - self.started).total_seconds()


@dataclass(frozen=True)
class Metric(_Entity):
    key: str
    value: float
    step: int
    timestamp: datetime
    stage_id: int | None = None


@dataclass(frozen=True)
class Artifact(_Entity):
    name: str
    digest: str
    size: int
    created: datetime
    path: str
    stage_id: int | None = None

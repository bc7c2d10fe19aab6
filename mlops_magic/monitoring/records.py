"""Monitoring in the store: reference profiles of model versions, drift reports, drift events.

The pure tests live in :mod:`.drift`; this module decides what a reference
spec means (a frame, a file, or ``model:NAME@ALIAS``), stores each report with
its stage run, and emits the ``drift`` event the scheduler's drift trigger
follows. The event's subject is the model name, so ``--on-drift churn``
retrains when any monitor of ``churn`` finds data-set drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..display.charts import line_chart
from ..display.html import esc
from ..errors import InvalidInputError, NotFoundError
from ..registry.versions import resolve_version_number
from ..stats.profile import ReferenceProfile
from ..store import Store, open_store
from ..store import monitoring as tables
from ..tracking.session import get_session
from ..tracking.values import IDENT
from .drift import DriftReport, drift
from .served import served_frame

if TYPE_CHECKING:
    from pandas import DataFrame

MODEL_PREFIX = "model:"
SERVED_PREFIX = "served:"  # served:NAME[@N] = the last N inputs `mlops serve` sampled for model NAME


def load_profile(store: Store, ref: str) -> tuple[ReferenceProfile, str, int]:
    """The reference profile of ``NAME``, ``NAME@ALIAS`` or ``NAME@VERSION``."""
    model, version = resolve_version_number(store, ref)
    stored = tables.profile_of(store.db, model, version)
    if stored is None:
        raise NotFoundError(f"model {model} v{version} has no reference profile; register it with "
                            f"`%mlops model register VAR --name {model} --input X_train` so one is stored")
    return ReferenceProfile.from_dict(stored), model, version


def read_table(path: str | Path) -> Any:
    """A CSV, Parquet, JSON-lines or JSON file as a DataFrame; one clear line when it cannot be read."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"no such data file: {path}")
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True)
        if suffix == ".json":
            return pd.read_json(p)
        if suffix in (".csv", ".txt", ".gz", ".tsv"):
            return pd.read_csv(p, sep="\t" if suffix == ".tsv" else ",")
    except Exception as exc:  # pandas raises many types; the user needs one line
        raise InvalidInputError(f"cannot read {path}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    raise InvalidInputError(f"cannot read {path}: use a .csv, .tsv, .parquet, .json or .jsonl file")


def resolve_data(spec: Any, namespace: dict[str, Any] | None = None, *, what: str = "data",
                 store: Store | None = None) -> Any:
    """A DataFrame given directly, by variable name, by file path, or ``served:NAME[@N]`` (live traffic)."""
    if not isinstance(spec, str):
        return spec
    if spec.startswith(SERVED_PREFIX):
        name, _, limit = spec[len(SERVED_PREFIX):].partition("@")
        if limit and not limit.isdigit():
            raise InvalidInputError(f"{spec!r}: write served:NAME or served:NAME@N with N a number of rows")
        frame = served_frame(store or open_store(), name, int(limit or 10_000))
        if len(frame) == 0:
            raise NotFoundError(f"no served inputs of model {name!r} yet; `mlops serve {name}@production` "
                                "samples them as it answers, mlops.log_predictions records a batch scored elsewhere")
        return frame
    if namespace is not None and IDENT.match(spec):
        if spec in namespace:
            return namespace[spec]
        if not Path(spec).exists():
            raise InvalidInputError(f"{what} {spec!r} is neither a variable nor a file")
    return read_table(spec)


def resolve_reference(store: Store, spec: Any, namespace: dict[str, Any] | None = None
                      ) -> tuple[Any, str | None, int | None]:
    """(reference, model, version): ``model:NAME@ALIAS`` gives the version's stored profile."""
    if isinstance(spec, str) and spec.startswith(MODEL_PREFIX):
        prof, model, version = load_profile(store, spec[len(MODEL_PREFIX):])
        return prof, model, version
    return resolve_data(spec, namespace, what="reference"), None, None


def record_drift(store: Store, report: DriftReport, *, run_id: str | None, stage_id: int | None,
                 model: str | None = None, version: int | None = None, reference: str | None = None) -> int:
    """Store the report with its stage run; a data-set drift also becomes a ``drift`` event."""
    return store.db.run_in_transaction(lambda tx: tables.insert_drift_report(
        tx, report.to_dict(), drifted=report.drifted, drift_share=report.drift_share,
        drifted_columns=report.drifted_columns, run_id=run_id, stage_id=stage_id, model=model, version=version,
        reference=reference))


def check_drift(reference: Any, current: Any, *, columns: Any = None, tests: Any = None, threshold: Any = None,
                model: str | None = None, record: bool = True, namespace: dict[str, Any] | None = None,
                **options: Any) -> DriftReport:
    """Compute drift and record it in the current run and stage (the magic and ``mlops.drift`` call this)."""

    session = get_session()
    store = session.store
    ref, ref_model, version = resolve_reference(store, reference, namespace)
    cur = resolve_data(current, namespace, what="current data", store=store)
    report = drift(ref, cur, columns=columns, tests=tests, threshold=threshold, **options)
    if record:
        run_id = session.recording_run_id()
        stage = session.current_stage
        record_drift(store, report, run_id=run_id, stage_id=stage.id if stage else None,
                     model=model or ref_model, version=version,
                     reference=reference if isinstance(reference, str) else None)
    return report


def drift_reports(store: Store, run_id: str) -> list[DriftReport]:
    return [DriftReport.from_dict(r) for r in tables.drift_reports_of_run(store.db, run_id)]


def drift_history(store: Store, model: str) -> DataFrame:
    """Every stored drift check of a model, oldest first, as a DataFrame."""
    import pandas as pd

    rows = tables.drift_checks_of_model(store.db, model)
    if not rows:
        known = tables.models_with_drift_checks(store.db)
        hint = f"; models with drift checks: {', '.join(known)}" if known else ""
        raise NotFoundError(f"no drift checks recorded for model {model!r}{hint}")
    frame = pd.DataFrame([{
        "checked": pd.Timestamp(r[0], unit="s", tz="UTC"), "run_id": r[1], "version": r[2],
        "drifted": r[3], "drift_share": r[4], "drifted_columns": ", ".join(r[5]),
    } for r in rows])
    return frame


class DriftHistory:
    """``%mlops drift --history MODEL``: the table plus a drift-share chart (inline SVG)."""

    def __init__(self, model: str, frame: Any) -> None:
        self.model = model
        self.frame = frame

    def _repr_html_(self) -> str:
        points = [(ts.timestamp(), share) for ts, share in zip(self.frame["checked"], self.frame["drift_share"])]
        chart = line_chart(points, title=f"drift share of {self.model}") if points else ""
        return f"<div><b>Drift history of {esc(self.model)}</b>{chart}{self.frame.to_html(escape=True)}</div>"

    def __repr__(self) -> str:
        return f"Drift history of {self.model}\n{self.frame.to_string(index=False)}"

"""Live traffic as monitoring data: the inputs ``mlops serve`` sampled, kept and read back typed.

The server appends what it answered (``record_served``, off the request path); a monitor reads it as
current data (``served:NAME[@N]`` or :func:`served_inputs`), typed by the version's input schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry.versions import check_model_name, get_version, require_model
from ..store import Store
from ..store import monitoring as tables
from ..tracking.session import get_session

if TYPE_CHECKING:
    from pandas import DataFrame


def record_served(store: Store, name: str, version: int, records: list[dict[str, Any]],
                  keep: int = 100_000, *, outputs: list[tuple[str | None, Any, Any]] | None = None,
                  received: float | list[float] | None = None) -> None:
    """Append served input rows (one transaction), keeping the newest ``keep`` rows per model.

    ``outputs`` gives, per row, the request id, the prediction and the class probabilities answered:
    what realized and estimated performance are computed from.
    """
    if records:
        store.db.run_in_transaction(lambda tx: tables.append_served(tx, name, version, records, keep=keep,
                                                                    outputs=outputs, received=received))


def served_frame(store: Store, name: str, limit: int = 1000, *, with_meta: bool = False) -> DataFrame:
    """The latest ``limit`` served input rows of a model, oldest first, typed by the schema."""
    import pandas as pd

    check_model_name(name)
    require_model(store, name)
    rows = tables.served_rows(store.db, name, limit)
    schema = get_version(store, f"{name}@{rows[-1][0]}" if rows else name).input_schema or {}
    columns = [c["name"] for c in schema.get("columns", [])] or None
    frame = pd.DataFrame.from_records([r[2] for r in rows], columns=columns)
    if rows:
        for col in schema.get("columns", []):
            if col["name"] in frame and col.get("dtype"):
                try:
                    frame[col["name"]] = frame[col["name"]].astype(col["dtype"])
                except (TypeError, ValueError):
                    pass
    if with_meta:
        frame["_version"] = [r[0] for r in rows]
        frame["_received"] = pd.to_datetime([r[1] for r in rows], unit="s", utc=True)
    return frame


def served_inputs(model: str, limit: int = 1000, *, with_meta: bool = False) -> DataFrame:
    """The latest inputs the server received for ``model``: a monitor stage's current data."""

    return served_frame(get_session().store, model, limit, with_meta=with_meta)

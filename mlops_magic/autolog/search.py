"""Hyper-parameter searches (``GridSearchCV``, ``RandomizedSearchCV``, the halving searches).

The search's own ``fit`` is the outermost one, so the clones it fits are not recorded one by one; what
is kept instead is what the search learnt: the best parameters (``best_C``) and score (``best_cv_score``),
and every candidate's parameters with its mean and standard deviation of test scores, as a CSV table
artifact and as metric series whose step is the candidate's index (``cv_mean_test_score``).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .naming import number, param_value
from .recorder import Search


def summarize(estimator: Any) -> Search | None:
    """What a fitted search found, or None for anything that is not a fitted search."""
    results = getattr(estimator, "cv_results_", None)
    if not isinstance(results, dict) or "params" not in results:
        return None
    candidates = list(results["params"])
    score_keys = [k for k in results if k.startswith(("mean_test_", "std_test_"))]
    rank_keys = [k for k in results if k.startswith("rank_test_")]
    table: list[dict[str, Any]] = []
    for i, params in enumerate(candidates):
        row: dict[str, Any] = {"candidate": i}
        row.update({f"param_{k}": param_value(v) for k, v in params.items()})
        for key in score_keys:
            row[key] = number(results[key][i])
        for key in rank_keys:
            row[key] = int(results[key][i])
        table.append(row)
    series = {f"cv_{key}": [float("nan") if v is None else v for v in (number(x) for x in results[key])]
              for key in score_keys}
    best = getattr(estimator, "best_params_", None)
    return Search(best_params={f"best_{k}": param_value(v) for k, v in (best or {}).items()},
                  best_score=number(getattr(estimator, "best_score_", None)), table=table, series=series)


def table_csv(table: list[dict[str, Any]]) -> bytes:
    """The candidates as CSV (every row's columns, in first-seen order)."""
    columns: list[str] = []
    for row in table:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue().encode("utf-8")

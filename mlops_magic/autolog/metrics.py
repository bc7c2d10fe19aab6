"""``sklearn.metrics`` functions that return one number: each call in a stage is a metric of that stage.

The functions are wrapped in ``sklearn.metrics`` (what ``from sklearn.metrics import f1_score`` inside
the stage finds) and, for the stage's duration, the notebook's own names bound to them by a setup cell
are rebound (:meth:`mlops_magic.autolog.observer`). A call costs a name lookup by identity in the
caller's frame and a list append: arguments are never copied, hashed or measured.
"""

from __future__ import annotations

import sys
from typing import Any

from .naming import metric_base, number, variable_name
from .patching import Patches, Scope, call_through
from .recorder import MetricCall, Recorder

#: The scalar metrics of ``sklearn.metrics`` (those this scikit-learn lacks are skipped).
FUNCTIONS = (
    "accuracy_score", "balanced_accuracy_score", "top_k_accuracy_score", "roc_auc_score",
    "average_precision_score", "f1_score", "fbeta_score", "precision_score", "recall_score", "jaccard_score",
    "log_loss", "brier_score_loss", "hamming_loss", "zero_one_loss", "matthews_corrcoef", "cohen_kappa_score",
    "r2_score", "explained_variance_score", "mean_squared_error", "root_mean_squared_error",
    "mean_absolute_error", "median_absolute_error", "mean_absolute_percentage_error", "mean_squared_log_error",
    "root_mean_squared_log_error", "max_error", "mean_poisson_deviance", "mean_gamma_deviance",
    "mean_tweedie_deviance", "mean_pinball_loss", "d2_absolute_error_score", "d2_pinball_score",
    "d2_tweedie_score", "d2_log_loss_score", "ndcg_score", "dcg_score", "label_ranking_average_precision_score",
    "label_ranking_loss", "coverage_error", "silhouette_score", "calinski_harabasz_score",
    "davies_bouldin_score", "adjusted_rand_score", "rand_score", "adjusted_mutual_info_score",
    "normalized_mutual_info_score", "mutual_info_score", "homogeneity_score", "completeness_score",
    "v_measure_score", "fowlkes_mallows_score",
)


def apply(patches: Patches, rec: Recorder) -> int:
    module = sys.modules.get("sklearn.metrics")
    if module is None or not rec.enabled("sklearn"):
        return 0
    return patches.wrap_all([module], FUNCTIONS, on_metric)


def on_metric(scope: Scope, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value = call_through(scope, inner, *args, **kwargs)
    rec: Recorder = scope.rec
    try:
        found = number(value)
        if found is not None:
            data = args[0] if args else kwargs.get("y_true", next(iter(kwargs.values()), None))
            base = metric_base(getattr(inner, "__name__", "metric"))
            rec.calls.append(MetricCall(base, variable_name(data, sys._getframe(2)), found))
    except Exception as exc:  # autolog never fails the cell
        rec.failed(getattr(inner, "__name__", "metric"), exc)
    return value

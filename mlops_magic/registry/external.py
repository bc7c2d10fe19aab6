"""Versions of models served elsewhere: registered from what they answered, without a model object.

A vendor's model, or one a batch job scores with, is known here only by its reference data: the
inputs it was checked on (schema, lineage, drift profile), its predictions and class probabilities
there, and the true labels. That is all drift, realized performance, CBPE and gates need, so such a
version is monitored like any other; it has no file (format ``none``), so it cannot be loaded or served
and saying so is one clear line (:func:`mlops_magic.registry.versions.load`).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..store import Store
from . import model_files as model_io
from .versions import ModelVersion, check_model_name, input_schema, record_version

#: The flavour of a version registered from its predictions.
EXTERNAL = "external"


def register_external(store: Store, name: str, *, input: Any = None, predictions: Any = None,
                      probabilities: Any = None, labels: Any = None, run_id: str | None = None,
                      stage_id: int | None = None, description: str | None = None,
                      input_name: str | None = None) -> ModelVersion:
    """Record the next version of ``name`` from reference data alone (see the module's docstring).

    ``input`` gives the input schema and the drift reference; ``predictions`` with ``labels`` (and
    ``probabilities`` for estimating without labels) the performance reference. At least one of them.
    """
    check_model_name(name)
    if probabilities is not None and predictions is None:
        raise InvalidInputError("probabilities= go with predictions=: give the reference predictions too")
    if labels is not None and predictions is None:
        raise InvalidInputError("labels= are compared with predictions: give the reference predictions= too")
    if input is None and predictions is None:
        raise InvalidInputError("registering without a model needs its reference data: input= (for drift) "
                                "and/or predictions= with labels= (for performance)")
    performance = None
    if predictions is not None:
        if labels is None:
            raise InvalidInputError("predictions= are compared with the true labels: give labels= too")
        from ..stats.performance import reference_from_predictions  # lazy: pulls numpy

        if input is not None and len(input) != len(predictions):
            raise InvalidInputError(f"input has {len(input)} rows but predictions has {len(predictions)}")
        performance = reference_from_predictions(predictions, probabilities, labels)
    none = model_io.StoredModel(digest="", size=0, format=model_io.NO_FILE, flavour=EXTERNAL, model_type=None,
                                trusted_types=[], environment={})
    return record_version(store, name, none, input=input, schema=input_schema(input), performance=performance,
                          run_id=run_id, stage_id=stage_id, description=description, input_name=input_name)

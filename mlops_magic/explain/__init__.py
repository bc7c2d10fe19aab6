"""Explain a change: a stage-aware diff of two runs, reproducing a run, lineage inferred from
fingerprints, and model cards written from the lifecycle.

One core for every face: ``mlops diff|reproduce|lineage|models card``, ``%mlops diff|lineage|card``
and ``GET /mlops/api/v1/diff`` call :func:`.diff.diff_runs`, :func:`.reproduce.reproduce`,
:func:`.lineage.lineage` and :func:`.card.model_card` (each takes a store); ``mlops.diff()`` and its
siblings are the session-bound twins in :mod:`.api`.
"""

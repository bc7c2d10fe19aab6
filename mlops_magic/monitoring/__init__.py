"""Drift and data-quality monitoring: reference vs current data, column by column.

``drift(reference, current)`` picks a two-sample test per column by kind and size and
flags a column only when the test is significant and its effect size reaches a floor;
``quality`` reports schema changes, missing values, unseen categories and out-of-range
values; ``profile(df)`` keeps a compact, JSON-serialisable reference so later checks need
only the current data. See docs/monitoring.md.
"""

from __future__ import annotations

from ..stats.profile import ColumnProfile, ReferenceProfile, profile
from .drift import DEFAULT_THRESHOLDS, TESTS, ColumnDrift, DriftReport, default_test, drift
from .quality import ColumnQuality, QualityIssue, QualityReport, quality

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TESTS",
    "ColumnDrift",
    "ColumnProfile",
    "ColumnQuality",
    "DriftReport",
    "QualityIssue",
    "QualityReport",
    "ReferenceProfile",
    "default_test",
    "drift",
    "profile",
    "quality",
]

"""Schedules and the scheduler: cron, data-change, after-notebook and drift triggers over the runner.

``tick()`` is one idempotent pass (safe when several run at once);
``run_loop()`` ticks forever. Schedules live in the store.
"""

from __future__ import annotations

from .schedules import Schedule, add_schedule, get_schedule, list_schedules, remove_schedule, set_paused
from .tick import Claimed, Fire, claim_due, run_loop, tick

__all__ = ["Claimed", "Fire", "Schedule", "add_schedule", "claim_due", "get_schedule", "list_schedules",
           "remove_schedule", "run_loop", "set_paused", "tick"]

"""Alerts: the store's events (a run failed, a gate failed, drift, a performance drop, a promotion) sent where
the team is: Slack, email, generic webhooks.

Rules and deliveries are tables (``store/alerts.py``), so alerting is an outbox beside the events log:
a rule queues one delivery per matching event, and delivery happens off the run's path (a daemon thread
of the process that wrote the event, the runner after a run, the scheduler after a tick), retried with
backoff, never failing a run. docs/operations.md is the user's guide. Importing this package imports
no network or mail library; channels import theirs when they send.
"""

from __future__ import annotations

from .courier import deliver_soon, watch_events

__all__ = ["deliver_soon", "watch_events"]

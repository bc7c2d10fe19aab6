"""System metrics of a headless run: the runner samples the kernel it started, from outside it.

The sampler runs in the runner's process (on a Dask worker, where the kernel runs), so a kernel killed
by the OOM killer still has its memory recorded up to its last sample, and the notebook's own code pays
nothing. The kernel's session does not sample the stages of a run it is attached to; each stage's share
is read from these points by time (``tracking/system_summary.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..store import Store
from ..tracking.system import start_sampler


@contextmanager
def sampling(store: Store, run_id: str, slot: Any) -> Iterator[None]:
    """Sample ``slot``'s kernel process tree into the run's ``system.*`` series while the block runs."""
    sampler = start_sampler(store, run_id, getattr(slot, "pid", None))
    try:
        yield
    finally:
        if sampler is not None:
            sampler.stop()

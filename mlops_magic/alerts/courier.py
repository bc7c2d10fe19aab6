"""Delivery off the run's path: one daemon thread per process, woken when the process writes an event.

:func:`watch_events` subscribes to the events this process writes (``store/events.py``); an alertable
one wakes the thread, which makes a :func:`~.delivery.deliver` pass for the stores it was told about. At
exit, one last pass within :data:`EXIT_BUDGET` seconds sends what is due (a pass under way is waited
for, so nothing it claimed is left mid-send); what fails is retried by the next deliverer. Importing
this module imports no channel, so ``%load_ext`` stays light.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..store import Store, open_store
from ..store import events as events_table
from .rules import KIND_OF_EVENT

log = logging.getLogger("mlops_magic.alerts")

EXIT_BUDGET = 10.0  # seconds a process spends at exit sending what it queued


def _deliver(url: str, budget: float) -> Any:
    """One pass on the store at ``url``, opened again (the process may have closed its own handle since:
    a test's cleanup, a session pointed elsewhere); a store that is gone is skipped quietly."""
    from .delivery import deliver  # lazy: %load_ext stays light

    try:
        store = open_store(url, create=False)
    except Exception as exc:
        log.debug("mlops alerts: store %s is gone: %s", url, exc)
        return None
    return deliver(store, budget=budget)


class _Courier:
    """One daemon thread per process delivering for the stores it was told about."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._passing = threading.Lock()  # held during a pass: the exit flush waits for it, then passes once more
        self._wake = threading.Event()
        self._stores: set[str] = set()  # store URLs
        self._thread: threading.Thread | None = None
        self._at_exit = False

    def kick(self, store: Store) -> None:
        with self._lock:
            self._stores.add(store.url)
            if not self._at_exit:
                atexit.register(self.flush)
                self._at_exit = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mlops-alerts", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(0.2)  # a kick comes from inside the writing transaction: let it commit
            with self._passing:
                for url in sorted(self._stores):
                    _deliver(url, 30.0)

    def flush(self) -> None:
        """At exit: one last pass for each store, within :data:`EXIT_BUDGET` seconds in all (a pass under
        way in the thread is waited for, so nothing it claimed is left mid-send)."""
        deadline = time.monotonic() + EXIT_BUDGET
        if not self._passing.acquire(timeout=EXIT_BUDGET):
            return
        try:
            for url in sorted(self._stores):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _deliver(url, left)
        finally:
            self._passing.release()


_courier = _Courier()


def deliver_soon(store: Store) -> None:
    """Deliver in a daemon thread of this process (and once more at its exit); returns at once."""
    try:
        _courier.kick(store)
    except Exception as exc:  # never let an alert reach the caller
        log.warning("mlops alerts: cannot start delivery: %s", exc)


_watchers: dict[str, Callable[[], Store | None]] = {}


def watch_events(key: str, store_of: Callable[[], Store | None]) -> None:
    """Deliver soon after this process writes an alertable event, to the store ``store_of()`` names
    (``key`` names the watcher: registering it again replaces it)."""
    _watchers[key] = store_of
    events_table.subscribe(_heard)


def _heard(kind: str) -> None:
    if kind not in KIND_OF_EVENT:
        return
    for store_of in list(_watchers.values()):
        store = store_of()
        if store is not None:
            deliver_soon(store)

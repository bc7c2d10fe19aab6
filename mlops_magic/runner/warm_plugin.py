"""The Dask worker plugin that keeps a warm kernel on each worker (see ``warm.py``).

Registered by every ``DaskExecutor`` (idempotent: a second submitter finds it there and changes
nothing), so workers need no start-up option; ``MLOPS_DASK_WARM_KERNEL=0`` in the submitter's
environment leaves it out. Importing this module imports ``distributed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from .warm import WarmKernel

PLUGIN_NAME = "mlops-warm-kernel"


class WarmKernelPlugin(WorkerPlugin):  # type: ignore[misc]
    idempotent = True
    name = PLUGIN_NAME

    def __init__(self) -> None:
        self.pool: WarmKernel | None = None

    def setup(self, worker: Any) -> None:
        self.pool = WarmKernel(Path(worker.local_directory) / "mlops-warm")
        self.pool.refill()  # boots in a thread: the worker's event loop is not held

    def teardown(self, worker: Any) -> None:
        if self.pool is not None:
            self.pool.close()


def worker_pool() -> WarmKernel | None:
    """The warm kernel pool of the worker running the current task, if the plugin is there."""
    from distributed import get_worker

    try:
        plugin = get_worker().plugins.get(PLUGIN_NAME)
    except ValueError:  # not in a worker
        return None
    return plugin.pool if isinstance(plugin, WarmKernelPlugin) else None


def register(client: Any) -> None:
    client.register_plugin(WarmKernelPlugin(), name=PLUGIN_NAME)

"""Per-column work on several cores: numpy's sorts and passes release the GIL, so threads scale.

A drift test or a profile handles each column on its own (one sort per side, then passes over the
sorted values), and on a million rows a column takes tens of milliseconds of numpy code that runs
without the GIL. Threads, not processes: the columns are views of frames already in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Below this many rows (both sides together) a column takes well under a millisecond: no threads.
PARALLEL_MIN_ROWS = 200_000


def map_columns(fn: Callable[[T], R], items: Sequence[T], *, rows: int) -> list[R]:
    """``[fn(item) for item in items]``, in order, on up to one thread per core when ``rows`` is large.

    An exception in any call is raised here, as the sequential loop would raise it.
    """
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2 or rows < PARALLEL_MIN_ROWS:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlops-columns") as pool:
        return list(pool.map(fn, items))

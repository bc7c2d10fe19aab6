"""A real ``mlops serve`` app (Starlette on Uvicorn) on a free port of 127.0.0.1, driven with httpx."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
from _support import free_port


@contextlib.contextmanager
def running(app: Any) -> Iterator[httpx.Client]:
    """Serve ``app`` until the block ends; the server's shutdown (its last flush) is done on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=20)

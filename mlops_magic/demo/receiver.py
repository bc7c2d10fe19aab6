"""A tiny alert receiver for ``mlops demo``: an HTTP server on 127.0.0.1 that keeps the JSON it is sent.

The demo points a webhook alert rule at it, so the story shows the alerts a team would get (the
performance drop, the promotion that followed) without any account anywhere. Not for production: it
checks no signature and keeps everything in memory.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AlertReceiver:
    """``with AlertReceiver() as r:`` … ``r.url`` receives; :meth:`take` returns what arrived since the last call."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self._received = received
        self._lock = threading.Lock()
        lock = self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    message = json.loads(body)
                except ValueError:
                    message = {"title": body[:200].decode("utf-8", "replace")}
                with lock:
                    received.append(message)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, name="mlops-demo-receiver", daemon=True)

    def __enter__(self) -> AlertReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self._received[:] = list(self._received), []
        return taken

"""What a cell shows, recorded while it runs and shown again when the stage is restored from the cache.

The recording is a tee: ``display()`` output through the shell's display publisher, and ``print`` output
through ``sys.stdout``/``sys.stderr``, still reach the notebook as they are recorded. The cell's result
(``Out[n]``) is added after it runs, formatted by the shell's display formatter. Widget views are not
kept (their models do not outlive the kernel); neither is anything past 10 MiB of outputs.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MAX_BYTES = 10 * 2**20
_WIDGET = "application/vnd.jupyter.widget-view+json"


class _Tee:
    """A text stream that writes through to ``stream`` and records what was written."""

    def __init__(self, stream: Any, name: str, capture: OutputCapture) -> None:
        self.stream = stream
        self.name = name
        self.capture = capture

    def write(self, text: str) -> int:
        self.capture.add_stream(self.name, text)
        return self.stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class OutputCapture:
    """Records a cell's outputs as nbformat-like dicts between :meth:`start` and :meth:`stop`."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.outputs: list[dict[str, Any]] = []
        self.size = 0
        self.truncated = False
        self._pub: Any = None
        self._tees: list[_Tee] = []

    def start(self) -> None:
        pub = self.shell.display_pub
        original = pub.publish

        def publish(*args: Any, **kwargs: Any) -> Any:
            data = kwargs.get("data", args[0] if args else None)
            metadata = kwargs.get("metadata", args[1] if len(args) > 1 else None)
            if isinstance(data, dict) and not kwargs.get("update"):
                self.add_display(data, metadata)
            return original(*args, **kwargs)

        pub.publish = publish  # an instance attribute: the class's method stays as it was
        self._pub = pub
        self._tees = [_Tee(sys.stdout, "stdout", self), _Tee(sys.stderr, "stderr", self)]
        sys.stdout, sys.stderr = self._tees[0], self._tees[1]  # type: ignore[assignment]

    def stop(self) -> None:
        if self._pub is not None and "publish" in vars(self._pub):
            del self._pub.publish
        self._pub = None
        if self._tees:
            out, err = self._tees
            if sys.stdout is out:
                sys.stdout = out.stream
            if sys.stderr is err:
                sys.stderr = err.stream
        self._tees = []

    def add_result(self, value: Any) -> None:
        """The cell's displayed result, as the shell would format it."""
        data, metadata = self.shell.display_formatter.format(value)
        if data:
            self.add_display(data, metadata, result=True)

    def add_stream(self, name: str, text: str) -> None:
        if not isinstance(text, str) or not text or not self._room(len(text)):
            return
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def add_display(self, data: dict[str, Any], metadata: Any, *, result: bool = False) -> None:
        kept = {k: v for k, v in data.items() if k != _WIDGET}
        if not kept:
            return
        item = {"output_type": "display_data", "data": kept, "metadata": dict(metadata or {}), "result": result}
        try:
            size = len(json.dumps(item, default=str))
        except (TypeError, ValueError):
            return
        if self._room(size):
            self.outputs.append(json.loads(json.dumps(item, default=str)))

    def _room(self, size: int) -> bool:
        self.size += size
        if self.size > MAX_BYTES:
            self.truncated = True
        return not self.truncated


def replay(shell: Any, outputs: list[dict[str, Any]]) -> None:
    """Show recorded outputs again, in order (a result is shown as display data, without an Out[n] prompt)."""
    for item in outputs:
        if item.get("output_type") == "stream":
            stream = sys.stderr if item.get("name") == "stderr" else sys.stdout
            stream.write(str(item.get("text", "")))
        elif item.get("output_type") == "display_data" and isinstance(item.get("data"), dict):
            shell.display_pub.publish(data=item["data"], metadata=item.get("metadata") or {})
    sys.stdout.flush()

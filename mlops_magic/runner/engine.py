"""A papermill engine that executes on a kernel the runner started, then kills it.

Registered in papermill's engine registry as ``mlops``: papermill still
parameterises, tracks cells, saves the notebook after each cell and raises
``PapermillExecutionError`` naming the failing cell; this engine only changes
where the kernel comes from and how it ends (killed once the notebook is
saved, instead of a polite shutdown that can hang for seconds).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

ENGINE_NAME = "mlops"
_registered = False

#: What ``papermill.iorw`` imports, when installed, to read and write remote notebook paths (S3, Azure, HDFS).
#: The runner hands papermill local paths only, and these cost ~0.2 s of every ``mlops run`` (boto3 0.08 s,
#: pyarrow.fs 0.13 s under ``python -X importtime``), so they are kept out while papermill loads.
#: ``papermill.iorw`` imports each inside ``try/except ImportError`` and leaves that handler out.
_REMOTE_IO = ("papermill.s3", "papermill.adl", "papermill.abs", "pyarrow.fs")
_import_lock = threading.Lock()


def import_papermill() -> None:
    """Import papermill without its remote-path handlers (a no-op once papermill is loaded).

    Each of ``_REMOTE_IO`` not already imported is marked absent only for the duration of the import,
    then unmarked, so anything that imports ``pyarrow.fs`` afterwards gets it as usual.
    """
    if "papermill.execute" in sys.modules:
        return
    with _import_lock:
        hidden = [name for name in _REMOTE_IO if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            import papermill  # noqa: F401 - lazy: ~0.5 s, loaded by the process that executes a notebook
        finally:
            for name in hidden:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]


def register() -> str:
    global _registered
    if not _registered:
        import_papermill()
        from papermill.engines import NBClientEngine, papermill_engines

        class MlopsEngine(NBClientEngine):
            @classmethod
            def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                         stdout_file: Any = None, stderr_file: Any = None,
                                         start_timeout: int = 60, execution_timeout: Any = None,
                                         km: Any = None, **kwargs: Any) -> Any:
                from papermill.log import logger

                client = CellIdNotebookClient(
                    nb_man, km=km, kernel_name=kernel_name, log=logger, log_output=log_output,
                    stdout_file=stdout_file, stderr_file=stderr_file, startup_timeout=start_timeout,
                    timeout=execution_timeout, shutdown_kernel="immediate",
                )
                # cleanup_kc: stop the client's channels and kill the kernel even though we own it
                return client.execute(cleanup_kc=True)

        from papermill.clientwrap import PapermillNotebookClient

        class CellIdNotebookClient(PapermillNotebookClient):  # type: ignore[misc]
            # nbclient binds ``execute_cell = run_sync(async_execute_cell)`` at class level, so the
            # sync entry point papermill calls is the one to wrap.
            def execute_cell(self, cell: Any, cell_index: int, *args: Any, **kw: Any) -> Any:
                if self.kc is not None:
                    self.kc.mlops_cell_id = cell.get("id")
                return super().execute_cell(cell, cell_index, *args, **kw)

        papermill_engines.register(ENGINE_NAME, MlopsEngine)
        _registered = True
    return ENGINE_NAME


def cell_id_client_class() -> type:
    """An async kernel client that sends the cell id with each execution, as JupyterLab does.

    IPython hands that id to ``pre_run_cell``; the stage tracker in the kernel
    looks the cell's ``mlops:KIND`` tag up by it. nbclient does not send it
    (``KernelClient.execute`` has no metadata argument), so this client adds
    ``metadata.cellId`` to the ``execute_request`` itself.
    """
    global _client_class
    if _client_class is None:
        from jupyter_client.asynchronous import AsyncKernelClient

        class CellIdKernelClient(AsyncKernelClient):  # type: ignore[misc]
            mlops_cell_id: str | None = None

            def execute(self, code: str, silent: bool = False, store_history: bool = True,
                        user_expressions: dict[str, Any] | None = None, allow_stdin: bool | None = None,
                        stop_on_error: bool = True) -> str:
                content = {"code": code, "silent": silent, "store_history": store_history,
                           "user_expressions": user_expressions or {},
                           "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin,
                           "stop_on_error": stop_on_error}
                metadata = {"cellId": self.mlops_cell_id} if self.mlops_cell_id else {}
                msg = self.session.msg("execute_request", content, metadata=metadata)
                self.shell_channel.send(msg)
                return msg["header"]["msg_id"]

        _client_class = CellIdKernelClient
    return _client_class


_client_class: type | None = None

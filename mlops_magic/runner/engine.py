"""A papermill engine that executes on a kernel the runner started, then kills it.

Registered in papermill's engine registry as ``mlops``: papermill still
parameterises, tracks cells, saves the notebook after each cell and raises
``PapermillExecutionError`` naming the failing cell; this engine only changes
where the kernel comes from and how it ends (killed once the notebook is
saved, instead of a polite shutdown that can hang for seconds).
"""

from __future__ import annotations

from typing import Any

ENGINE_NAME = "mlops"
_registered = False


def register() -> str:
    global _registered
    if not _registered:
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

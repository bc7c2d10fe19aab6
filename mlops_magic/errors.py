"""One exception root for mlops-magic.

Every error a user can cause is an :class:`MlopsError` carrying a one-line
message that names the fix. The faces translate it at their edge only: the
magic raises ``UsageError(str(e))``, the CLI a ``click.ClickException``, the
REST handler an ``HTTPError`` with :attr:`MlopsError.status`.
"""

from __future__ import annotations


class MlopsError(Exception):
    """Root of every error mlops-magic raises on purpose."""

    #: HTTP status the REST API answers with for this error.
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInputError(MlopsError):
    """The caller passed something malformed: a bad key=value, a bad stage kind, a bad test name."""


class NotFoundError(MlopsError):
    """A run, stage, model, alias, schedule or file that does not exist."""

    status = 404


class ConflictError(MlopsError):
    """The request is valid but the current state forbids it (a failed gate, an active run)."""

    status = 409


class StoreError(MlopsError):
    """The store cannot be opened or written: unwritable folder, newer schema, unreachable database."""

    status = 500


class StoreVersionError(StoreError):
    """The store was written by a newer mlops-magic; it is refused, never altered."""


class StoreConflict(StoreError):
    """A write collided with the store's state: a uniqueness rule (two writers claimed the same row), or a
    transaction that stayed contended after the store's own retries. Asking again may succeed."""

    status = 409


class StoreDuplicate(StoreConflict):
    """A row with the same unique key is already there: another writer inserted it first."""


class StoreUnavailable(StoreError):
    """The database did not answer: unreachable, connection lost, or locked by another writer for longer
    than the store waits."""

    status = 503


class GateFailedError(ConflictError):
    """A quality gate did not pass; headless runs exit with a distinct status.

    ``%mlops gate`` and ``mlops.gate()`` raise this same error, so the failing cell of a headless run
    is named ``GateFailedError`` whichever face the notebook used. In IPython it shows as its one
    line, not a traceback (``_render_traceback_`` is IPython's hook for exactly that).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"GateFailedError: {self}"]


class ExecutionError(MlopsError):
    """A headless run could not be executed: no such kernel, or a run that did not succeed where a
    caller needs it to. ``stage`` and ``cell_index`` name where it failed when a cell did (else None)."""

    status = 500

    def __init__(self, message: str, *, stage: str | None = None, cell_index: int | None = None) -> None:
        super().__init__(message)
        self.stage = stage
        self.cell_index = cell_index


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a headless run; the run was recorded ``killed``, and :attr:`run_id` names it.

    A ``KeyboardInterrupt`` (not an :class:`MlopsError`), so everything that stops on Ctrl-C still does;
    the CLI catches it to say which run it killed.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id[:8]} interrupted")
        self.run_id = run_id


class ClusterError(MlopsError):
    """A cluster executor cannot be used: Dask not installed, or its scheduler cannot be reached."""

    status = 503

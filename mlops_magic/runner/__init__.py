"""Headless runs over papermill: stage selection, parameters, executors, retries, status mapping.

``run_notebooks()`` is the core the CLI (``mlops run``), the scheduler and
Python callers share: it validates every request first (bad input raises a
one-line :class:`~mlops_magic.errors.MlopsError` and nothing is recorded),
then executes them through an executor and returns one
:class:`RunResult` per request, in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInputError
from ..store import open_store
from .executor_url import LOCAL, check_executor_url, make_executor, parse_resources
from .kernels import kill_all, resolve_kernel_name
from .prepare import new_run_id, prepare
from .request import EXIT_CODES, EXIT_USAGE, RunRequest, RunResult


def run_notebooks(requests: Sequence[RunRequest], *, store: Any = None, parallel: int = 1,
                  on_result: Callable[[RunResult], None] | None = None,
                  warn: Callable[[str], None] | None = None, executor: Any = None) -> list[RunResult]:
    """Run ``requests``; ``executor`` is a URL (``local``, ``local:N``, ``dask://HOST:PORT``), a
    ``distributed.Client`` or an executor object; None means the project default (``MLOPS_EXECUTOR``,
    else ``executor`` in ``.mlops/config.json``, else local)."""

    store = store or open_store(requests[0].store_url if requests else None)
    preps = [prepare(r, store.project_dir) for r in requests]
    for prep in preps:
        check_kernel(prep.kernel)
        for name in prep.unknown_params:
            known = ", ".join(prep.known_params) or "none: no cell is tagged 'parameters'"
            (warn or _log_warning)(f"warning: {prep.request.notebook} has no parameter {name!r} "
                                   f"(its parameters: {known}); it is injected anyway")
    if isinstance(executor, str):
        executor = check_executor_url(executor)  # bad input: refused before anything is recorded
    runner = make_executor(store, parallel, executor)
    local = getattr(runner, "label", LOCAL).startswith(LOCAL)
    if any(r.resources for r in requests) and local:
        (warn or _log_warning)("warning: --resources apply to cluster executors only; "
                               "ignored by the local executor")
    if parallel > 1 and not local:
        (warn or _log_warning)(f"warning: --parallel is ignored on {runner.label}: its workers decide how many "
                               "runs execute at once")
    try:
        return runner.run_all(preps, on_result)
    except KeyboardInterrupt:  # Ctrl-C: the run was marked killed; leave no local kernel behind

        kill_all()
        raise
    finally:
        runner.shutdown()


def run_notebook(notebook: str, params: dict[str, Any] | None = None, **options: Any) -> RunResult:
    """Execute one notebook headlessly; ``options`` are :class:`RunRequest` fields."""

    store = options.pop("store", None)
    executor = options.pop("executor", None)
    if "resources" in options:
        options["resources"] = parse_resources(options["resources"])
    return run_notebooks([RunRequest(notebook=notebook, params=dict(params or {}), **options)], store=store,
                         executor=executor)[0]


_background: Any = None


def submit_notebook(store: Any, notebook: str | os.PathLike[str], *, params: dict[str, Any],
                    stages: Sequence[str] = ()) -> str:
    """Validate a headless run now (bad input raises before anything is recorded), then execute it
    in a background thread through the runner's core; returns the run id it will have."""
    from concurrent.futures import ThreadPoolExecutor


    global _background
    request = RunRequest(notebook=str(notebook), params=params, stages=tuple(stages), trigger="manual",
                         store_url=store.url, run_id=new_run_id())
    check_kernel(prepare(request, store.project_dir).kernel)
    if _background is None:
        _background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlops-run-now")
    future = _background.submit(run_notebooks, [request], store=store)
    future.add_done_callback(_log_failure)
    return str(request.run_id)


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:
        import logging

        logging.getLogger("mlops_magic.runner").error("headless run failed to run: %s", exc, exc_info=exc)


def _log_warning(message: str) -> None:
    import logging

    logging.getLogger("mlops_magic.runner").warning(message)


_known_kernels: set[str] = set()


def check_kernel(name: str | None) -> None:
    """An unknown kernel name is bad input, reported before any run is created."""

    if not name or name in _known_kernels:
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(resolve_kernel_name(name))  # "python" runs, as under papermill
    except NoSuchKernel:
        names = ", ".join(sorted(manager.find_kernel_specs())) or "none installed"
        raise InvalidInputError(f"no Jupyter kernel named {name!r}; installed: {names}; "
                                "choose one with --kernel") from None
    _known_kernels.add(name)


__all__ = ["EXIT_CODES", "EXIT_USAGE", "RunRequest", "RunResult", "run_notebook", "run_notebooks", "submit_notebook"]

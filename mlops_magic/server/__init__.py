"""Jupyter server extension: the mlops-magic REST API under ``/mlops/api/v1/``.

The handlers are a face over the core (see ``handlers.py``): they parse the
request, call the same functions the CLI and the magics call, and translate
:class:`~mlops_magic.errors.MlopsError` into a JSON error with its status.
Settings: ``c.MlopsExtension.allowed_stores`` (``stores.py``, ``docs/lab.md``).
"""

from __future__ import annotations

from typing import Any

API_PREFIX = "mlops/api/v1"


def routes() -> list[tuple[str, Any]]:
    """Every route of the REST API as ``(pattern under API_PREFIX, handler class)``, as registered."""
    from . import handlers, notebooks, runs_table  # lazy: pulls jupyter_server

    return handlers.ROUTES + notebooks.ROUTES + runs_table.ROUTES


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    # Lets `mlops_magic.server` be enabled on its own too (tests, development).
    return [{"module": "mlops_magic.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from jupyter_server.utils import url_path_join

    from .stores import settings_for  # lazy: pulls jupyter_server

    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.settings.setdefault("mlops_root_dir", serverapp.root_dir)
    web_app.settings.update(settings_for(serverapp))
    web_app.add_handlers(".*$", [(url_path_join(base_url, API_PREFIX, pattern), handler)
                                 for pattern, handler in routes()])
    serverapp.log.info("mlops-magic: REST API at %s", url_path_join(base_url, API_PREFIX))


# Jupyter server < 2 and some tools still look for the old name.
load_jupyter_server_extension = _load_jupyter_server_extension

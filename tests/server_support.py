"""What every test of the REST API against a real Jupyter server shares (import the fixture by name)."""

from __future__ import annotations

import json
from typing import Any

import pytest

API = "mlops/api/v1"


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    """pytest-jupyter's server config, with the mlops-magic server extension enabled."""
    jp_server_config["ServerApp"]["jpserver_extensions"]["mlops_magic.server"] = True
    return jp_server_config



async def get_json(jp_fetch: Any, *parts: str, **kwargs: Any) -> Any:
    """A 2xx JSON answer of the API."""
    response = await jp_fetch(API, *parts, **kwargs)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of an answer that must be an error."""
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(API, *parts, **kwargs)
    body = info.value.response.body if info.value.response else b"{}"
    return info.value.code, json.loads(body or b"{}")

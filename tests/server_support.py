"""What every test of the REST API against a real Jupyter server shares (import the fixture by name)."""

from __future__ import annotations

from typing import Any

import pytest

API = "mlops/api/v1"


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    """pytest-jupyter's server config, with the mlops-magic server extension enabled."""
    jp_server_config["ServerApp"]["jpserver_extensions"]["mlops_magic.server"] = True
    return jp_server_config

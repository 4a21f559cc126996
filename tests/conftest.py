"""Shared fixtures."""

from __future__ import annotations

import pytest

#: Protocols the data-plane end-to-end tests run over (the ``protocol`` fixture).
E2E_PROTOCOLS = ["wss", "mqtt"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=E2E_PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    """The carrier an end-to-end test's clients use (one run per protocol)."""
    value: str = request.param
    return value

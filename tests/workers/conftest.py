"""Fixtures of the several-workers tests: a local hub and one identity file shared by every
worker of a service (its Noise key folder ``hivemind/`` beside it, docs/protocol.md §1.7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from thalovant.hub import LocalHub, write_identity_file
from thalovant.testing import HubTLS


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def hub(anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path) -> AsyncIterator[LocalHub]:
    """A running local hub (demo skills, trustme TLS)."""
    async with LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context) as running:
        yield running


@pytest.fixture
def identity_file(hub: LocalHub, tmp_path: Path) -> Path:
    """One registered client's identity file, shared by every worker."""
    return write_identity_file(hub.register_client("web"), tmp_path / "app" / "_identity.json")

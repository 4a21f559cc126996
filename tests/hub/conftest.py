"""Hub fixtures: a started hub with trustme TLS, and raw clients closed after each test.

Credentials are deterministic (``ak-<name>`` / ``pw-<name>``) and the node id is fixed, so
each client's Argon2id PSK is derived once per test session (the process-wide PSK cache is
shared by the hub and the raw clients).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.testing import HubTLS

from .raw_client import RawClient

NODE_ID = "thalovant-test-hub"


def register(hub: LocalHub, name: str = "alice", **kwargs: Any) -> ThalovantIdentity:
    """Register ``name`` with deterministic credentials."""
    kwargs.setdefault("access_key", f"ak-{name}")
    kwargs.setdefault("password", f"pw-{name}")
    return hub.register_client(name, **kwargs)


class Clients:
    """Opens raw clients against one hub and closes them all at teardown."""

    def __init__(self, hub: LocalHub, tls: HubTLS) -> None:
        self.hub = hub
        self.tls = tls
        self.opened: list[RawClient] = []

    async def connect(
        self, identity: ThalovantIdentity, *, ready: bool = True, **kwargs: Any
    ) -> RawClient:
        """Connect; with ``ready`` also wait until the hub has taken the client's HELLO
        (after which its client key is pinned)."""
        kwargs.setdefault("site_id", identity.site_id)
        kwargs.setdefault("password", identity.password)
        client = await RawClient.connect(
            kwargs.pop("url", self.hub.wss_url),
            access_key=kwargs.pop("access_key", identity.access_key),
            ssl=self.tls.client_context,
            **kwargs,
        )
        self.opened.append(client)
        if ready and kwargs.get("send_hello", True):
            with anyio.fail_after(5):
                await self.hub.wait_for_session(client.session_id)
        return client

    async def aclose(self) -> None:
        for client in self.opened:
            await client.aclose()


@pytest.fixture
async def hub(hub_tls: HubTLS, tmp_path: Path) -> AsyncIterator[LocalHub]:
    async with LocalHub(
        tmp_path / "hub", node_id=NODE_ID, ssl_context=hub_tls.server_context
    ) as started:
        yield started


@pytest.fixture
async def clients(hub: LocalHub, hub_tls: HubTLS) -> AsyncIterator[Clients]:
    opened = Clients(hub, hub_tls)
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
async def alice(hub: LocalHub, clients: Clients) -> RawClient:
    """Client ``alice`` (default allow-list), connected."""
    return await clients.connect(register(hub))

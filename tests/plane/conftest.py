"""Fixtures of the whole-control-plane tests (docs/control-plane.md): a local hub (built
here explicitly), its local control plane over real HTTPS (trustme), a signed-in async
client, and a data-plane client to ask the hub things."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.hub import LocalHub
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.testing import HubTLS

EMAIL, PASSWORD = "grace@example.test", "a long and winding passphrase"
JOKE = "Tell me a joke."
JOKE_SKILL = "thalovant-demo.joke"


def make_hub(state_dir: Path, tls: HubTLS) -> LocalHub:
    """The hub of these tests: demo skills, nothing answering what no skill matches."""
    # fallback: off (the unanswered asks need ovos.intent.unmatched)
    return LocalHub(state_dir, ssl_context=tls.server_context, mqtt_broker=None, fallback=False)


@pytest.fixture(scope="module")
def account() -> LocalAccount:
    return LocalAccount.create(EMAIL, PASSWORD)


@pytest.fixture
async def hub(hub_tls: HubTLS, tmp_path: Path) -> AsyncIterator[LocalHub]:
    async with make_hub(tmp_path / "hub", hub_tls) as running:
        yield running


@pytest.fixture
async def control(
    hub: LocalHub, account: LocalAccount, hub_tls: HubTLS
) -> AsyncIterator[LocalControlPlane]:
    async with LocalControlPlane(hub, account, ssl_context=hub_tls.server_context) as running:
        running.state.skills.step_seconds = 0.05
        yield running


@pytest.fixture
async def api(
    control: LocalControlPlane, hub_tls: HubTLS
) -> AsyncIterator[AsyncThalovantControlPlane]:
    async with AsyncThalovantControlPlane(
        control.api_url, ssl_context=hub_tls.client_context
    ) as client:
        await client.login(EMAIL, PASSWORD)
        client.retry_wait_max = 1.0
        yield client


@pytest.fixture
async def asker(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> AsyncIterator[AsyncThalovantClient]:
    identity = hub.register_client("asker")
    async with AsyncThalovantClient(
        identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
    ) as client:
        yield client

"""Client fixtures: a local hub on loopback with trustme TLS, and clients closed after use.

The hub's node id is fixed and credentials are deterministic (``ak-<name>`` / ``pw-<name>``),
so each Argon2id PSK is derived once per test session (the process-wide PSK cache is shared
by hub and clients). The XXpsk2 refusal window is shortened: on loopback a refusal close
arrives within milliseconds, and every first contact would otherwise wait 0.75 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.mosquitto import Mosquitto, mosquitto_available
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link, pin_id_for
from thalovant.link.supervisor import Backoff
from thalovant.testing import HubTLS

NODE_ID = "thalovant-client-test-hub"
ClientFactory = Callable[..., AsyncThalovantClient]


@pytest.fixture(autouse=True)
def short_refusal_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)


def register(hub: LocalHub, name: str = "kiosk", **kwargs: Any) -> ThalovantIdentity:
    """Register ``name`` with deterministic credentials."""
    kwargs.setdefault("access_key", f"ak-{name}")
    kwargs.setdefault("password", f"pw-{name}")
    return hub.register_client(name, **kwargs)


#: A ``protocol`` value: MQTT through a real mosquitto (with its password and ACL files)
#: instead of the hub's embedded broker.
MQTT_MOSQUITTO = "mqtt-mosquitto"


@pytest.fixture
async def hub(
    anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LocalHub]:
    """A running local hub with the demo skills and a fixed node id (its MQTT through
    mosquitto when the test's ``protocol`` is :data:`MQTT_MOSQUITTO`)."""
    protocol = request.getfixturevalue("protocol") if "protocol" in request.fixturenames else None
    options: dict[str, Any] = {}
    broker: Mosquitto | None = None
    if protocol == MQTT_MOSQUITTO:
        if not mosquitto_available():
            pytest.fail("mosquitto is not installed: apt-get install -y mosquitto")
        broker = Mosquitto(tmp_path / "mosquitto", hub_tls)
        broker.start()
        options = {
            "mqtt_broker": broker.hub_url,
            "mqtt_client_url": broker.client_url,
            "mqtt_provisioner": broker.add_client,
        }
    try:
        async with LocalHub(
            tmp_path / "hub", ssl_context=hub_tls.server_context, node_id=NODE_ID, **options
        ) as running:
            yield running
    finally:
        if broker is not None:
            broker.stop()


@pytest.fixture
def identity(hub: LocalHub) -> ThalovantIdentity:
    """A registered client of ``hub``."""
    return register(hub)


def pin_id(identity: ThalovantIdentity, protocol: str) -> str:
    """The Noise pin id of ``identity``'s hub over ``protocol`` (docs/protocol.md §1.7)."""
    return pin_id_for(protocol, identity)


@pytest.fixture
async def make_client(
    anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[ClientFactory]:
    """Build clients over ``protocol`` that trust the test CA and keep Noise state in
    ``tmp_path``.

    Redials wait 10-20 ms instead of 0.5-1 s. Every client built is closed after the test.
    A test using the ``protocol`` fixture gets clients over that protocol.
    """
    made: list[AsyncThalovantClient] = []
    protocol = request.getfixturevalue("protocol") if "protocol" in request.fixturenames else None

    def factory(identity: ThalovantIdentity, **opts: Any) -> AsyncThalovantClient:
        if protocol is not None:
            opts.setdefault("protocol", "mqtt" if protocol == MQTT_MOSQUITTO else protocol)
        opts.setdefault("ssl_context", hub_tls.client_context)
        opts.setdefault("noise_state_dir", tmp_path / "noise")
        client = AsyncThalovantClient(identity, **opts)
        client.reconnect_backoff = Backoff(initial=0.02, floor=0.01)
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.close(timeout=2)


@pytest.fixture
async def client(
    make_client: ClientFactory, identity: ThalovantIdentity
) -> AsyncIterator[AsyncThalovantClient]:
    """A connected client of ``hub`` (closed after the test)."""
    async with make_client(identity) as connected:
        yield connected

"""Interop fixtures: the independent HiveMind hub (session scope) and clients of it.

The ``peer`` fixture builds the peer venv on first use (cached under
``${XDG_CACHE_HOME:-~/.cache}/thalovant-interop``), starts broker, bus, responder and
hivemind-core on free loopback ports, and stops them by pid at the end of the session, even
when tests fail. A build failure (no network) fails the tests with the reason; it never skips.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from thalovant.carriers import AVAILABLE_CARRIERS
from thalovant.client.client import AsyncThalovantClient
from thalovant.identity.model import ThalovantIdentity
from thalovant.sync.client import ThalovantClient
from thalovant.testing import HubTLS

from .peer import PeerHub, peer_venv

CARRIERS = ["wss", "https", "mqtt"]
#: A type a restricted client may send; it may not send utterances.
OTHER_TYPE = "thalovant.interop.other"
#: Clients registered up front (each client program needs its own access key).
POOL_SIZE = 64
RESTRICTED_POOL_SIZE = 8

AsyncFactory = Callable[..., AsyncThalovantClient]
SyncFactory = Callable[..., ThalovantClient]


def need_carrier(carrier: str) -> None:
    """Every carrier the interop tests take must exist in this build (a failure, not a skip)."""
    assert carrier in AVAILABLE_CARRIERS, f"no {carrier} carrier in this build"


@pytest.fixture(scope="session")
def peer_dir() -> Path:
    """The peer venv (built on first use; a build failure fails the test with the reason)."""
    return peer_venv()


@pytest.fixture(scope="session")
def peer_python(peer_dir: Path) -> str:
    """The peer venv's python (for hivemind-bus-client scripts)."""
    return str(peer_dir / "bin" / "python")


@pytest.fixture(scope="session")
def peer(
    peer_dir: Path, hub_tls: HubTLS, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PeerHub]:
    """The running HiveMind peer hub with a pool of registered clients."""
    hub = PeerHub(peer_dir, tmp_path_factory.mktemp("peer"), hub_tls.ca, hub_tls.ca_file)
    with hub:
        hub.register([f"client-{n:02d}" for n in range(POOL_SIZE)])
        hub.register(
            [f"restricted-{n:02d}" for n in range(RESTRICTED_POOL_SIZE)], allow=(OTHER_TYPE,)
        )
        yield hub


@pytest.fixture(params=CARRIERS)
def carrier(request: pytest.FixtureRequest) -> str:
    need_carrier(request.param)
    return str(request.param)


@pytest.fixture
def identity(peer: PeerHub) -> ThalovantIdentity:
    """A fresh client of the peer hub (its own access key)."""
    return peer.identity(peer.take())


@pytest.fixture
async def make_client(
    anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path, carrier: str
) -> AsyncIterator[AsyncFactory]:
    """Async clients over ``carrier`` that trust the test CA; closed after the test."""
    made: list[AsyncThalovantClient] = []

    def factory(identity: ThalovantIdentity, **opts: Any) -> AsyncThalovantClient:
        opts.setdefault("protocol", carrier)
        opts.setdefault("ssl_context", hub_tls.client_context)
        opts.setdefault("noise_state_dir", tmp_path / "noise")
        client = AsyncThalovantClient(identity, **opts)
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.close(timeout=5)


@pytest.fixture
def make_sync_client(hub_tls: HubTLS, tmp_path: Path, carrier: str) -> Iterator[SyncFactory]:
    """Sync clients over ``carrier`` that trust the test CA; closed after the test."""
    made: list[ThalovantClient] = []

    def factory(identity: ThalovantIdentity, **opts: Any) -> ThalovantClient:
        opts.setdefault("protocol", carrier)
        opts.setdefault("ssl_context", hub_tls.client_context)
        opts.setdefault("noise_state_dir", tmp_path / "noise")
        client = ThalovantClient(identity, **opts)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close(timeout=5)

"""OriginPreference: a session dials the hub's hostname through a LAN address first, falls
back to the public origin when that fails, and then leaves the LAN address alone for its
cooldown. TLS still checks the hostname's certificate."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.agent.conftest import register
from thalovant.agent import (
    AsyncHubSession,
    HubSessionPolicy,
    OriginPreference,
    preferred_origin,
)
from thalovant.hub import LocalHub
from thalovant.identity.endpoints import hub_hostname
from thalovant.identity.model import ThalovantIdentity
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

POLICY = HubSessionPolicy(retry_seconds=0.05, retry_ceiling_seconds=0.2)


def by_name(identity: ThalovantIdentity, host: str) -> ThalovantIdentity:
    data = identity.as_dict(include_secrets=True)
    url = data["data_plane_endpoints"]["wss"].replace("127.0.0.1", host)
    data["data_plane_endpoints"] = {"wss": url}
    data["default_master"] = url
    data["protocols"] = {"wss": {"enabled": True}}
    return ThalovantIdentity.from_mapping(data)


def test_hub_hostname_and_the_override() -> None:
    assert hub_hostname("wss://Hub.Example.com:5679/path") == "hub.example.com"
    assert hub_hostname("hub.lan") == "hub.lan"
    assert hub_hostname("") == ""
    name = "thalovant-origin-test.invalid"
    with preferred_origin(name, "127.0.0.1"):
        assert socket.getaddrinfo(name, 80)[0][4][0] == "127.0.0.1"
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(name, 80)


@pytest.mark.parametrize("lan", ["127.0.0.1", "127.0.0.3"], ids=["lan-works", "lan-fails"])
async def test_session_prefers_the_lan_origin(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Path, lan: str
) -> None:
    origin = OriginPreference(lan, handshake_seconds=5.0, cooldown_seconds=300)
    session = AsyncHubSession.for_identity(
        by_name(register(hub), "localhost"),
        policy=POLICY,
        origin=origin,
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    )
    try:
        await session.connect(timeout=15)
        reply = await session.ask("hello")
        assert reply.text
        if lan == "127.0.0.1":
            assert origin.lan_dials == 1
            assert not origin.cooling_down
        else:  # nothing listens there: the public origin answered, the LAN one cools down
            assert origin.lan_dials == 0
            assert origin.cooling_down
        await hub.drop_connections()
        await session.wait_state("backoff", "connecting", timeout=10)
        await session.wait_state("ready", timeout=10)
        assert origin.lan_dials == (2 if lan == "127.0.0.1" else 0)
    finally:
        await session.close(timeout=2)

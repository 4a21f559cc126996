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
from thalovant.errors import ThalovantHubRefusedError, ThalovantRuntimeError
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


def test_blocking_connect_prefers_the_lan_origin_then_cools_down(hub: LocalHub) -> None:
    """The official, blocking ``connect``: ``build`` dials by name with the budget it is
    given; a failed LAN address falls back to the public origin and then cools down."""
    port = int(hub.wss_server.port)
    budgets: list[float | None] = []

    def build(budget: float | None) -> str:
        budgets.append(budget)
        with socket.create_connection(("localhost", port), timeout=budget or 5.0) as sock:
            return str(sock.getpeername()[0])

    works = OriginPreference("127.0.0.1", handshake_seconds=2.0)
    assert works.connect(build, host="localhost", connect_timeout=9.0) == "127.0.0.1"
    assert (works.lan_dials, budgets) == (1, [2.0])

    budgets.clear()
    fails = OriginPreference("127.0.0.3", handshake_seconds=2.0, cooldown_seconds=300)
    assert fails.connect(build, host="localhost", connect_timeout=9.0) == "127.0.0.1"
    assert (fails.lan_dials, budgets, fails.cooling_down) == (0, [2.0, 9.0], True)
    budgets.clear()
    fails.connect(build, host="localhost", connect_timeout=9.0)
    assert budgets == [9.0]  # cooling down: the public origin only

    def refused(budget: float | None) -> None:
        raise ThalovantHubRefusedError("refused")

    fresh = OriginPreference("127.0.0.1")
    with pytest.raises(ThalovantHubRefusedError):
        fresh.connect(refused, host="localhost", connect_timeout=1.0)
    assert not fresh.cooling_down  # a refusal is the hub's answer, not the LAN's failure

    async def dial(budget: float | None) -> None:
        return None

    with pytest.raises(ThalovantRuntimeError, match="connect_async"):
        fresh.connect(dial, host="localhost", connect_timeout=1.0)

"""LocalHub lifecycle: identities, connection tracking, drops, kill, shutdown, files on disk."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import anyio
import pytest

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub import LocalHub, SkillContext
from thalovant.hub.responder.policy import DEFAULT_ALLOWED_TYPES
from thalovant.testing import HubTLS

from .conftest import NODE_ID, Clients, register
from .raw_client import spoken

pytestmark = pytest.mark.anyio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_register_client_returns_a_working_identity(hub: LocalHub) -> None:
    identity = hub.register_client("kiosk")
    assert identity.site_id == "kiosk"
    assert identity.default_master == hub.wss_url
    assert hub.wss_url == f"wss://127.0.0.1:{hub.wss_port}"
    assert identity.default_port == hub.wss_port
    assert identity.data_plane_endpoints.wss == hub.wss_url
    assert (identity.protocols.wss, identity.protocols.http, identity.protocols.mqtt) == (
        True,
        True,
        True,  # HTTPS and the embedded MQTT broker are on by default
    )
    assert identity.select_protocol() == "wss"
    assert identity.endpoint_for("wss") == hub.wss_url
    assert hub.https_url == f"https://127.0.0.1:{hub.https_port}"
    assert identity.data_plane_endpoints.https == hub.https_url
    assert identity.endpoint_for("https") == identity.endpoint_base() == hub.https_url
    assert identity.select_protocol("https") == "https"
    assert len(identity.access_key) >= 20
    assert len(identity.password) >= 20
    record = hub.client(identity.access_key)
    assert record is not None
    assert record.allowed_types == DEFAULT_ALLOWED_TYPES
    assert not record.admin
    assert identity.password not in repr(record)
    assert identity.access_key not in repr(record)
    other = hub.register_client("kiosk", site_id="lobby", admin=True)
    assert other.site_id == "lobby"
    assert other.access_key != identity.access_key
    with pytest.raises(ValueError, match="already registered"):
        hub.register_client("again", access_key=identity.access_key)


async def test_state_files_are_private(hub: LocalHub) -> None:
    register(hub)
    state = hub.state_dir
    assert mode(state) == 0o700
    for name in ("hub_noise.key", "hub.json", "clients.json"):
        assert mode(state / name) == 0o600, name
    assert json.loads((state / "hub.json").read_text())["node_id"] == NODE_ID
    stored = json.loads((state / "clients.json").read_text())
    assert stored["version"] == 1
    assert stored["clients"][0]["access_key"] == "ak-alice"
    assert stored["clients"][0]["password"] == "pw-alice"
    assert stored["clients"][0]["client_key"] is None


async def test_register_needs_a_known_port(tmp_path: Path) -> None:
    hub = LocalHub(tmp_path)
    with pytest.raises(ThalovantRuntimeError, match="port"):
        hub.register_client("early")
    fixed = LocalHub(tmp_path, wss_port=4567)
    assert fixed.register_client("early").default_master == "ws://127.0.0.1:4567"


async def test_plain_ws_without_ssl(hub_tls: HubTLS, tmp_path: Path) -> None:
    async with LocalHub(tmp_path, node_id=NODE_ID) as hub:
        assert hub.wss_url.startswith("ws://127.0.0.1:")
        opened = Clients(hub, hub_tls)
        try:
            client = await opened.connect(register(hub))
            assert spoken(await client.ask("hello"))
        finally:
            await opened.aclose()


async def test_connections_are_counted(hub: LocalHub, clients: Clients) -> None:
    assert hub.connections == 0
    first = await clients.connect(register(hub))
    second = await clients.connect(register(hub, "bob"))
    assert hub.connections == 2
    session = await hub.wait_for_session(second.session_id)
    assert (session.client.name, session.site_id, session.pattern) == ("bob", "bob", "XXpsk2")
    assert session.ready
    await first.aclose()
    with anyio.fail_after(5):
        await hub.wait_for_connections(1)
    await second.aclose()
    with anyio.fail_after(5):
        await hub.wait_for_connections(0)


async def test_drop_connections_then_redial(hub: LocalHub, clients: Clients) -> None:
    identity = register(hub)
    client = await clients.connect(identity)
    await hub.drop_connections(1011, "test drop")
    assert await client.wait_closed() == 1011
    with anyio.fail_after(5):
        await hub.wait_for_connections(0)
    again = await clients.connect(
        identity, static_private=client.static_private, pinned_hub_key=client.hub_key
    )
    assert spoken(await again.ask("hello"))


async def test_kill_aborts_without_a_close_frame(hub_tls: HubTLS, tmp_path: Path) -> None:
    async with LocalHub(tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context) as hub:
        opened = Clients(hub, hub_tls)
        try:
            client = await opened.connect(register(hub))
            port = hub.wss_port
            hub.kill()
            assert await client.wait_closed() == 1006
            with pytest.raises(OSError):
                await opened.connect(register(hub, "bob"))
        finally:
            await opened.aclose()
    async with LocalHub(tmp_path, wss_port=port, ssl_context=hub_tls.server_context) as again:
        opened = Clients(again, hub_tls)
        try:
            revived = await opened.connect(
                again.identity_for("ak-alice"),
                static_private=client.static_private,
                pinned_hub_key=client.hub_key,
            )
            assert spoken(await revived.ask("hello"))
        finally:
            await opened.aclose()


async def test_shutdown_closes_connections_with_1001(hub_tls: HubTLS, tmp_path: Path) -> None:
    async with LocalHub(tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context) as hub:
        opened = Clients(hub, hub_tls)
        client = await opened.connect(register(hub))
        busy = await opened.connect(register(hub, "bob"))
        await busy.utter("tell me a story")  # a skill still running at shutdown
    try:
        assert await client.wait_closed() == 1001
        assert await busy.wait_closed() == 1001
        assert not hub.running
        assert hub.connections == 0
    finally:
        await opened.aclose()


async def test_starting_twice_is_an_error(hub: LocalHub) -> None:
    with pytest.raises(ThalovantRuntimeError, match="already running"):
        await hub.start()


async def test_shutdown_is_bounded_with_a_stuck_connection(hub_tls: HubTLS, tmp_path: Path) -> None:
    hub = LocalHub(tmp_path, node_id=NODE_ID, ssl_context=hub_tls.server_context, close_timeout=0.2)
    hub.services.max_in_flight = 1  # the second request makes the reader wait for a slot

    @hub.skill("stuck", match=r"\bstuck\b", priority=50)
    async def stuck(ctx: SkillContext) -> None:
        await anyio.sleep_forever()

    opened = Clients(hub, hub_tls)
    try:
        async with hub:
            client = await opened.connect(register(hub))
            await client.utter("stuck")
            await client.utter("stuck again")
            started = anyio.current_time()
        assert anyio.current_time() - started < 3
        assert await client.wait_closed() == 1001
    finally:
        await opened.aclose()

"""Listener and session resource bounds (issue #11, defects 7 and 8), over real loopback sockets.

Defect 7: every listener (WSS, HTTPS, the standalone ``/v1`` server, both embedded-broker
ports) closes a socket that sends no request (plain TCP, after TLS, a half-sent TLS
handshake, slowloris headers) within ``request_timeout``; connections are capped per peer
address and in total; an idle TLS socket no longer pins asyncio's 256 KiB read buffer.
Defect 8: unfinished chunked messages are bounded per client and for the hub, a stalled one
ends its session, and one client's sessions are capped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import ssl
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from thalovant.hub import HubLimits, LocalHub
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.servers.gate import ConnectionGate
from thalovant.protocol.framing import MARKER_FIRST_JSON, MARKER_MIDDLE
from thalovant.testing import HubTLS

from .conftest import NODE_ID, register
from .raw_client import RawClient, RawClosed

pytestmark = pytest.mark.anyio

TIMEOUT = 1.0
MARGIN = 6.0  # two cores shared with other test runs: generous
LIMITS = HubLimits(
    request_timeout=TIMEOUT,
    keepalive_timeout=2.0,
    max_connections=12,
    max_connections_per_peer=6,
    max_sessions_per_client=2,
    max_reassembly_per_client=1024 * 1024,
    max_reassembly_total=3 * 512 * 1024,
    chunk_stall_timeout=TIMEOUT,
)
LISTENERS = ("wss", "https", "control", "mqtt", "mqtt_hub")


class Limited:
    def __init__(self, hub: LocalHub, control: LocalControlPlane) -> None:
        self.hub = hub
        self.control = control

    def port(self, listener: str) -> int:
        hub, broker = self.hub, self.hub.embedded_broker
        assert broker is not None
        assert hub.https_port is not None
        return {
            "wss": hub.wss_port,
            "https": hub.https_port,
            "control": self.control.port,
            "mqtt": broker.client_port,
            "mqtt_hub": broker.hub_port,
        }[listener]

    def gate(self, listener: str) -> ConnectionGate:
        broker, http = self.hub.embedded_broker, self.hub.http_server
        assert broker is not None
        assert http is not None
        return {
            "wss": self.hub.wss_server.gate,
            "https": http.gate,
            "control": self.control.gate,
            "mqtt": broker.client_gate,
            "mqtt_hub": broker.hub_gate,
        }[listener]

    def tls(self, listener: str) -> bool:
        return listener != "mqtt_hub"


@pytest.fixture
async def limited(hub_tls: HubTLS, tmp_path: Path) -> AsyncIterator[Limited]:
    account = LocalAccount.create("dev@example.com", "correct horse battery")
    async with (
        LocalHub(
            tmp_path / "hub", node_id=NODE_ID, ssl_context=hub_tls.server_context, limits=LIMITS
        ) as hub,
        LocalControlPlane(
            hub, account, ssl_context=hub_tls.server_context, limits=hub.limits
        ) as control,
    ):
        yield Limited(hub, control)


async def _open(port: int, *, local_host: str = "127.0.0.1") -> ByteStream:
    return await anyio.connect_tcp("127.0.0.1", port, local_host=local_host)


async def _tls(stream: ByteStream, context: ssl.SSLContext) -> ByteStream:
    return await TLSStream.wrap(stream, hostname="127.0.0.1", ssl_context=context)


async def _closed_by_peer(stream: ByteStream) -> None:
    """Return once the hub has closed ``stream`` (EOF, reset or a TLS close)."""
    try:
        while await stream.receive():
            pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError, OSError):
        pass


async def _aclose(stream: ByteStream) -> None:
    with contextlib.suppress(ssl.SSLError, OSError, anyio.BrokenResourceError):
        await stream.aclose()


async def _drip(stream: ByteStream, first: bytes, more: bytes) -> None:
    """Send ``first``, then one byte of ``more`` every 0.1 s (slowloris), until closed."""
    try:
        await stream.send(first)
        for byte in more * 1000:
            await anyio.sleep(0.1)  # the attack's pace, not a wait for a condition
            await stream.send(bytes([byte]))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError, OSError):
        pass


_SLOW_REQUEST = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: aaaaaaaa\r\n")
_SLOW_CONNECT = (b"\x10\x7f\x00\x04MQTT\x04\xc2", b"\x00" * 64)  # CONNECT, then dribbles


#: Every listener with every kind of silent socket it can meet (the embedded broker's hub port
#: is plain TCP, so it has no TLS cases).
SILENT_CASES = [
    (listener, mode)
    for listener in LISTENERS
    for mode in ("tcp", "tls", "half-tls", "slowloris")
    if listener != "mqtt_hub" or mode not in ("tls", "half-tls")
]


@pytest.mark.parametrize(("listener", "mode"), SILENT_CASES)
async def test_a_socket_without_a_request_is_closed(
    limited: Limited, hub_tls: HubTLS, listener: str, mode: str
) -> None:
    gate = limited.gate(listener)
    baseline = gate.open_connections  # the hub's own MQTT client on the hub port
    stream = await _open(limited.port(listener))
    with anyio.fail_after(TIMEOUT + MARGIN):
        if mode == "tls":
            stream = await _tls(stream, hub_tls.client_context)
        elif mode == "half-tls":
            await stream.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a torn hello
        async with anyio.create_task_group() as tg:
            if mode == "slowloris":
                if limited.tls(listener):
                    stream = await _tls(stream, hub_tls.client_context)
                first, more = _SLOW_CONNECT if "mqtt" in listener else _SLOW_REQUEST
                tg.start_soon(_drip, stream, first, more)
            await _closed_by_peer(stream)
            tg.cancel_scope.cancel()
    await _aclose(stream)
    with anyio.fail_after(MARGIN):
        await gate.wait_until(lambda g: g.open_connections == baseline)


@pytest.mark.parametrize("listener", ["https", "control"])
async def test_keep_alive_needs_a_timely_next_request(
    limited: Limited, hub_tls: HubTLS, listener: str
) -> None:
    stream = await _tls(await _open(limited.port(listener)), hub_tls.client_context)
    await stream.send(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    with anyio.fail_after(MARGIN):
        head = await stream.receive()
    assert head.startswith(b"HTTP/1.1 404") or head.startswith(b"HTTP/1.1 403"), head[:40]
    # Same connection: a second request that never finishes its headers is cut off too.
    with anyio.fail_after(TIMEOUT + MARGIN):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drip, stream, *_SLOW_REQUEST)
            await _closed_by_peer(stream)
            tg.cancel_scope.cancel()
    await _aclose(stream)


async def test_connection_caps_per_peer_and_in_total(
    limited: Limited, hub_tls: HubTLS, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "thalovant.hub.limits")
    gate, port = limited.gate("wss"), limited.port("wss")
    held: list[ByteStream] = []
    try:
        for _ in range(LIMITS.max_connections_per_peer):
            held.append(await _open(port, local_host="127.0.0.2"))
        with anyio.fail_after(MARGIN):
            await gate.wait_until(lambda g: g.open_connections == len(held))
        extra = await _open(port, local_host="127.0.0.2")
        with anyio.fail_after(MARGIN):
            await _closed_by_peer(extra)  # refused at once, long before request_timeout
        await _aclose(extra)
        assert gate.refused == 1
        assert "max_connections_per_peer=6" in caplog.text
        assert "127.0.0.2" in caplog.text

        # Fill the total from another address; the next newcomer evicts the oldest idler.
        for _ in range(LIMITS.max_connections - len(held)):
            held.append(await _open(port, local_host="127.0.0.3"))
        with anyio.fail_after(MARGIN):
            await gate.wait_until(lambda g: g.open_connections == LIMITS.max_connections)
        held.append(await _open(port, local_host="127.0.0.4"))
        with anyio.fail_after(MARGIN):
            await gate.wait_until(lambda g: g.evicted == 1)
            await _closed_by_peer(held[0])  # the oldest idle socket made room
        assert gate.open_connections <= LIMITS.max_connections

        # A real client still gets in (and is answered) while the idlers hold their slots.
        client = await _connect(limited.hub, hub_tls, "legit")
        try:
            with anyio.fail_after(MARGIN):
                assert await client.ask("hello")
        finally:
            await client.aclose()
        assert gate.open_connections <= LIMITS.max_connections
    finally:
        for stream in held:
            await _aclose(stream)


async def test_an_idle_tls_socket_costs_little_memory(limited: Limited, hub_tls: HubTLS) -> None:
    count = 6  # max_connections_per_peer
    gate, port = limited.gate("https"), limited.port("https")
    held: list[ByteStream] = []
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            held.append(await _tls(await _open(port), hub_tls.client_context))
        with anyio.fail_after(MARGIN):
            await gate.wait_until(lambda g: g.open_connections == count)
        per_connection = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
        for stream in held:
            await _aclose(stream)
    # Both ends are in this process; asyncio's untrimmed buffer alone was 256 KiB a side.
    assert per_connection < 160 * 1024, f"{per_connection / 1024:.0f} KiB per connection"


# ------------------------------------------------------------------ defect 8: reassembly


async def _send_chunks(client: RawClient, count: int, size: int = 65000) -> None:
    """Open a chunked JSON message of ``count`` chunks and never finish it."""
    encrypt = client.result.send_cipher.encrypt
    body = os.urandom(size)
    await client.ws.send(encrypt(bytes([MARKER_FIRST_JSON]) + body))
    for _ in range(count - 1):
        await client.ws.send(encrypt(bytes([MARKER_MIDDLE]) + body))


async def test_a_stalled_chunked_message_ends_the_session(
    limited: Limited, hub_tls: HubTLS
) -> None:
    hub = limited.hub
    client = await _connect(hub, hub_tls, "stall")
    await _send_chunks(client, 4)
    with anyio.fail_after(TIMEOUT + MARGIN):
        code = await _closed_code(client)
    assert code == 1002
    assert hub.services.reassembly.used == 0


async def test_reassembly_is_bounded_per_client_and_in_total(
    hub_tls: HubTLS, tmp_path: Path
) -> None:
    patient = dataclasses.replace(LIMITS, chunk_stall_timeout=120.0)  # nothing stalls out here
    async with LocalHub(
        tmp_path / "hub", node_id=NODE_ID, ssl_context=hub_tls.server_context, limits=patient
    ) as hub:
        pool = hub.services.reassembly
        first = await _connect(hub, hub_tls, "big")
        await _send_chunks(first, 12)  # 780 kB held for "big"
        second = await _connect(hub, hub_tls, "big", like=first)
        await _send_chunks(second, 6)  # "big" would pass its 1 MiB: refused
        with anyio.fail_after(MARGIN):
            assert await _closed_code(second) == 1002
        assert pool.used == 12 * 65000
        other = await _connect(hub, hub_tls, "other")
        await _send_chunks(other, 14)  # the hub would pass its 1.5 MiB: refused
        with anyio.fail_after(MARGIN):
            assert await _closed_code(other) == 1002
        assert pool.used == 12 * 65000
        assert pool.refusals == 2
        await first.aclose()
        with anyio.fail_after(MARGIN):
            await hub.wait_for_connections(0)
        assert pool.used == 0  # the partial message's memory came back with its session


async def test_sessions_per_client_are_capped(limited: Limited, hub_tls: HubTLS) -> None:
    hub = limited.hub
    opened = [await _connect(hub, hub_tls, "many")]
    for _ in range(LIMITS.max_sessions_per_client):
        opened.append(await _connect(hub, hub_tls, "many", like=opened[0]))
    with anyio.fail_after(MARGIN):
        assert await _closed_code(opened[0]) == 1008  # the oldest made room
    assert len(hub.services.by_client["ak-many"]) == LIMITS.max_sessions_per_client
    with anyio.fail_after(MARGIN):
        assert await opened[-1].ask("hello")
    for client in opened:
        await client.aclose()


async def _connect(
    hub: LocalHub, tls: HubTLS, name: str, *, like: RawClient | None = None
) -> RawClient:
    """Connect ``name`` (registered first, unless this is another connection ``like`` an
    open one: same static key, which the hub pinned)."""
    if like is None:
        register(hub, name)
    client = await RawClient.connect(
        hub.wss_url,
        access_key=f"ak-{name}",
        password=f"pw-{name}",
        ssl=tls.client_context,
        static_private=like.static_private if like is not None else None,
    )
    with anyio.fail_after(MARGIN):
        await hub.wait_for_session(client.session_id)
    return client


async def _closed_code(client: RawClient) -> int:
    try:
        while True:
            await client.recv()
    except RawClosed as closed:
        return closed.code

"""A small embedded MQTT 3.1.1 broker for the local hub, with per-client accounts and ACLs.

Why not ``amqtt``: every amqtt release (0.11-0.12.1) pins ``websockets==15.0.1`` exactly, which
would hold the whole SDK on an old ``websockets`` (our hub uses APIs added after 15.0). The
subset a HiveMind hub needs is small, so it lives here, on asyncio streams:

- two listeners on loopback: a plain one for the hub (:attr:`EmbeddedBroker.hub_port`) and one
  for clients (:attr:`EmbeddedBroker.client_port`, TLS when an SSL context is given);
- CONNECT with username/password checked against :class:`BrokerAccount` records from a
  lookup callable (so clients registered later work at once); CONNACK 4 on a bad password,
  5 for a client account on the hub listener;
- ACLs: the hub account may do anything; a client account may publish only
  ``<prefix>/in`` and ``<prefix>/status`` and subscribe only ``<prefix>/out`` (SUBACK 0x80
  otherwise; a forbidden publish is dropped, as mosquitto does);
- QoS 0 and 1 (QoS 2 is granted as 1), retained messages, last will, keepalive,
  PINGREQ, UNSUBSCRIBE, client-id takeover. Sessions are always clean (nothing is queued for
  an absent client), which is all a link that redials needs.

Each connection has a bounded outbound queue; a subscriber that falls 1024 messages behind is
disconnected rather than buffered without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from thalovant.hub.limits import HubLimits
from thalovant.hub.servers.gate import ConnectionGate
from thalovant.hub.servers.mqtt_packets import (
    CONNACK,
    CONNECT,
    DISCONNECT,
    PINGREQ,
    PINGRESP,
    PUBACK,
    PUBCOMP,
    PUBLISH,
    PUBREC,
    PUBREL,
    SUBACK,
    SUBSCRIBE,
    UNSUBACK,
    UNSUBSCRIBE,
    PacketReader,
    ProtocolViolation,
    encode_text,
    packet,
    read_packet,
)

__all__ = ["BrokerAccount", "EmbeddedBroker", "topic_matches"]

logger = logging.getLogger("thalovant.hub.broker")

_OUT_QUEUE = 1024
_STREAM_LIMIT = 64 * 1024


@dataclass(frozen=True)
class BrokerAccount:
    """Who may connect: ``topic_prefix=None`` is the hub (all topics)."""

    username: str
    password: str
    topic_prefix: str | None = None

    def __repr__(self) -> str:
        return "BrokerAccount(username=<redacted>, password=<redacted>)"

    def may_publish(self, topic: str) -> bool:
        """Client: only ``<prefix>/in`` and ``<prefix>/status``."""
        prefix = self.topic_prefix
        return prefix is None or topic in (f"{prefix}/in", f"{prefix}/status")

    def may_subscribe(self, topic_filter: str) -> bool:
        """Client: only ``<prefix>/out`` (exactly; no wildcards)."""
        prefix = self.topic_prefix
        return prefix is None or topic_filter == f"{prefix}/out"


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching with ``+`` and ``#``; ``$`` topics need an explicit first level."""
    filter_levels, levels = topic_filter.split("/"), topic.split("/")
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    for index, part in enumerate(filter_levels):
        if part == "#":
            return True
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(filter_levels) == len(levels)


def _streams(
    connected: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> Callable[[], asyncio.StreamReaderProtocol]:
    """The protocol factory ``asyncio.start_server`` would build, for a gated listener."""

    def make() -> asyncio.StreamReaderProtocol:
        return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=_STREAM_LIMIT), connected)

    return make


@dataclass
class _Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool


class _Connection:
    def __init__(
        self, broker: EmbeddedBroker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.broker = broker
        self.reader = reader
        self.writer = writer
        self.client_id = ""
        self.account: BrokerAccount | None = None
        self.will: _Will | None = None
        self.subscriptions: dict[str, int] = {}
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(_OUT_QUEUE)
        self._next_id = 0
        self.keepalive = 0
        self.closed = False

    def packet_id(self) -> int:
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def enqueue(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            logger.warning("MQTT subscriber fell behind; disconnecting it")
            self.abort()

    def deliver(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        granted = max(
            (q for f, q in self.subscriptions.items() if topic_matches(f, topic)), default=None
        )
        if granted is None:
            return
        qos = min(qos, granted)
        header = encode_text(topic) + (struct.pack("!H", self.packet_id()) if qos else b"")
        self.enqueue(packet(PUBLISH, qos << 1 | int(retain), header + payload))

    def abort(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


class EmbeddedBroker:
    """An MQTT broker on loopback (see the module docstring).

    ``accounts(username)`` returns the account for a username, or ``None``.
    ``ssl_context`` (server side) puts TLS on the client listener.
    """

    def __init__(
        self,
        accounts: Callable[[str], BrokerAccount | None],
        *,
        host: str = "127.0.0.1",
        hub_port: int = 0,
        client_port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        limits: HubLimits | None = None,
    ) -> None:
        self._accounts = accounts
        self.limits = limits or HubLimits()
        self.hub_gate = ConnectionGate("MQTT hub listener", self.limits)
        self.client_gate = ConnectionGate("MQTT listener", self.limits, ssl_context=ssl_context)
        """Connection caps and the deadline to ``CONNECT`` (TLS is done by the gate)."""
        self._host = host
        self._hub_port = hub_port
        self._client_port = client_port
        self._ssl = ssl_context
        self._servers: list[asyncio.Server] = []
        self._connections: dict[str, _Connection] = {}
        self._all: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._retained: dict[str, tuple[bytes, int]] = {}

    @property
    def hub_port(self) -> int:
        """The plain loopback port the hub connects to."""
        return self._hub_port

    @property
    def client_port(self) -> int:
        """The port clients connect to (TLS when the broker has an SSL context)."""
        return self._client_port

    @property
    def hub_url(self) -> str:
        """``mqtt://host:hub_port``."""
        return f"mqtt://{self._host_text}:{self._hub_port}"

    @property
    def client_url(self) -> str:
        """``mqtts://host:client_port`` (``mqtt://`` without TLS)."""
        scheme = "mqtts" if self._ssl is not None else "mqtt"
        return f"{scheme}://{self._host_text}:{self._client_port}"

    @property
    def _host_text(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    @property
    def running(self) -> bool:
        """Listening."""
        return bool(self._servers)

    async def start(self, *, serve_clients: bool = True) -> None:
        """Bind both listeners; with ``serve_clients=False`` clients wait (in the backlog)
        until :meth:`serve_clients`, so the hub can subscribe first."""
        loop = asyncio.get_running_loop()
        hub = await loop.create_server(
            self.hub_gate.protocol_factory(_streams(self._serve_hub)), self._host, self._hub_port
        )
        try:
            clients = await loop.create_server(
                self.client_gate.protocol_factory(_streams(self._serve_client)),
                self._host,
                self._client_port,
                start_serving=serve_clients,
            )
        except BaseException:
            hub.close()
            raise
        self._servers = [hub, clients]
        self._hub_port = int(hub.sockets[0].getsockname()[1])
        self._client_port = int(clients.sockets[0].getsockname()[1])
        logger.info("embedded MQTT broker on %s (hub) and %s", self.hub_url, self.client_url)

    async def serve_clients(self) -> None:
        """Start accepting clients (after ``start(serve_clients=False)``)."""
        for server in self._servers:
            await server.start_serving()

    def kill(self) -> None:
        """Stop listening and abort every connection (no wills are sent: the broker is gone)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for connection in list(self._all):
            connection.will = None
            connection.abort()
        self.hub_gate.close_all()
        self.client_gate.close_all()
        self._retained.clear()

    async def aclose(self) -> None:
        """Stop listening, abort connections, wait for the handlers."""
        self.kill()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---------------------------------------------------------------- per connection

    # These two are the connection tasks asyncio's server starts; aclose() cancels them. A
    # cancelled one must end quietly: asyncio's done-callback would log its CancelledError.

    async def _serve_hub(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer, hub_listener=True)

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._serve(reader, writer, hub_listener=False)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, hub_listener: bool
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = _Connection(self, reader, writer)
        self._all.add(connection)
        writer_task: asyncio.Task[None] | None = None
        clean = False
        try:
            if not await self._connect(connection, hub_listener):
                return
            writer_task = asyncio.create_task(self._write(connection))
            clean = await self._loop(connection)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, TimeoutError):
            pass
        except ProtocolViolation as exc:
            logger.info("MQTT protocol violation from %s: %s", connection.client_id, exc)
        finally:
            self._all.discard(connection)
            if self._connections.get(connection.client_id) is connection:
                del self._connections[connection.client_id]
            will = connection.will
            connection.closed = True
            if will is not None and not clean and self._servers:
                self.publish(will.topic, will.payload, will.qos, will.retain)
            if writer_task is not None:
                writer_task.cancel()
            with contextlib.suppress(Exception):
                writer.close()
            self._tasks.discard(task)

    async def _connect(self, connection: _Connection, hub_listener: bool) -> bool:
        # The gate already bounds the time to CONNECT; this is the same bound, in case.
        reading = read_packet(connection.reader)
        kind, _flags, body = await asyncio.wait_for(reading, self.limits.request_timeout)
        if kind != CONNECT:
            raise ProtocolViolation("first packet is not CONNECT")
        gate = self.hub_gate if hub_listener else self.client_gate
        gate.admit(connection.writer.transport)
        r = PacketReader(body)
        name, level, flags, keepalive = r.text(), r.u8(), r.u8(), r.u16()
        if name not in ("MQTT", "MQIsdp") or level not in (3, 4):
            await self._connack(connection, 1)
            return False
        connection.client_id = r.text()
        if flags & 0x04:
            connection.will = _Will(r.text(), r.binary(), (flags >> 3) & 0x03, bool(flags & 0x20))
        username = r.text() if flags & 0x80 else None
        password = r.binary() if flags & 0x40 else b""
        account = self._accounts(username) if username else None
        if account is None or not hmac.compare_digest(password, account.password.encode()):
            await self._connack(connection, 4)
            return False
        if hub_listener and account.topic_prefix is not None:
            await self._connack(connection, 5)
            return False
        if connection.will is not None and not account.may_publish(connection.will.topic):
            await self._connack(connection, 5)
            return False
        connection.account = account
        connection.keepalive = keepalive
        old = self._connections.get(connection.client_id)
        if old is not None and connection.client_id:
            old.will = None
            old.abort()
        self._connections[connection.client_id] = connection
        await self._connack(connection, 0)
        return True

    async def _connack(self, connection: _Connection, code: int) -> None:
        connection.writer.write(packet(CONNACK, 0, bytes([0, code])))
        await connection.writer.drain()

    async def _write(self, connection: _Connection) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await connection.queue.get()
                if data is None:
                    return
                connection.writer.write(data)
                await connection.writer.drain()

    async def _loop(self, connection: _Connection) -> bool:
        timeout = connection.keepalive * 1.5 if connection.keepalive else None
        account = connection.account
        assert account is not None
        while not connection.closed:
            kind, flags, body = await asyncio.wait_for(read_packet(connection.reader), timeout)
            if kind == PUBLISH:
                self._on_publish(connection, account, flags, body)
            elif kind == SUBSCRIBE:
                self._on_subscribe(connection, account, body)
            elif kind == UNSUBSCRIBE:
                r = PacketReader(body)
                packet_id = r.u16()
                while not r.done:
                    connection.subscriptions.pop(r.text(), None)
                connection.enqueue(packet(UNSUBACK, 0, struct.pack("!H", packet_id)))
            elif kind == PINGREQ:
                connection.enqueue(packet(PINGRESP, 0, b""))
            elif kind == DISCONNECT:
                return True
            elif kind == PUBREL:
                connection.enqueue(packet(PUBCOMP, 0, body[:2]))
            elif kind not in (PUBACK, PUBREC, PUBCOMP):
                raise ProtocolViolation(f"unexpected packet type {kind}")
        return False

    def _on_publish(
        self, connection: _Connection, account: BrokerAccount, flags: int, body: bytes
    ) -> None:
        qos, retain = (flags >> 1) & 0x03, bool(flags & 0x01)
        r = PacketReader(body)
        topic = r.text()
        packet_id = r.u16() if qos else 0
        payload = r.rest()
        if "+" in topic or "#" in topic or not topic:
            raise ProtocolViolation("invalid topic in PUBLISH")
        if qos == 1:
            connection.enqueue(packet(PUBACK, 0, struct.pack("!H", packet_id)))
        elif qos == 2:
            connection.enqueue(packet(PUBREC, 0, struct.pack("!H", packet_id)))
        if not account.may_publish(topic):
            logger.info("dropped a publish outside the client's topics")
            return
        self.publish(topic, payload, min(qos, 1), retain)

    def _on_subscribe(self, connection: _Connection, account: BrokerAccount, body: bytes) -> None:
        r = PacketReader(body)
        packet_id = r.u16()
        codes = bytearray()
        granted: list[str] = []
        while not r.done:
            topic_filter, qos = r.text(), r.u8() & 0x03
            if account.may_subscribe(topic_filter):
                connection.subscriptions[topic_filter] = min(qos, 1)
                codes.append(min(qos, 1))
                granted.append(topic_filter)
            else:
                codes.append(0x80)
        connection.enqueue(packet(SUBACK, 0, struct.pack("!H", packet_id) + bytes(codes)))
        for topic, (payload, qos) in list(self._retained.items()):
            if any(topic_matches(f, topic) for f in granted):
                connection.deliver(topic, payload, qos, True)

    def retained(self, topic: str) -> bytes | None:
        """The retained payload of ``topic`` (e.g. a client's presence), if any."""
        kept = self._retained.get(topic)
        return kept[0] if kept is not None else None

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Deliver to every matching subscriber (and keep it when ``retain``)."""
        if retain:
            if payload:
                self._retained[topic] = (payload, qos)
            else:
                self._retained.pop(topic, None)
        for connection in list(self._all):
            if connection.account is not None:
                connection.deliver(topic, payload, qos, False)

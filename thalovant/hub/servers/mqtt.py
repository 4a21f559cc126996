"""The MQTT side of the local hub: the hub is a client of a broker, like a real HiveMind hub.

It subscribes to every client's ``<topic_prefix>/<access key>/in`` and ``/status``
(``<topic_prefix>/+/in``, ``<topic_prefix>/+/status``) and answers on ``/out``. The broker
authenticates each client with its own username/password and confines it to its own topics
(ACLs), so the access key in a topic is trustworthy and the Noise PSK does the rest.

- A cleartext client HELLO on ``/in`` opens a new
  :class:`~thalovant.hub.responder.session.HubSession` for that access key (replacing any
  previous one: a topic prefix is one connection).
- Every other frame goes to the key's session, in order, through a bounded queue and one task
  per session (a slow session never holds up the others).
- A retained/last-will ``offline`` on ``/status`` ends the session once it was ``online``.
- When a session ends, the hub publishes a cleartext close notice (``{"msg_type": "close",
  "payload": {"code", "reason"}}``, see :mod:`thalovant.carriers.mqtt`) so the client sees a
  refusal (1008) or a drop at once; a frame for a key without a session gets one too (1011).
- On every (re)connect to the broker the hub sends every registered client a 1012 notice, so
  links of a previous hub process (or whose HELLO was published while the hub was not
  subscribed) redial instead of waiting for a handshake timeout.
- Broker loss: every session ends and the hub reconnects with backoff until closed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import uuid
from collections.abc import Callable
from typing import cast

import aiomqtt
import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from thalovant.carriers.mqtt import (
    INBOUND_QUEUE_FRAMES,
    NODELAY,
    PUBLISH_WINDOW,
    close_notice,
    decode_payload,
    drop_connection,
    parse_broker_url,
)
from thalovant.errors import ThalovantConnectionError
from thalovant.hub.responder.session import CLOSE_PROTOCOL, HubServices, HubSession, SessionClosed
from thalovant.hub.state.registry import ClientRecord
from thalovant.protocol.hello import is_hello
from thalovant.redact import RedactingLogger, redact_url

__all__ = ["DEFAULT_TOPIC_PREFIX", "MQTTHubServer"]

logger = logging.getLogger("thalovant.hub.mqtt")

STOP_SECONDS = 5.0
"""How long stopping waits for the hub's broker task (twice, the second time after cutting
its socket)."""
_AIOMQTT_LOGGER = logging.getLogger("thalovant.hub.mqtt.aiomqtt")

DEFAULT_TOPIC_PREFIX = "hivemind"
"""The hub's topic prefix; a client's is ``<this>/<access key>``."""
_CLOSE_DROP = 1011
_CLOSE_RESTART = 1012
_CLOSE_AWAY = 1001


class _PipelinedPublisher:
    """Publishes one session's frames in order without waiting for each PUBACK.

    aiomqtt's ``publish`` hands the packet to paho synchronously on its first step and only
    then waits for the broker's acknowledgement; tasks start in creation order, so frames
    leave in order while up to ``window`` acknowledgements are outstanding (waiting for each
    one in turn capped a session at one frame per broker round trip). A failed publish is
    logged; the broker connection's loss ends the sessions anyway.
    """

    def __init__(
        self,
        client: Callable[[], aiomqtt.Client | None],
        topic: str,
        qos: int,
        window: int = PUBLISH_WINDOW,
    ) -> None:
        self._client = client
        self._topic = topic
        self._qos = qos
        self._window = asyncio.Semaphore(window)
        self._pending: set[asyncio.Task[None]] = set()

    async def send(self, frame: str | bytes) -> None:
        client = self._client()
        if client is None:
            raise ConnectionError("the broker connection is gone")
        data = frame.encode("utf-8") if isinstance(frame, str) else frame
        await self._window.acquire()
        task = asyncio.ensure_future(client.publish(self._topic, data, qos=self._qos))
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        self._window.release()
        if not task.cancelled() and task.exception() is not None:
            logger.info("publish to a client failed: %s", type(task.exception()).__name__)


class _Peer:
    """One client session over MQTT."""

    def __init__(
        self,
        session: HubSession,
        inbox: MemoryObjectSendStream[str | bytes],
        outbox: MemoryObjectReceiveStream[str | bytes],
    ) -> None:
        self.session = session
        self.inbox = inbox
        self.outbox = outbox
        self.scope = anyio.CancelScope()
        self.online = False


class MQTTHubServer:
    """Serves HiveMind v3 through an MQTT broker (see the module docstring)."""

    def __init__(
        self,
        services: HubServices,
        *,
        lookup: Callable[[str], ClientRecord | None],
        broker_url: str,
        username: str | None,
        password: str | None,
        topic_prefix: str = DEFAULT_TOPIC_PREFIX,
        ssl_context: ssl.SSLContext | None = None,
        registered: Callable[[], list[str]] = list,
        handshake_timeout: float = 20.0,
        qos: int = 1,
    ) -> None:
        self._services = services
        self._lookup = lookup
        self._address = parse_broker_url(broker_url)
        self._shown = redact_url(broker_url)
        self._username = username
        self._password = password
        self._prefix = topic_prefix.strip("/")
        self._ssl = ssl_context
        self._registered = registered
        self._handshake_timeout = handshake_timeout
        self._qos = qos
        self._peers: dict[str, _Peer] = {}
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = anyio.Event()
        self._first_error: BaseException | None = None
        self._stopping = False

    def set_broker_url(self, broker_url: str) -> None:
        """Point at another broker URL (before :meth:`start`; the embedded broker's port)."""
        self._address = parse_broker_url(broker_url)
        self._shown = redact_url(broker_url)

    @property
    def topic_prefix(self) -> str:
        """The hub's topic prefix."""
        return self._prefix

    def client_prefix(self, access_key: str) -> str:
        """A client's topic prefix: ``<hub prefix>/<access key>``."""
        return f"{self._prefix}/{access_key}"

    @property
    def connected(self) -> bool:
        """Connected to the broker right now."""
        return self._client is not None

    @property
    def open_sessions(self) -> int:
        """Sessions open (handshaking or ready)."""
        return len(self._peers)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Connect to the broker (retrying within ``timeout``) and start serving."""
        self._stopping = False
        self._connected = anyio.Event()
        self._task = asyncio.get_running_loop().create_task(self._main())
        with anyio.move_on_after(timeout):
            await self._connected.wait()
        if not self._connected.is_set():
            await self.aclose()
            raise ThalovantConnectionError(
                f"the hub could not connect to the MQTT broker {self._shown}: {self._first_error}"
            )

    async def aclose(self) -> None:
        """Tell every client the hub is going away (1001), disconnect, stop."""
        self._stopping = True
        with anyio.move_on_after(2.0):
            await self.drop_connections(_CLOSE_AWAY, "hub shutting down")
        await self._stop_task()

    def kill(self) -> None:
        """Vanish without a word (like a crash): no notices, the socket just closes."""
        self._stopping = True
        client = self._client
        if client is not None:
            drop_connection(client)
        if self._task is not None:
            self._task.cancel()

    async def _stop_task(self) -> None:
        """Cancel the hub's broker task and wait for it, within :data:`STOP_SECONDS`: a
        task stuck in the MQTT library's exit gets its socket cut, then is left behind."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_SECONDS)
        if not done:
            logger.warning(
                "the MQTT hub did not stop in %g s: cutting its broker link", STOP_SECONDS
            )
            if self._client is not None:
                drop_connection(self._client)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=STOP_SECONDS)
        if done and not task.cancelled():
            task.exception()  # retrieved: the hub is stopping, its end is not news

    async def drop_connections(self, code: int = _CLOSE_DROP, reason: str = "") -> None:
        """End every session with a close notice carrying ``code``."""
        for access_key in list(self._peers):
            await self._end(access_key, code, reason)

    def _library_logger(self) -> RedactingLogger:
        """aiomqtt's and paho's logger: they log every topic, and a client's topic holds its
        access key (``<prefix>/<access key>/in``), so that segment is redacted (the ``+``
        of the hub's own subscriptions is kept)."""
        segment = re.compile("(" + re.escape(self._prefix + "/") + r")(?![+#]/)[^/\s'\"]+(?=/)")
        return RedactingLogger(_AIOMQTT_LOGGER, secrets=(self._password,), patterns=(segment,))

    # ------------------------------------------------------------------ main loop

    async def _main(self) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                await self._serve()
                delay = 0.05
            except Exception as exc:  # MqttError, possibly inside an ExceptionGroup
                self._first_error = exc
                if self._connected.is_set():
                    logger.warning("lost the MQTT broker %s: %s; reconnecting", self._shown, exc)
            self._client = None
            await anyio.sleep(delay)  # reconnect backoff
            delay = min(delay * 2, 2.0)

    async def _serve(self) -> None:
        address = self._address
        client = aiomqtt.Client(
            address.host,
            address.port,
            username=self._username,
            password=self._password,
            identifier=f"thalovant-hub-{uuid.uuid4().hex}",
            tls_context=(self._ssl or ssl.create_default_context()) if address.tls else None,
            keepalive=30,
            clean_session=True,
            socket_options=NODELAY,
            timeout=self._services.send_timeout,
            logger=cast(logging.Logger, self._library_logger()),
        )
        client.pending_calls_threshold = 2 * PUBLISH_WINDOW  # pipelined publishes
        async with client, anyio.create_task_group() as tg:
            await client.subscribe(f"{self._prefix}/+/in", qos=self._qos)
            await client.subscribe(f"{self._prefix}/+/status", qos=1)
            self._client = client
            logger.info("local hub serving MQTT through %s", self._shown)
            # Links that spoke to a previous hub process (or whose HELLO went out while the
            # hub was not subscribed) redial instead of waiting for a handshake timeout.
            for access_key in self._registered():
                if _usable_key(access_key):
                    await self._notify(access_key, _CLOSE_RESTART, "hub (re)connected")
            self._connected.set()
            try:
                async for message in client.messages:
                    await self._on_message(tg, message.topic.value, message.payload)
            finally:
                self._client = None
                for access_key in list(self._peers):
                    self._forget(access_key)
                tg.cancel_scope.cancel()

    async def _on_message(self, tg: TaskGroup, topic: str, payload: object) -> None:
        rest = topic[len(self._prefix) + 1 :] if topic.startswith(self._prefix + "/") else ""
        access_key, _, leaf = rest.rpartition("/")
        if not access_key or not isinstance(payload, (bytes, bytearray)):
            return
        if leaf == "status":
            self._on_status(access_key, bytes(payload))
            return
        if leaf != "in":
            return
        frame = decode_payload(payload)
        if isinstance(frame, str) and is_hello(frame):
            await self._open(tg, access_key, frame)
            return
        peer = self._peers.get(access_key)
        if peer is None:
            await self._notify(access_key, _CLOSE_DROP, "no session; reconnect")
            return
        try:
            peer.inbox.send_nowait(frame)
        except anyio.WouldBlock:
            await self._end(access_key, _CLOSE_DROP, "inbound queue overflow")
        except anyio.BrokenResourceError:
            pass

    def _on_status(self, access_key: str, payload: bytes) -> None:
        peer = self._peers.get(access_key)
        if peer is None:
            return
        if payload == b"online":
            peer.online = True
        elif payload == b"offline" and peer.online:
            logger.info("client %s went offline", peer.session.client.name)
            self._forget(access_key)

    # ------------------------------------------------------------------ sessions

    async def _open(self, tg: TaskGroup, access_key: str, hello: str) -> None:
        self._forget(access_key)
        record = self._lookup(access_key)
        if record is None:
            await self._notify(access_key, 1008, "unknown access key")
            return
        out_topic = f"{self.client_prefix(access_key)}/out"

        send = _PipelinedPublisher(lambda: self._client, out_topic, self._qos).send

        sender, receiver = anyio.create_memory_object_stream[str | bytes](INBOUND_QUEUE_FRAMES)
        peer: _Peer | None = None

        async def abort(code: int, reason: str) -> None:
            if peer is not None and self._peers.get(access_key) is peer:
                await self._end(access_key, code, reason)

        session = HubSession(
            self._services,
            record,
            peer=f"mqtt:{record.name}",
            send=send,
            task_group=tg,
            abort=abort,
            carrier="mqtt",
        )
        peer = _Peer(session, sender, receiver)
        self._peers[access_key] = peer
        sender.send_nowait(hello)
        tg.start_soon(self._drive, access_key, peer, receiver)

    async def _drive(
        self, access_key: str, peer: _Peer, receiver: MemoryObjectReceiveStream[str | bytes]
    ) -> None:
        session = peer.session
        closing: tuple[int, str] | None = None
        with peer.scope, receiver:
            try:
                with anyio.fail_after(self._handshake_timeout) as deadline:
                    await session.start(deadline)
                    while not session.ready:
                        await session.receive(await receiver.receive())
                async for frame in receiver:
                    await session.receive(frame)
            except SessionClosed as closed:
                closing = (closed.code, closed.reason)
            except TimeoutError:
                closing = (CLOSE_PROTOCOL, "handshake timed out")
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                pass  # the session was replaced or forgotten
            except Exception:
                logger.exception("MQTT session of %s failed", session.client.name)
                closing = (_CLOSE_DROP, "internal error")
            finally:
                session.mark_closed()
                peer.inbox.close()
        if self._peers.get(access_key) is peer:
            del self._peers[access_key]
        if closing is not None:
            with anyio.move_on_after(2.0):
                await self._notify(access_key, *closing)

    def _forget(self, access_key: str) -> None:
        peer = self._peers.pop(access_key, None)
        if peer is not None:
            peer.session.mark_closed()
            peer.inbox.close()
            peer.outbox.close()
            peer.scope.cancel()

    async def _end(self, access_key: str, code: int, reason: str) -> None:
        self._forget(access_key)
        await self._notify(access_key, code, reason)

    async def _notify(self, access_key: str, code: int, reason: str) -> None:
        client = self._client
        if client is None:
            return
        # One turn of the loop first: publish tasks a session created before this (see
        # _PipelinedPublisher) hand their frames to paho, so the notice comes after them.
        await asyncio.sleep(0)
        try:
            await client.publish(
                f"{self.client_prefix(access_key)}/out",
                close_notice(code, reason).encode("utf-8"),
                qos=self._qos,
            )
        except aiomqtt.MqttError as exc:
            logger.debug("close notice not sent: %s", exc)


def _usable_key(access_key: str) -> bool:
    return bool(access_key) and not any(ch in access_key for ch in "/#+\0")

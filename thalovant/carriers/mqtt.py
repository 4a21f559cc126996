"""MQTT carrier on ``aiomqtt`` (docs/protocol.md §5.2): frames as publishes on the client's own
topics.

Sequence: CONNECT (client id ``thalovant-<hex>``, the broker username/password of the
identity's ``mqtt`` block, a retained last will ``offline`` on ``<prefix>/status``) → SUBSCRIBE
``<prefix>/out`` at the identity QoS and, in the same packet, ``<prefix>/status`` at QoS 1 (see
below; a broker may refuse that one, which only turns the watch off). The carrier says
:attr:`MQTTCarrier.cleartext_hello`: the link then publishes the **cleartext** client HELLO
to ``<prefix>/in`` (the hub learns of a new connection from it) and runs its handshake:
cleartext frames are published as UTF-8 JSON text, Noise messages as raw bytes, all to
``<prefix>/in``. After the first Noise message (the encrypted HELLO) the
carrier publishes a retained ``online`` presence; :meth:`MQTTCarrier.aclose` publishes a
retained ``offline`` and disconnects.

TLS is required, except for a loopback broker (the local hub), which logs a warning.

A broker has no close codes. The local hub publishes a cleartext *close notice*
``{"msg_type": "close", "payload": {"code": <int>, "reason": <str>}}`` on ``/out`` when it ends
a session (a refused handshake gets 1008); the carrier turns it into :class:`CarrierClosed`
with that code, so refusal and drop work as on WSS. HiveMind-core's MQTT plugin sends no
notice: when it ends a session (e.g. it refuses a re-keyed client right after ``XXpsk2``) it
forgets it, and the client's next publish opens a *new* hub session, whose cleartext hub HELLO
then arrives on ``/out``. A cleartext ``hello`` after the session exists therefore means "the
hub ended our session": the *link* reads it so (the carrier knows nothing of HiveMind
messages) and ends as on a close with :data:`SESSION_GONE_CODE` (1005, a close without a
status), so its refusal window (docs/protocol.md §2.6) tells a refusal from a drop
(docs/interop.md). A session the hub ends while
the client is silent (a ``KKpsk0`` attempt the hub cannot decrypt after its key changed) shows
only as the ``offline`` the plugin then publishes on the client's ``<prefix>/status``: a *live*
(not retained) ``offline`` there, once the hub has greeted this connection, ends the carrier
the same way (the hub drops the session on any ``offline`` there anyway).

Inbound frames go through a bounded queue (:data:`INBOUND_QUEUE_FRAMES`); overflow ends the
carrier (a drop, never a silently lost frame). ``receive()`` is safe to cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from typing import cast

import aiomqtt
import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from thalovant.carriers.base import SESSION_GONE_CODE, CarrierClosed
from thalovant.carriers.mqtt_wire import (
    CLOSE_NOTICE_TYPE,
    INBOUND_QUEUE_FRAMES,
    KEEPALIVE_SECONDS,
    NODELAY,
    PUBLISH_WINDOW,
    BrokerAddress,
    close_notice,
    decode_payload,
    drop_connection,
    guard_socket_writes,
    is_loopback_host,
    parse_broker_url,
    parse_close_notice,
)
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantHubRefusedError,
    ThalovantUnsupportedProtocolError,
)
from thalovant.identity.mqtt import MqttBrokerCredentials, MqttTopicSet
from thalovant.redact import RedactingLogger, redact_url

__all__ = [
    "CLOSE_NOTICE_TYPE",
    "INBOUND_QUEUE_FRAMES",
    "KEEPALIVE_SECONDS",
    "MQTTCarrier",
    "NODELAY",
    "PUBLISH_WINDOW",
    "SESSION_GONE_CODE",
    "BrokerAddress",
    "close_notice",
    "decode_payload",
    "drop_connection",
    "is_loopback_host",
    "open_mqtt",
    "parse_broker_url",
    "parse_close_notice",
]

logger = logging.getLogger("thalovant.carriers.mqtt")
_AIOMQTT_LOGGER = logging.getLogger("thalovant.carriers.mqtt.aiomqtt")

_CLOSE_SECONDS = 2.0
_LOST = 1006  # "abnormal closure": the broker connection is gone


class MQTTCarrier:
    """An open MQTT connection scoped to one client's topics (made by :func:`open_mqtt`).

    Args:
        client: The connected aiomqtt client.
        topics: The client's ``/in``, ``/out`` and ``/status`` topics.
        qos: The identity's QoS for frames.
        send_timeout: Seconds a publish may take.
        shown: The broker URL as logs may show it (redacted).
    """

    name = "mqtt"
    cleartext_hello = True

    def __init__(
        self,
        client: aiomqtt.Client,
        topics: MqttTopicSet,
        *,
        qos: int,
        send_timeout: float,
        shown: str,
    ) -> None:
        self._client = client
        self._topics = topics
        self._qos = qos
        self._send_timeout = send_timeout
        self._shown = shown
        self._online = False
        self._greeted = False  # a frame arrived from the hub: it has a session for us
        self._closed = False
        self._ended: CarrierClosed | None = None
        self._window = asyncio.Semaphore(PUBLISH_WINDOW)
        self._pending: set[asyncio.Task[None]] = set()
        sender, receiver = anyio.create_memory_object_stream[str | bytes](INBOUND_QUEUE_FRAMES)
        self._inbox_send: MemoryObjectSendStream[str | bytes] = sender
        self._inbox: MemoryObjectReceiveStream[str | bytes] = receiver
        self._reader = asyncio.get_running_loop().create_task(self._read())

    def __repr__(self) -> str:
        return f"<MQTTCarrier {self._shown} closed={self._closed}>"

    async def _read(self) -> None:
        try:
            async for message in self._client.messages:
                topic = message.topic.value
                if topic == self._topics.status:
                    if self._hub_said_offline(message):
                        self._end(
                            CarrierClosed(
                                "the hub ended the MQTT session (offline on the status topic)",
                                code=SESSION_GONE_CODE,
                            )
                        )
                        return
                    continue
                if topic != self._topics.outbound:
                    continue
                self._greeted = True
                frame = decode_payload(message.payload)
                if isinstance(frame, str):
                    notice = parse_close_notice(frame)
                    if notice is not None:
                        code, reason = notice
                        text = f"the hub ended the MQTT session (code {code}"
                        text += f": {reason[:100]})" if reason else ")"
                        self._end(CarrierClosed(text, code=code))
                        return
                try:
                    self._inbox_send.send_nowait(frame)
                except anyio.WouldBlock:
                    self._end(CarrierClosed("inbound MQTT queue overflow; connection dropped"))
                    return
        except aiomqtt.MqttError as exc:
            self._end(CarrierClosed(f"lost the MQTT broker {self._shown}: {exc}", code=_LOST))
            return
        except anyio.BrokenResourceError:
            return
        self._end(CarrierClosed(f"lost the MQTT broker {self._shown}", code=_LOST))

    def _hub_said_offline(self, message: aiomqtt.Message) -> bool:
        """A live ``offline`` on this client's status topic while the hub has a session for
        it (retained ones predate this connection; after close it is our own)."""
        return (
            not message.retain
            and message.payload == b"offline"
            and self._greeted
            and not self._closed
        )

    def _end(self, error: CarrierClosed) -> None:
        if self._ended is None:
            self._ended = error
        self._inbox_send.close()

    def _release(self) -> None:
        self._inbox.close()

    async def send(self, frame: str | bytes) -> None:
        """Publish ``frame`` to ``<prefix>/in``.

        Frames leave in order; the broker's PUBACKs are awaited in the background (up to
        :data:`PUBLISH_WINDOW` outstanding), and a publish that fails ends the carrier like a lost
        broker. The first Noise message is followed by a retained ``online`` presence.

        Args:
            frame: ``str`` for cleartext JSON (published as UTF-8), ``bytes`` for a Noise message.

        Raises:
            CarrierClosed: The carrier is closed or ended.
        """
        if self._ended is not None:
            raise self._ended
        if self._closed:
            raise CarrierClosed("the MQTT carrier is closed")
        payload = frame.encode("utf-8") if isinstance(frame, str) else frame
        await self._window.acquire()
        ended = self._ended_while_waiting()
        if ended is not None:
            self._window.release()
            raise ended
        # aiomqtt hands the packet to paho on the task's first step; tasks start in creation
        # order, so frames leave in the order they were sent.
        task = asyncio.ensure_future(
            self._client.publish(
                self._topics.inbound, payload, qos=self._qos, timeout=self._send_timeout
            )
        )
        self._pending.add(task)
        task.add_done_callback(self._published)
        if isinstance(frame, bytes) and not self._online:
            self._online = True
            try:
                await self._client.publish(
                    self._topics.status, b"online", qos=1, retain=True, timeout=self._send_timeout
                )
            except aiomqtt.MqttError as exc:
                raise CarrierClosed(
                    f"publishing to {self._shown} failed: {exc}", code=_LOST
                ) from None

    def _ended_while_waiting(self) -> CarrierClosed | None:
        return self._ended

    def _published(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        self._window.release()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._end(CarrierClosed(f"publishing to {self._shown} failed: {exc}", code=_LOST))

    async def receive(self) -> str | bytes:
        """The next frame from ``<prefix>/out``; safe to cancel.

        Returns:
            ``str`` for a cleartext frame, ``bytes`` for a Noise message.

        Raises:
            CarrierClosed: The carrier ended (a close notice's code, 1005 when the hub went
                offline on the status topic, 1006 when the broker was lost) or was closed.
        """
        try:
            return await self._inbox.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise self._ended or CarrierClosed("the MQTT carrier is closed") from None

    async def probe(self) -> None:
        """One round trip with the broker: the retained ``online`` presence again, at QoS 1
        (its PUBACK is the answer).

        Raises:
            CarrierClosed: The carrier is closed or ended.
        """
        if self._ended is not None:
            raise self._ended
        try:
            await self._client.publish(
                self._topics.status, b"online", qos=1, retain=True, timeout=self._send_timeout
            )
        except aiomqtt.MqttError as exc:
            raise CarrierClosed(f"probing {self._shown} failed: {exc}", code=_LOST) from None

    async def aclose(self) -> None:
        """Publish ``offline`` (retained) and disconnect; bounded, idempotent."""
        if self._closed:
            return
        self._closed = True
        self._end(CarrierClosed("the MQTT carrier is closed"))
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_SECONDS) as scope:
            if self._pending:  # let frames already sent reach the broker first
                await asyncio.gather(*self._pending, return_exceptions=True)
            try:
                await self._client.publish(
                    self._topics.status, b"offline", qos=1, retain=True, timeout=_CLOSE_SECONDS
                )
                await self._client.__aexit__(None, None, None)
            except aiomqtt.MqttError as exc:
                logger.debug("closing the MQTT connection: %s", exc)
        if scope.cancelled_caught:
            drop_connection(self._client)
        await self._stop_reader()
        self._release()

    def abort(self) -> None:
        """Drop the connection at once (the broker then publishes the last will)."""
        self._closed = True
        self._end(CarrierClosed("the MQTT carrier was aborted"))
        drop_connection(self._client)
        self._reader.cancel()
        for task in list(self._pending):
            task.cancel()
        self._release()

    async def _stop_reader(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


async def open_mqtt(
    credentials: MqttBrokerCredentials,
    *,
    ssl_context: ssl.SSLContext | None,
    send_timeout: float = 8.0,
) -> MQTTCarrier:
    """Connect to the broker and subscribe ``/out`` and ``/status``.

    The link then sends the cleartext HELLO (:attr:`MQTTCarrier.cleartext_hello`). The caller
    bounds the time.

    Args:
        credentials: The identity's ``mqtt`` block.
        ssl_context: TLS settings (None: the default context).
        send_timeout: Seconds a publish may take.

    Returns:
        The open carrier.

    Raises:
        ThalovantHubRefusedError: The broker refused the credentials or the subscription.
        ThalovantConnectionError: The broker could not be reached.
        ThalovantUnsupportedProtocolError: Plain MQTT to a broker that is not on loopback.
    """
    topics = credentials.topics()
    address = parse_broker_url(credentials.endpoint, tls=credentials.uses_tls)
    shown = redact_url(credentials.endpoint)
    if not address.tls:
        if not is_loopback_host(address.host):
            raise ThalovantUnsupportedProtocolError(
                f"Unsupported protocol mqtt: {shown} is not TLS; use mqtts:// (plain MQTT is "
                "only accepted on loopback)"
            )
        logger.warning("MQTT without TLS to the loopback broker %s", shown)
    client = aiomqtt.Client(
        address.host,
        address.port,
        username=credentials.username,
        password=credentials.password,
        identifier=f"thalovant-{uuid.uuid4().hex}",
        tls_context=(ssl_context or ssl.create_default_context()) if address.tls else None,
        will=aiomqtt.Will(topics.status, b"offline", qos=1, retain=True),
        keepalive=KEEPALIVE_SECONDS,
        clean_session=True,
        socket_options=NODELAY,
        timeout=send_timeout,
        # paho logs every topic (<prefix> holds the access key): redacted, like the rest.
        logger=cast(
            logging.Logger,
            RedactingLogger(
                _AIOMQTT_LOGGER,
                secrets=(credentials.topic_prefix, credentials.username, credentials.password),
            ),
        ),
    )
    client.pending_calls_threshold = 2 * PUBLISH_WINDOW  # pipelined publishes
    guard_socket_writes(client, asyncio.get_running_loop())
    try:
        await client.__aenter__()
    except aiomqtt.MqttCodeError as exc:
        drop_connection(client)  # paho keeps the socket of a failed connect open
        if exc.rc in (4, 5) or getattr(exc.rc, "value", None) in (4, 5, 134, 135):
            raise ThalovantHubRefusedError(
                f"the MQTT broker {shown} refused the credentials ({exc})"
            ) from None
        raise ThalovantConnectionError(f"cannot connect to {shown}: {exc}") from None
    except aiomqtt.MqttError as exc:
        drop_connection(client)
        raise ThalovantConnectionError(f"cannot connect to {shown}: {exc}") from None
    except BaseException:
        drop_connection(client)
        raise
    try:
        carrier = MQTTCarrier(
            client, topics, qos=credentials.qos, send_timeout=send_timeout, shown=shown
        )
    except BaseException:
        drop_connection(client)
        raise
    try:
        granted = await client.subscribe([(topics.outbound, credentials.qos), (topics.status, 1)])
        codes = [getattr(code, "value", code) for code in (granted or [])]
        if not codes or codes[0] not in (0, 1, 2):
            raise ThalovantHubRefusedError(
                f"the MQTT broker {shown} refused the subscription to this client's topic"
            )
        if len(codes) < 2 or codes[1] not in (0, 1, 2):
            logger.debug("the MQTT broker %s refused the status subscription", shown)
    except aiomqtt.MqttError as exc:
        carrier.abort()
        raise ThalovantConnectionError(f"cannot subscribe at {shown}: {exc}") from None
    except BaseException:
        carrier.abort()
        raise
    return carrier

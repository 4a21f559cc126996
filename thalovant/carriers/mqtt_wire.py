"""What both ends of MQTT share (docs/protocol.md §5.2): broker URLs, publish payloads read as
carrier frames, the local hub's cleartext close notice, and the socket and flow settings.

Used by the client's :mod:`~thalovant.carriers.mqtt` carrier and by the local hub's MQTT
server. Nothing here knows HiveMind messages: a close notice is the hub's MQTT convention for
"this session ended with that code" (a broker has no close codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.enums as mqtt_enums

from thalovant.errors import ThalovantConnectionError
from thalovant.redact import redact_url

__all__ = [
    "CLOSE_NOTICE_TYPE",
    "INBOUND_QUEUE_FRAMES",
    "KEEPALIVE_SECONDS",
    "NODELAY",
    "PUBLISH_WINDOW",
    "BrokerAddress",
    "close_notice",
    "decode_payload",
    "drop_connection",
    "guard_socket_writes",
    "is_loopback_host",
    "parse_broker_url",
    "parse_close_notice",
]

#: Inbound frames buffered before the carrier gives up (docs/protocol.md §5.2).
INBOUND_QUEUE_FRAMES = 256
#: Publishes whose PUBACK may be outstanding at once (frames still leave in order).
PUBLISH_WINDOW = 64
#: MQTT keepalive; the broker publishes the last will after 1.5 x this without a packet.
KEEPALIVE_SECONDS = 60
#: Small frames must not wait for Nagle's algorithm (paho does not set TCP_NODELAY).
NODELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
#: ``msg_type`` of the local hub's cleartext close notice.
CLOSE_NOTICE_TYPE = "close"

_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}


class BrokerAddress:
    """Host, port and TLS flag of a broker URL.

    Args:
        host: The broker host.
        port: The broker port.
        tls: Whether to speak TLS.
    """

    __slots__ = ("host", "port", "tls")

    def __init__(self, host: str, port: int, tls: bool) -> None:
        self.host = host
        self.port = port
        self.tls = tls

    def __repr__(self) -> str:
        return f"BrokerAddress({self.host!r}, {self.port}, tls={self.tls})"


def parse_broker_url(url: str, *, tls: bool | None = None) -> BrokerAddress:
    """Parse an ``mqtt://``, ``mqtts://``, ``tcp://`` or ``ssl://`` broker URL.

    Args:
        url: The broker URL.
        tls: Overrides the scheme when true (the identity's ``tls`` flag).

    Returns:
        Host, port (default 8883 with TLS, 1883 without) and TLS flag.

    Raises:
        ThalovantConnectionError: Any other URL.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ThalovantConnectionError(f"invalid MQTT broker URL {shown}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        raise ThalovantConnectionError(
            f"invalid MQTT broker URL {shown}: use mqtts://host:port (or mqtt:// on loopback)"
        )
    use_tls = _SCHEMES[scheme] or bool(tls)
    return BrokerAddress(parts.hostname, port or (8883 if use_tls else 1883), use_tls)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is this machine.

    Args:
        host: A host name or IP address.

    Returns:
        True for ``localhost`` and loopback IP addresses.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def decode_payload(payload: bytes | bytearray) -> str | bytes:
    """A publish payload as a carrier frame.

    Cleartext handshake frames are JSON objects; a Noise message parsing as one is, for all
    practical purposes, impossible (and only payloads starting with ``{`` are tried).

    Args:
        payload: The publish payload.

    Returns:
        ``str`` for a cleartext JSON object, else the ``bytes`` of a Noise message.
    """
    data = bytes(payload)
    if data[:1] == b"{" and data[-1:] == b"}":
        try:
            text = data.decode("utf-8")
            if isinstance(json.loads(text), dict):
                return text
        except (ValueError, RecursionError):  # not JSON, or nested beyond any limit
            pass
    return data


def close_notice(code: int, reason: str) -> str:
    """The local hub's cleartext close notice (see the module docstring).

    Args:
        code: The close code (1008: refused, 1011: no session, 1012: hub restarted, ...).
        reason: Why (cut to 120 characters).

    Returns:
        The notice's JSON text.
    """
    return json.dumps(
        {"msg_type": CLOSE_NOTICE_TYPE, "payload": {"code": code, "reason": reason[:120]}},
        separators=(",", ":"),
    )


def parse_close_notice(frame: str) -> tuple[int, str] | None:
    """Read a close notice.

    Args:
        frame: A cleartext frame from ``/out``.

    Returns:
        ``(code, reason)`` when ``frame`` is a close notice, else None.
    """
    if '"close"' not in frame:
        return None
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("msg_type") != CLOSE_NOTICE_TYPE:
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("code"), int):
        return None
    reason = payload.get("reason")
    return payload["code"], reason if isinstance(reason, str) else ""


def drop_connection(client: aiomqtt.Client) -> None:
    """Close ``client``'s socket at once, as a lost connection.

    No DISCONNECT is sent, so the broker publishes the last will; the client's message
    iterator then raises ``MqttError``.

    Args:
        client: The aiomqtt client.
    """
    paho: Any = client._client
    with contextlib.suppress(Exception):
        paho._loop_rc_handle(mqtt_enums.MQTTErrorCode.MQTT_ERR_CONN_LOST)
    disconnected = client._disconnected
    if not disconnected.done():
        disconnected.set_result(None)
    elif not disconnected.cancelled():
        disconnected.exception()  # retrieved: no "Future exception was never retrieved" at GC
    if client._lock.locked():
        client._lock.release()


def guard_socket_writes(client: aiomqtt.Client, loop: asyncio.AbstractEventLoop) -> None:
    """Make ``client`` register its socket for writing only while that socket is open.

    aiomqtt defers ``loop.add_writer`` with ``call_soon_threadsafe`` but removes the writer at
    once: when the connection breaks (or is dropped) in between, the deferred call registers
    a closed descriptor, and the loop reports ``OSError: Bad file descriptor`` from a callback
    (seen under frequent publishes, e.g. idle probes, while a link was cut). The guard skips
    the registration when paho no longer uses that socket.

    Args:
        client: The aiomqtt client (before connecting).
        loop: The loop it runs on.
    """
    paho: Any = client._client

    def register(_client: Any, _userdata: Any, sock: Any) -> None:
        def add() -> None:
            if paho.socket() is not sock or sock.fileno() < 0:
                return  # closed or replaced meanwhile: nothing to write on it
            loop.add_writer(sock.fileno(), write)

        def write() -> None:
            try:
                paho.loop_write()
            except Exception as exc:  # as aiomqtt: a broken connection ends the client
                disconnected = client._disconnected
                if not disconnected.done():
                    disconnected.set_exception(exc)

        loop.call_soon_threadsafe(add)

    paho.on_socket_register_write = register

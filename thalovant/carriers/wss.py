"""WebSocket carrier on ``websockets``: text frames for cleartext JSON, binary for Noise."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from thalovant.carriers.base import CarrierClosed, authorization_token, authorized_url
from thalovant.carriers.coalesce import CoalescedWrites
from thalovant.carriers.tls import trim_tls_read_buffer
from thalovant.errors import ThalovantConnectionError, ThalovantHubRefusedError
from thalovant.redact import RedactingLogger, redact_url

__all__ = ["HEARTBEAT_SECONDS", "MAX_FRAME_BYTES", "WSSCarrier", "open_wss"]

#: Keepalive ping interval; the link is dropped if the pong is not back within half of it.
HEARTBEAT_SECONDS = 20.0
#: Larger inbound frames are refused (a Noise message is at most 65535 bytes).
MAX_FRAME_BYTES = 256 * 1024
#: What ``websockets`` logs for this carrier (its request line carries the token) goes here,
#: redacted.
_WS_LOGGER = logging.getLogger("thalovant.carriers.websockets")


class _HubConnection(CoalescedWrites, ClientConnection):
    """Writes the frames of one loop tick at once (:mod:`thalovant.carriers.coalesce`), and
    drops the TCP connection as soon as the hub's close frame is in, so ``recv()`` raises
    (with the hub's close code) at once.

    Our answering close frame was handed to the transport before events are processed (the
    abort may still lose it; the hub has ended the session anyway); a client may end the
    connection first (RFC 6455 §7.1.1). Waiting for the hub to close TCP
    costs up to its close timeout when it is busy (its reading is paused under load, so it
    never sees our answer), and every ask in flight would fail only then. ``abort``, not
    ``close``: a TLS ``close`` waits for the hub's ``close_notify``, which a hub that is not
    reading never sends.
    """

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
            self._flush()  # our answering close frame, then the drop
            self.transport.abort()


class WSSCarrier:
    """An open WebSocket to a hub (made by :func:`open_wss`).

    Args:
        connection: The open ``websockets`` client connection.
    """

    name = "wss"
    cleartext_hello = False

    def __init__(self, connection: ClientConnection) -> None:
        self._ws = connection

    async def send(self, frame: str | bytes) -> None:
        """Send one frame (text for cleartext JSON, binary for a Noise message).

        Args:
            frame: ``str`` or ``bytes``.

        Raises:
            CarrierClosed: The WebSocket is closed (with the hub's close code).
        """
        try:
            await self._ws.send(frame)
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def receive(self) -> str | bytes:
        """The next frame; safe to cancel.

        Returns:
            ``str`` for a text frame, ``bytes`` for a binary one.

        Raises:
            CarrierClosed: The WebSocket is closed (with the hub's close code, or 1006).
        """
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def probe(self) -> None:
        """One round trip with the hub: a WebSocket ping, answered by its pong.

        Raises:
            CarrierClosed: The WebSocket is closed.
        """
        try:
            pong = await self._ws.ping()
            await pong
        except ConnectionClosed as exc:
            raise _closed(exc) from exc

    async def aclose(self) -> None:
        """Close the WebSocket (bounded by the close timeout)."""
        await self._ws.close()

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (bounded shutdown)."""
        self._ws.transport.abort()


def _closed(exc: ConnectionClosed) -> CarrierClosed:
    code = exc.rcvd.code if exc.rcvd is not None else 1006
    reason = exc.rcvd.reason if exc.rcvd is not None else ""
    text = f"hub closed the WebSocket (code {code}{': ' + reason[:100] if reason else ''})"
    return CarrierClosed(text, code=code)


async def open_wss(
    url: str,
    *,
    access_key: str,
    user_agent: str,
    ssl_context: ssl.SSLContext | None,
    open_timeout: float,
    heartbeat: float | None = HEARTBEAT_SECONDS,
) -> WSSCarrier:
    """Open the WebSocket at ``url`` with the ``authorization=`` token in its query.

    Args:
        url: The hub's ``wss://`` (or loopback ``ws://``) URL.
        access_key: The identity's access key (for the token).
        user_agent: The client's user agent.
        ssl_context: TLS settings for ``wss://``.
        open_timeout: Seconds the opening handshake may take.
        heartbeat: Keepalive ping interval (None: no pings).

    Returns:
        The open carrier.

    Raises:
        ThalovantHubRefusedError: The hub answered the upgrade with HTTP 401/403.
        ThalovantConnectionError: A bad URL, or the hub could not be reached.
    """
    token = authorization_token(user_agent, access_key)
    target = authorized_url(url, token)
    shown = redact_url(url)
    kwargs: dict[str, Any] = {}
    if target.startswith("wss://"):
        kwargs["ssl"] = ssl_context
    try:
        connection = await connect(
            target,
            user_agent_header=user_agent,
            compression=None,
            open_timeout=open_timeout,
            ping_interval=heartbeat,
            ping_timeout=heartbeat / 2 if heartbeat else None,
            close_timeout=2.0,
            max_size=MAX_FRAME_BYTES,
            max_queue=64,
            proxy=True,
            create_connection=_HubConnection,
            logger=RedactingLogger(_WS_LOGGER, secrets=(access_key, token)),
            **kwargs,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise ThalovantHubRefusedError(
                f"hub refused the credentials at {shown} (HTTP {status})"
            ) from None
        raise ThalovantConnectionError(
            f"WebSocket upgrade to {shown} failed with HTTP {status}"
        ) from None
    except InvalidURI:
        raise ThalovantConnectionError(f"invalid WebSocket URL {shown}") from None
    except (InvalidHandshake, OSError, TimeoutError, ssl.SSLError) as exc:
        raise ThalovantConnectionError(
            f"cannot open WebSocket to {shown}: {type(exc).__name__}: {exc}"
        ) from None
    trim_tls_read_buffer(connection.transport)
    return WSSCarrier(connection)

"""The WebSocket carrier of the local hub, on the ``websockets`` asyncio server.

Authentication happens before the upgrade, as on a HiveMind hub (docs/protocol.md §2.1): the
``authorization`` query parameter holds ``base64("<useragent>:<access_key>")``; a missing or
malformed token, or an unknown access key, is answered with HTTP 403 and no WebSocket. An
accepted connection gets a :class:`~thalovant.hub.responder.session.HubSession`; cleartext handshake
frames travel as text frames, Noise transport messages as binary frames.

Each connection is contained: whatever goes wrong in one (a malformed frame, a bug in a skill)
closes that connection only, with the session's close code, or 1011 for a hub-side error.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from ssl import SSLContext
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import anyio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from thalovant.carriers.coalesce import CoalescedWrites
from thalovant.carriers.tls import trim_tls_read_buffer
from thalovant.hub.limits import HubLimits
from thalovant.hub.responder.session import CLOSE_PROTOCOL, HubServices, HubSession, SessionClosed
from thalovant.hub.servers.gate import ConnectionGate
from thalovant.hub.state.registry import ClientRecord
from thalovant.redact import RedactingLogger

__all__ = ["MAX_FRAME_BYTES", "WSSServer", "parse_authorization"]

logger = logging.getLogger("thalovant.hub.wss")

MAX_FRAME_BYTES = 256 * 1024
"""Largest inbound WebSocket message (a Noise message is at most 65535 bytes)."""
_CLOSE_INTERNAL = 1011


#: websockets logs each request line, ``authorization=`` token included: its whole query is
#: redacted (a client may spell the parameter name percent-encoded).
_ws_logger = RedactingLogger(
    logging.getLogger("thalovant.hub.websockets"),
    patterns=(re.compile(r"(\bGET [^\s?]*\?)\S+"),),
)


def parse_authorization(path: str) -> tuple[str, str] | None:
    """``(user_agent, access_key)`` from the ``authorization`` query parameter of ``path``.

    The token is standard base64 (a ``+`` that arrived unescaped and became a space is
    restored); the user agent ends at the first ``:``. ``None`` when anything is off.
    """
    values = parse_qs(urlsplit(path).query, keep_blank_values=True).get("authorization")
    if not values:
        return None
    token = values[-1].replace(" ", "+").strip()
    try:
        text = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user_agent, sep, access_key = text.partition(":")
    if not sep or not access_key:
        return None
    return user_agent, access_key


def _peer_name(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return "unknown"


class _CoalescedConnection(CoalescedWrites, ServerConnection):
    """A server connection writing the frames of one loop tick at once (a reply's speak and
    ``handled``, the replies of many clients' asks)."""


class WSSServer:
    """Serves HiveMind v3 over WebSocket (``wss://`` with an SSL context, else ``ws://``)."""

    def __init__(
        self,
        services: HubServices,
        *,
        lookup: Callable[[str], ClientRecord | None],
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: SSLContext | None = None,
        handshake_timeout: float = 20.0,
        limits: HubLimits | None = None,
    ) -> None:
        self._services = services
        self._lookup = lookup
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._handshake_timeout = handshake_timeout
        self._server: Server | None = None
        self.limits = limits or HubLimits()
        self.gate = ConnectionGate("WSS listener", self.limits, ssl_context=ssl_context)
        """Connection caps and the first-request deadline (TLS is done by the gate)."""

    @property
    def port(self) -> int:
        """The bound port (the requested one before :meth:`start`; kept after close)."""
        return self._port

    @property
    def url(self) -> str:
        """``wss://host:port`` (``ws://`` without TLS)."""
        scheme = "wss" if self._ssl is not None else "ws"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """WebSocket connections currently open (authenticated or still in the handshake)."""
        return len(self._server.connections) if self._server is not None else 0

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._server = await serve(
            self._handle,
            self._host,
            self._port,
            create_connection=cast("type[ServerConnection]", self._gated_connection),
            process_request=self._authorize,
            open_timeout=self.limits.request_timeout,
            compression=None,
            max_size=MAX_FRAME_BYTES,
            max_queue=16,
            close_timeout=2.0,
            server_header="thalovant-local-hub",
            logger=_ws_logger,
        )
        if self._server.sockets:
            self._port = int(self._server.sockets[0].getsockname()[1])
        logger.info("local hub listening on %s", self.url)

    def _gated_connection(self, *args: Any, **kwargs: Any) -> ServerConnection:
        # websockets' protocol factory builds the connection through this hook: the gate's
        # protocol wraps it (caps, TLS, the deadline to the upgrade request).
        factory = self.gate.protocol_factory(lambda: _CoalescedConnection(*args, **kwargs))
        return cast(ServerConnection, factory())

    async def drop_connections(self, code: int = _CLOSE_INTERNAL, reason: str = "") -> None:
        """Close every open connection with ``code`` (clients see a drop, or a refusal for
        1000/1005/1008 during the handshake). Returns once every close handshake is over: up
        to the close timeout (2 s) for a connection whose reading is paused because its
        session is busy (the client itself fails its asks as soon as the close frame
        arrives)."""
        if self._server is None:
            return
        async with anyio.create_task_group() as tg:
            for connection in list(self._server.connections):
                tg.start_soon(connection.close, code, reason)

    def kill(self) -> None:
        """Stop listening and abort every connection without a close frame (like a crash)."""
        if self._server is None:
            return
        self._server.server.close()
        for connection in list(self._server.all_connections):
            connection.transport.abort()
        self.gate.close_all()

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop listening, close connections with 1001, wait ``grace`` s for handlers."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close(close_connections=True)
        self.gate.close_all_waiting()
        with anyio.move_on_after(grace) as scope:
            await server.wait_closed()
        if scope.cancelled_caught:
            logger.warning("connections did not close within %.1f s; aborting them", grace)
            for connection in list(server.all_connections):
                connection.transport.abort()
            for task in list(server.handler_tasks):
                task.cancel()  # e.g. a reader waiting for a reply slot held by a slow skill
            with anyio.move_on_after(grace):
                await server.wait_closed()

    # ------------------------------------------------------------------ per connection

    def _client_for(self, path: str) -> ClientRecord | None:
        parsed = parse_authorization(path)
        return self._lookup(parsed[1]) if parsed is not None else None

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        self.gate.admit(connection.transport)
        if self._client_for(request.path) is None:
            logger.info("refused a connection from %s", _peer_name(connection.remote_address))
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        trim_tls_read_buffer(ws.transport)  # 256 KiB -> 32 KiB per connection
        client = self._client_for(ws.request.path) if ws.request is not None else None
        if client is None:  # unregistered between the upgrade and now
            await ws.close(1008, "unknown access key")
            return
        closing: tuple[int, str] | None = None
        async with anyio.create_task_group() as tg:
            session = HubSession(
                self._services,
                client,
                peer=_peer_name(ws.remote_address),
                send=ws.send,
                task_group=tg,
                abort=ws.close,
                carrier="wss",
            )
            try:
                closing = await self._drive(ws, session)
            finally:
                session.mark_closed()
                tg.cancel_scope.cancel()
        if closing is not None:
            await ws.close(*closing)

    async def _drive(self, ws: ServerConnection, session: HubSession) -> tuple[int, str] | None:
        try:
            with anyio.fail_after(self._handshake_timeout) as deadline:
                await session.start(deadline)
                while not session.ready:
                    await session.receive(await ws.recv())
            async for frame in ws:
                await session.receive(frame)
        except SessionClosed as closed:
            return closed.code, closed.reason
        except ConnectionClosed:
            return None
        except TimeoutError:
            logger.info("handshake with %s timed out", session.peer)
            return CLOSE_PROTOCOL, "handshake timed out"
        except Exception:
            logger.exception("connection from %s failed", session.peer)
            return _CLOSE_INTERNAL, "internal error"
        return None

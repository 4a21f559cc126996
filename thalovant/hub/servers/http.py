"""The HTTPS polling carrier of the local hub, on ``aiohttp.web`` (docs/protocol.md §5.1).

Five endpoints at the root: ``POST /connect``, ``POST /disconnect``, ``POST /send_message``
(form ``message``, base64 with ``binary=1`` for Noise messages), ``GET /get_messages``
(``{"messages": [...]}``, cleartext handshake frames) and ``GET /get_binary_messages``
(``{"b64_messages": [...]}``). Every request is authenticated by its ``authorization`` query
(as on the WebSocket carrier); a missing, malformed or unknown one gets HTTP 403.

A connection is an access key plus a ``hivemind_http_replica`` cookie value, which
``/connect`` sets when the request has none; a client that keeps the cookie reconnects into
the same slot (the old session is replaced). A connection is *bound* to its cookie once a
request carries it (from its ``/connect`` on, for a client that came with one; else from
its first poll): from then on only requests with that cookie reach it. Requests without a
cookie reach the key's newest connection that is not bound, as on HiveMind-core (whose
plugin keys sessions by access key alone and never reads the cookie), so a client that
drops cookies (hivemind-bus-client) still works, but a party holding only the access key can
no longer read, post to or end a cookie-keeping client's connection (docs/interop.md).

Each connection runs a :class:`~thalovant.hub.responder.session.HubSession` in its own task, which
takes the posted frames in order; replies wait in two bounded mailboxes (cleartext and
binary) until polled. A full mailbox holds the session's writer back (it gives up after the
session's send timeout and drops the connection).

When a connection ends, a tombstone answers the client's next requests the way a WebSocket
close would: a refusal (close 1000/1005/1008, e.g. a wrong or re-keyed client) is HTTP 403,
anything else (a drop, the hub closing, a protocol error) is HTTP 410 with the close code in
the body. A connection nobody polls for ``idle_timeout`` seconds is closed and forgotten, so
abandoned clients do not leak. Other web apps (e.g. the ``/v1`` control plane) can be mounted
on :attr:`HTTPServer.app` before :meth:`HTTPServer.start`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from ssl import SSLContext

import anyio
import anyio.lowlevel
from aiohttp import web
from anyio.abc import TaskGroup

from thalovant.hub.limits import HubLimits
from thalovant.hub.responder.session import CLOSE_PROTOCOL, HubServices, HubSession, SessionClosed
from thalovant.hub.servers.gate import ConnectionGate
from thalovant.hub.servers.http_connection import MAX_BATCH, MAX_MAILBOX, HTTPConnection
from thalovant.hub.servers.http_requests import http_error, peer_name, read_form
from thalovant.hub.servers.wss import parse_authorization
from thalovant.hub.state.registry import ClientRecord

__all__ = ["HOLD_SECONDS", "MAX_BATCH", "MAX_MAILBOX", "REPLICA_COOKIE", "HTTPServer"]

logger = logging.getLogger("thalovant.hub.http")

REPLICA_COOKIE = "hivemind_http_replica"
"""The cookie that names a connection; a request carrying it binds that connection to it."""
HOLD_SECONDS = 0.5
"""How long an empty poll is held while an answer is likely: within this time after the
client's last posted frame, until the first frame for it is queued. Any client benefits
(the answer comes back on the poll already in flight) and nothing changes on the wire."""
_MAX_BODY = 256 * 1024  # a Noise message is at most 65535 bytes (87 KiB in base64)
_MAX_INBOUND = 16
_MAX_PER_KEY = 128  # connections one access key may hold; the oldest is evicted
_REFUSAL_CODES = frozenset({1000, 1005, 1008})
_CLOSE_GOING_AWAY = 1001
_CLOSE_INTERNAL = 1011
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{8,64}")


class HTTPServer:
    """Serves HiveMind v3 over HTTPS polling (``https://`` with an SSL context, else ``http://``).

    ``extra_apps`` maps a prefix (e.g. ``"/v1"``) to an ``aiohttp.web.Application`` mounted as
    a sub-application; more can be added to :attr:`app` until :meth:`start`.
    """

    def __init__(
        self,
        services: HubServices,
        *,
        lookup: Callable[[str], ClientRecord | None],
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: SSLContext | None = None,
        handshake_timeout: float = 20.0,
        idle_timeout: float = 30.0,
        extra_apps: Mapping[str, web.Application] | None = None,
        limits: HubLimits | None = None,
    ) -> None:
        self._services = services
        self._lookup = lookup
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        """Seconds without a request after which a connection is closed and forgotten."""
        self.hold_seconds = HOLD_SECONDS
        """See :data:`HOLD_SECONDS`; ``0`` answers every poll at once."""
        self._connections: dict[tuple[str, str], HTTPConnection] = {}
        self._latest: dict[str, str] = {}  # access key -> cookie of its newest unbound one
        self._serials = itertools.count(1)
        self.requests = 0
        """HTTP requests answered by the five carrier endpoints (for measurements)."""
        self.limits = limits or HubLimits()
        self.gate = ConnectionGate("HTTPS listener", self.limits, ssl_context=ssl_context)
        """Connection caps, first-request and keep-alive deadlines (TLS is done by the gate)."""
        self.app = web.Application(client_max_size=_MAX_BODY, middlewares=[self.gate.middleware()])
        """The aiohttp application; mount sub-applications here before :meth:`start`."""
        self.app.router.add_post("/connect", self._connect)
        self.app.router.add_post("/disconnect", self._disconnect)
        self.app.router.add_post("/send_message", self._send_message)
        self.app.router.add_get("/get_messages", self._get_messages)
        self.app.router.add_get("/get_binary_messages", self._get_binary_messages)
        for prefix, sub_app in (extra_apps or {}).items():
            self.app.add_subapp(prefix, sub_app)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._host_task: asyncio.Task[None] | None = None
        self._tg: TaskGroup | None = None

    @property
    def port(self) -> int:
        """The bound port (the requested one before :meth:`start`; kept after close)."""
        return self._port

    @property
    def url(self) -> str:
        """``https://host:port`` (``http://`` without TLS)."""
        scheme = "https" if self._ssl is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections not closed yet (authenticated, in the handshake or ready)."""
        return sum(1 for conn in self._connections.values() if conn.closed is None)

    # ----------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Bind and start serving."""
        runner = web.AppRunner(
            self.app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=2.0,
            keepalive_timeout=self.limits.keepalive_timeout + 1.0,  # the gate's comes first
        )
        await runner.setup()
        assert runner.server is not None
        try:
            listener = await asyncio.get_running_loop().create_server(
                self.gate.protocol_factory(runner.server), self._host, self._port, backlog=128
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        if listener.sockets:
            self._port = int(listener.sockets[0].getsockname()[1])
        started = anyio.Event()
        self._host_task = asyncio.get_running_loop().create_task(self._host_main(started))
        await started.wait()
        logger.info("local hub listening on %s", self.url)

    async def _host_main(self, started: anyio.Event) -> None:
        # Owns the task group of every connection's session task and the reaper.
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._reap)
            started.set()
            await anyio.sleep_forever()

    async def drop_connections(self, code: int = _CLOSE_INTERNAL, reason: str = "") -> None:
        """Close every open connection with ``code``: the clients' next poll fails (HTTP 403
        for 1000/1005/1008, else 410), so they see a refusal or a drop."""
        for conn in list(self._connections.values()):
            conn.close(code, reason)

    def kill(self) -> None:
        """Stop listening, forget every connection and abort the sockets (like a crash)."""
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._connections.values()):
            conn.close(_CLOSE_INTERNAL, "hub crashed")
        self._connections.clear()
        self._latest.clear()
        if self._runner is not None and self._runner.server is not None:
            for handler in self._runner.server.connections:
                if handler.transport is not None:
                    handler.transport.abort()
        self.gate.close_all()

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop listening, end every connection (1001), stop the session tasks."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._listener is not None:
            self._listener.close()
        self.gate.close_all_waiting()
        await self.drop_connections(_CLOSE_GOING_AWAY, "hub shutting down")
        host, self._host_task = self._host_task, None
        if host is not None:
            host.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait({host}, timeout=grace)
        self._connections.clear()
        self._latest.clear()
        with anyio.move_on_after(grace, shield=True):
            await runner.cleanup()
        self.gate.close_all()

    # --------------------------------------------------------------------- connections

    async def _run(self, conn: HTTPConnection) -> None:
        """The session task of one connection: handshake, then the posted frames in order."""
        closing: tuple[int, str] = (_CLOSE_GOING_AWAY, "connection ended")
        try:
            with conn.scope:
                async with anyio.create_task_group() as tg:
                    session = HubSession(
                        self._services,
                        conn.client,
                        peer=conn.peer,
                        send=conn.put,
                        task_group=tg,
                        abort=self._aborter(conn),
                        evict_first=lambda: not conn.bound,
                        carrier="https",
                    )
                    try:
                        closing = await self._drive(conn, session)
                    finally:
                        session.mark_closed()
                        tg.cancel_scope.cancel()
        finally:
            conn.close(*closing)
            for _, done in conn.inbound:
                done.set()  # release the requests that posted them
            conn.inbound.clear()

    async def _drive(self, conn: HTTPConnection, session: HubSession) -> tuple[int, str]:
        try:
            with anyio.fail_after(self._handshake_timeout) as deadline:
                await session.start(deadline)
                while not session.ready:
                    await self._next_frame(conn, session)
            while True:
                await self._next_frame(conn, session)
        except SessionClosed as closed:
            return closed.code, closed.reason
        except TimeoutError:
            logger.info("handshake with %s timed out", conn.peer)
            return CLOSE_PROTOCOL, "handshake timed out"
        except Exception:
            logger.exception("HTTP connection from %s failed", conn.peer)
            return _CLOSE_INTERNAL, "internal error"

    async def _next_frame(self, conn: HTTPConnection, session: HubSession) -> None:
        while not conn.inbound:
            await conn.changed.wait()
        frame, done = conn.inbound[0]
        try:
            await session.receive(frame)
        finally:
            conn.inbound.pop(0)
            done.set()
            conn.notify()

    def _aborter(self, conn: HTTPConnection) -> Callable[[int, str], Awaitable[None]]:
        async def abort(code: int, reason: str) -> None:
            conn.close(code, reason)

        return abort

    async def _reap(self) -> None:
        """Close and forget connections nobody has polled for ``idle_timeout`` seconds."""
        while True:
            await anyio.sleep(max(0.05, min(self.idle_timeout / 4, 5.0)))
            now = time.monotonic()
            for key, conn in list(self._connections.items()):
                if now - conn.last_seen > self.idle_timeout:
                    if conn.closed is None:
                        logger.info("closing abandoned HTTP connection of %s", conn.client.name)
                    conn.close(_CLOSE_GOING_AWAY, "idle timeout")
                    self._forget(key, conn)

    def _forget(self, key: tuple[str, str], conn: HTTPConnection) -> None:
        if self._connections.get(key) is conn:
            del self._connections[key]
        if self._latest.get(key[0]) == key[1]:
            self._elect_latest(key[0])

    def _elect_latest(self, access_key: str) -> None:
        """Point the key's cookie-less requests at its newest connection that is not bound
        (a tombstone included, so a cookie-less client learns how its connection ended)."""
        unbound = [
            conn
            for conn in self._connections.values()
            if conn.client.access_key == access_key and not conn.bound
        ]
        if unbound:
            self._latest[access_key] = max(unbound, key=lambda c: c.serial).cookie
        else:
            self._latest.pop(access_key, None)

    # ------------------------------------------------------------------------ requests

    def _authorize(self, request: web.Request) -> ClientRecord:
        self.requests += 1
        parsed = parse_authorization(request.path_qs)
        client = self._lookup(parsed[1]) if parsed is not None else None
        if client is None:
            logger.info("refused an HTTP request from %s", request.remote or "unknown")
            raise http_error(403, "Invalid authorization")
        return client

    def _find(self, request: web.Request, client: ClientRecord) -> HTTPConnection:
        """The request's connection (touching it), or an error response for a tombstone.

        With the replica cookie: that connection, which is bound to the cookie from then on.
        Without it: the key's newest connection that is not bound (see :data:`REPLICA_COOKIE`).
        """
        cookie = request.cookies.get(REPLICA_COOKIE)
        if cookie:
            conn = self._connections.get((client.access_key, cookie))
            if conn is not None and not conn.bound:
                conn.bound = True
                if self._latest.get(client.access_key) == cookie:
                    self._elect_latest(client.access_key)
        else:
            latest = self._latest.get(client.access_key)
            conn = self._connections.get((client.access_key, latest)) if latest else None
        if conn is None:
            raise http_error(410, "Not connected")
        conn.last_seen = time.monotonic()
        if conn.closed is not None:
            code, reason = conn.closed
            status = 403 if code in _REFUSAL_CODES else 410
            raise http_error(status, f"connection closed: {reason or code}", code=code)
        return conn

    async def _connect(self, request: web.Request) -> web.Response:
        client = self._authorize(request)
        if self._tg is None:
            raise http_error(503, "hub not running")
        cookie = request.cookies.get(REPLICA_COOKIE, "")
        bound = bool(_COOKIE_VALUE.fullmatch(cookie))  # a client that keeps its cookie
        if not bound:
            cookie = secrets.token_urlsafe(16)
        key = (client.access_key, cookie)
        old = self._connections.pop(key, None)
        if old is not None:
            old.close(_CLOSE_GOING_AWAY, "replaced by a new connection")
        self._evict_oldest(client.access_key)
        conn = HTTPConnection(
            client, cookie, peer_name(request), bound=bound, serial=next(self._serials)
        )
        self._connections[key] = conn
        if bound:
            if self._latest.get(client.access_key) == cookie:
                self._elect_latest(client.access_key)
        else:
            self._latest[client.access_key] = cookie
        self._tg.start_soon(self._run, conn)
        response = web.json_response({"status": "Connected"})
        response.set_cookie(
            REPLICA_COOKIE,
            cookie,
            httponly=True,
            secure=self._ssl is not None,
            samesite="Strict",
        )
        return response

    def _evict_oldest(self, access_key: str) -> None:
        mine = [c for c in self._connections.values() if c.client.access_key == access_key]
        # Cookie-less (unbound) connections go first: anyone with the key can open those.
        oldest = sorted(mine, key=lambda c: (c.bound, c.last_seen))
        for conn in oldest[: max(0, len(mine) + 1 - _MAX_PER_KEY)]:
            conn.close(_CLOSE_GOING_AWAY, "too many connections")
            self._forget(conn.key, conn)

    async def _disconnect(self, request: web.Request) -> web.Response:
        client = self._authorize(request)
        try:
            conn = self._find(request, client)
        except web.HTTPException:
            return web.json_response({"error": "Already Disconnected"})
        conn.close(1000, "client disconnected")
        self._forget(conn.key, conn)
        return web.json_response({"status": "Disconnected"})

    async def _send_message(self, request: web.Request) -> web.Response:
        client = self._authorize(request)
        conn = self._find(request, client)
        form = await read_form(request)
        message = form.get("message")
        if not isinstance(message, str) or not message:
            raise http_error(400, "Missing message")
        frame: str | bytes = message
        if form.get("binary") in ("1", "true", "True"):
            try:
                frame = base64.b64decode(message, validate=True)
            except (binascii.Error, ValueError):
                raise http_error(400, "binary message is not base64") from None
        while len(conn.inbound) >= _MAX_INBOUND and conn.closed is None:
            await conn.changed.wait()  # the session is behind: hold the client back
        if conn.closed is not None:
            self._find(request, client)  # raises the tombstone's answer
        done = anyio.Event()
        conn.inbound.append((frame, done))
        conn.last_posted, conn.answered = time.monotonic(), False
        conn.notify()
        await done.wait()
        # Taken (even if it ended the session: like a WebSocket frame that was delivered,
        # the client learns of the close from its next request).
        return web.json_response({"status": "message sent"})

    async def _get_messages(self, request: web.Request) -> web.Response:
        conn = self._find(request, self._authorize(request))
        return web.json_response({"messages": await conn.take(False, self.hold_seconds)})

    async def _get_binary_messages(self, request: web.Request) -> web.Response:
        conn = self._find(request, self._authorize(request))
        frames = await conn.take(True, self.hold_seconds)
        return web.json_response(
            {"b64_messages": [base64.b64encode(frame).decode("ascii") for frame in frames]}
        )

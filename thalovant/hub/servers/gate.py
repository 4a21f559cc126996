"""Connection caps and first-request deadlines of one listener (issue #11, defect 7).

:class:`ConnectionGate` sits between a listening socket and the server's protocol
(``websockets``, ``aiohttp``, the embedded MQTT broker's streams) and enforces, per listener,
the :class:`~thalovant.hub.limits.HubLimits` it is given:

- a cap on connections in total and per peer address, checked when the TCP connection is
  accepted, before any TLS work; when the total is reached the oldest connection that has not
  sent its first request yet makes room, so a flood of silent sockets cannot lock out a client
  that completes its handshake; refusals are logged (one line per listener at most every
  :data:`_LOG_EVERY` seconds, with a count);
- a deadline from accept to the first request (TLS handshake included): the server marks the
  connection with :meth:`ConnectionGate.admit` (WebSocket upgrade request, MQTT ``CONNECT``) or
  :meth:`ConnectionGate.request_started` (HTTP); a connection that misses it is aborted;
- for HTTP keep-alive, :meth:`ConnectionGate.request_finished` re-arms the deadline: the next
  request must start within ``keepalive_timeout`` and its headers must complete within
  ``request_timeout`` of its first byte (no slowloris on a kept-alive connection either);
- TLS done by the gate (``loop.start_tls``) with asyncio's 256 KiB per-connection read buffer
  trimmed in the same event-loop turn it is allocated, so an idle TLS socket costs ~32 KiB.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from thalovant.carriers.tls import trim_ssl_protocol, trim_tls_read_buffer
from thalovant.hub.limits import HubLimits

__all__ = ["ConnectionGate"]

logger = logging.getLogger("thalovant.hub.limits")

_LOG_EVERY = 10.0
"""Seconds between two "cap reached" log lines of one listener (refusals are counted)."""


def _peer_host(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "unknown"


class _Guard(asyncio.Protocol):
    """One accepted connection: TLS (optional), deadline, then the server's own protocol."""

    __slots__ = (
        "_busy",
        "_early",
        "_gate",
        "_make",
        "_raw",
        "_real",
        "_timer",
        "admitted",
        "app",
        "done",
        "peer",
    )

    def __init__(self, gate: ConnectionGate, make: Callable[[], asyncio.BaseProtocol]) -> None:
        self._gate = gate
        self._make = make
        self._raw: asyncio.Transport | None = None
        self._real: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._early: list[bytes] | None = None  # data before the real protocol exists
        self._busy = False
        self.admitted = False
        self.app: asyncio.BaseTransport | None = None
        self.done = False
        self.peer = "unknown"

    # ------------------------------------------------------------------ gate side

    def arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._expire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def abort(self) -> None:
        if self._raw is not None:
            self._raw.abort()

    def _expire(self) -> None:
        self._timer = None
        logger.debug("%s: closing %s: no request in time", self._gate.name, self.peer)
        self._gate.timed_out += 1
        self.abort()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            self.disarm()
        else:
            self.arm(self._gate.limits.keepalive_timeout)

    # ------------------------------------------------------------------ asyncio side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._raw = transport
        self.peer = _peer_host(transport)
        if not self._gate.enter(self):
            transport.abort()
            return
        context = self._gate.ssl_context
        if context is None:
            self._start(transport)
            return
        self._early = []
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._upgrade(transport, context))
        self._gate.tasks.add(task)
        task.add_done_callback(self._gate.tasks.discard)
        # start_tls builds the SSLProtocol (and its 256 KiB buffer) in the task's first step;
        # this runs right after it, before any byte is read.
        loop.call_soon(self._trim, transport)

    @staticmethod
    def _trim(transport: asyncio.Transport) -> None:
        trim_ssl_protocol(transport.get_protocol())

    async def _upgrade(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self._gate.limits.request_timeout,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError, asyncio.CancelledError):
            raw.abort()
            self._gate.leave(self)
            return
        if transport is None:  # aborted (deadline, eviction) during the handshake
            self._gate.leave(self)
            return
        self._start(transport)

    def _start(self, transport: asyncio.BaseTransport) -> None:
        if self.done:
            return
        if transport is not self._raw:
            trim_tls_read_buffer(transport)  # in case the early trim found no SSLProtocol
        real: Any = self._make()
        self._real = real
        self._gate.attach(transport, self)
        real.connection_made(transport)
        early, self._early = self._early, None
        for data in early or ():
            real.data_received(data)

    def data_received(self, data: bytes) -> None:
        real = self._real
        if real is None:
            if self._early is not None:
                self._early.append(data)
            return
        if self.admitted and not self._busy and self._timer is not None:
            # a new request began on a kept-alive connection: its headers have a deadline
            limit = self._gate.limits.request_timeout
            if self._timer.when() > asyncio.get_running_loop().time() + limit:
                self.arm(limit)
        real.data_received(data)

    def eof_received(self) -> bool | None:
        real = self._real
        if real is None:
            return None
        result: bool | None = real.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self._gate.leave(self)
        real, self._real = self._real, None
        if real is not None:
            real.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._real is not None:
            self._real.pause_writing()

    def resume_writing(self) -> None:
        if self._real is not None:
            self._real.resume_writing()


class ConnectionGate:
    """Connection caps and first-request deadlines of one listener (see the module docstring).

    ``protocol_factory(make)`` is what ``loop.create_server`` takes (without its ``ssl``:
    the gate does TLS itself with ``ssl_context``); ``make()`` builds the server's protocol.
    """

    def __init__(
        self, name: str, limits: HubLimits, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.name = name
        self.limits = limits
        self.ssl_context = ssl_context
        self.tasks: set[asyncio.Task[None]] = set()
        self._per_peer: dict[str, int] = {}
        self._open: set[_Guard] = set()
        self._waiting: OrderedDict[_Guard, None] = OrderedDict()  # no request yet, oldest first
        self._by_transport: dict[asyncio.BaseTransport, _Guard] = {}
        self.accepted = 0
        """Connections let in (for measurements)."""
        self.refused = 0
        """Connections refused at a cap."""
        self.evicted = 0
        """Connections without a request closed to make room under the total cap."""
        self.timed_out = 0
        """Connections closed because no request came in time."""
        self._last_log = -_LOG_EVERY
        self._unlogged = 0
        self._changed: asyncio.Event | None = None

    async def wait_until(self, predicate: Callable[[ConnectionGate], bool]) -> None:
        """Wait until ``predicate(gate)`` holds (checked whenever a connection comes or goes;
        wrap in a timeout)."""
        while not predicate(self):
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    @property
    def open_connections(self) -> int:
        """Connections open on this listener right now."""
        return len(self._open)

    def open_from(self, peer: str) -> int:
        """Connections open right now from the address ``peer``."""
        return self._per_peer.get(peer, 0)

    @property
    def busiest_peer(self) -> int:
        """The most connections one address holds right now."""
        return max(self._per_peer.values(), default=0)

    def protocol_factory(
        self, make: Callable[[], asyncio.BaseProtocol]
    ) -> Callable[[], asyncio.Protocol]:
        """The factory for ``loop.create_server``: each connection passes the gate first."""
        return lambda: _Guard(self, make)

    # ------------------------------------------------------------------ server hooks

    def admit(self, transport: asyncio.BaseTransport | None) -> None:
        """The connection on ``transport`` sent its first request: no deadline any more."""
        guard = self._by_transport.get(transport) if transport is not None else None
        if guard is not None and not guard.admitted:
            guard.admitted = True
            guard.disarm()
            self._waiting.pop(guard, None)

    def request_started(self, transport: asyncio.BaseTransport | None) -> None:
        """HTTP: a request's headers are in; no deadline while it is handled."""
        guard = self._by_transport.get(transport) if transport is not None else None
        if guard is not None:
            self.admit(transport)
            guard.set_busy(True)

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        """HTTP: a request was answered; the next must come within ``keepalive_timeout``."""
        guard = self._by_transport.get(transport) if transport is not None else None
        if guard is not None and not guard.done:
            guard.set_busy(False)

    def close_all(self) -> None:
        """Abort every connection (the listener is gone)."""
        for guard in list(self._open):
            guard.abort()
        for task in list(self.tasks):
            task.cancel()

    def close_all_waiting(self) -> None:
        """Abort the connections that have not sent a request (the listener is closing;
        the server closes the others its own way)."""
        for guard in list(self._waiting):
            guard.abort()
        for task in list(self.tasks):
            task.cancel()

    def middleware(self) -> Any:
        """An ``aiohttp`` middleware reporting each request's start and end to the gate."""
        from aiohttp import web

        @web.middleware
        async def track(request: web.Request, handler: Any) -> web.StreamResponse:
            transport = request.transport
            self.request_started(transport)
            try:
                response: web.StreamResponse = await handler(request)
                return response
            finally:
                self.request_finished(transport)

        return track

    # ------------------------------------------------------------------ bookkeeping

    def enter(self, guard: _Guard) -> bool:
        limits = self.limits
        from_peer = self._per_peer.get(guard.peer, 0)
        if from_peer >= limits.max_connections_per_peer:
            self._refuse(
                guard.peer,
                f"{from_peer} connections from that address "
                f"(max_connections_per_peer={limits.max_connections_per_peer})",
            )
            return False
        if len(self._open) >= limits.max_connections:
            if not self._waiting:
                self._refuse(
                    guard.peer,
                    f"{len(self._open)} connections open "
                    f"(max_connections={limits.max_connections})",
                )
                return False
            oldest = next(iter(self._waiting))
            self._waiting.pop(oldest)
            self.evicted += 1
            self._leave_counts(oldest)
            oldest.abort()
        guard.arm(limits.request_timeout)
        self._open.add(guard)
        self._waiting[guard] = None
        self._per_peer[guard.peer] = from_peer + 1
        self.accepted += 1
        self._notify()
        return True

    def attach(self, transport: asyncio.BaseTransport, guard: _Guard) -> None:
        guard.app = transport
        self._by_transport[transport] = guard

    def leave(self, guard: _Guard) -> None:
        if guard.done:
            return
        guard.done = True
        guard.disarm()
        if guard.app is not None and self._by_transport.get(guard.app) is guard:
            del self._by_transport[guard.app]
        self._waiting.pop(guard, None)
        self._leave_counts(guard)
        self._notify()

    def _leave_counts(self, guard: _Guard) -> None:
        if guard in self._open:
            self._open.discard(guard)
            left = self._per_peer.get(guard.peer, 1) - 1
            if left > 0:
                self._per_peer[guard.peer] = left
            else:
                self._per_peer.pop(guard.peer, None)

    def _refuse(self, peer: str, why: str) -> None:
        self.refused += 1
        self._notify()
        now = time.monotonic()
        if now - self._last_log < _LOG_EVERY:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more refused since the last message)" if self._unlogged else ""
        self._last_log, self._unlogged = now, 0
        logger.warning(
            "%s: connection cap reached, refused a connection from %s: %s%s",
            self.name,
            peer,
            why,
            more,
        )

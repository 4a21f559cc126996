"""``listen``: an async iterator of matching events with one deadline.

The subscription is made when the listener is created (so nothing sent afterwards can be
missed), the connection is made on the first ``__anext__``, and ``timeout`` covers connecting,
subscribing and listening. The iteration ends quietly at the deadline or after
``max_events``; a buffer overflow raises ThalovantRuntimeError and retires the listener.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from types import TracebackType

import anyio

from thalovant.bus.subscribers import EventStream
from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent

__all__ = ["EventListener"]


class EventListener:
    """Async iterator (and async context manager) over one subscription's events.

    Args:
        stream: The bus subscription, already made.
        connect: Awaited with a deadline before the first event (the client's ``ready``).
        timeout: Seconds covering connecting and listening (None: no end).
        connect_budget: Seconds for connecting when there is no ``timeout``.
        max_events: End after this many events.

    Raises:
        ThalovantRuntimeError: ``max_events`` is not a positive integer, or ``timeout`` is
            negative. Iterating raises it on a buffer overflow, and
            ThalovantConnectionError when connecting fails.
    """

    def __init__(
        self,
        stream: EventStream,
        *,
        connect: Callable[[float], Awaitable[object]],
        timeout: float | None,
        connect_budget: float,
        max_events: int | None,
    ) -> None:
        if max_events is not None and (isinstance(max_events, bool) or max_events < 1):
            raise ThalovantRuntimeError("max_events must be a positive integer")
        if timeout is not None and timeout < 0:
            raise ThalovantRuntimeError("timeout must not be negative")
        now = anyio.current_time()
        self._stream = stream
        self._connect = connect
        self._deadline = math.inf if timeout is None else now + timeout
        self._connect_deadline = now + connect_budget if timeout is None else self._deadline
        self._max = max_events
        self._count = 0
        self._connected = False
        self.closed = False

    @property
    def received(self) -> int:
        """Events yielded so far."""
        return self._count

    def close(self) -> None:
        """Unsubscribe; the iteration ends."""
        self.closed = True
        self._stream.close()

    async def aclose(self) -> None:
        """Async spelling of :meth:`close`."""
        self.close()

    def __aiter__(self) -> EventListener:
        return self

    async def __anext__(self) -> ThalovantEvent:
        if self.closed or (self._max is not None and self._count >= self._max):
            self.close()
            raise StopAsyncIteration
        try:
            if not self._connected:
                await self._connect(self._connect_deadline)
                self._connected = True
            remaining = self._deadline - anyio.current_time()
            with anyio.move_on_after(remaining):
                event = await self._stream.__anext__()
                self._count += 1
                return event
        except BaseException:
            self.close()
            raise
        self.close()
        raise StopAsyncIteration

    async def __aenter__(self) -> EventListener:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""What the bus delivers a request's events to: the sink protocol, and the async glue between
the bus and a sans-I/O reply collector.

The bus knows a collector only by the :class:`ReplyCollector` protocol; the client's
``AskCollector`` and ``QueryCollector`` satisfy it structurally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import anyio

from thalovant.models.types import ThalovantEvent, ThalovantReply

__all__ = ["CollectorSink", "ReplyCollector", "RequestSink"]


class RequestSink(Protocol):
    """Where the bus delivers the events of one request."""

    def deliver(self, event: ThalovantEvent) -> None:
        """Take one correlated event (called synchronously by ``publish``).

        Args:
            event: An event carrying the request's id.
        """

    def fail(self, exc: BaseException) -> None:
        """The connection is gone: wake the waiter with ``exc``.

        Args:
            exc: The error the waiter raises.
        """


class ReplyCollector(Protocol):
    """A sans-I/O collector of one request's reply: fed events with the current time, asked
    when to stop waiting, finished into a reply."""

    @property
    def done(self) -> bool:
        """True once the reply is complete."""
        ...

    def feed(self, event: ThalovantEvent, now: float) -> bool:
        """Take one event in.

        Args:
            event: A correlated event.
            now: The current time (any monotonic clock).

        Returns:
            True when the reply is complete.
        """
        ...

    def next_deadline(self) -> float | None:
        """When the collector's own window ends, if one is open.

        Returns:
            A time on the clock ``feed`` was given, or None.
        """
        ...

    def finish(self, now: float) -> ThalovantReply:
        """The outcome.

        Args:
            now: The current time.

        Returns:
            The reply.
        """
        ...


class CollectorSink:
    """Async glue between the bus and a sans-I/O collector: the :class:`RequestSink` of one
    ``ask``/``query``, and :meth:`wait` returns its reply.

    Args:
        collector: The request's collector.
        clock: The clock ``wait`` sleeps by (``anyio.current_time``, the default).
    """

    def __init__(
        self,
        collector: ReplyCollector,
        *,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self.collector = collector
        self._clock = clock
        self._error: BaseException | None = None
        self._wake: anyio.Event | None = None
        self._sleeping_until: float | None = None  # the collector deadline the waiter saw

    def deliver(self, event: ThalovantEvent) -> None:
        """Feed the collector and wake the waiter when it is done or its deadline moved.

        Args:
            event: A correlated event.
        """
        collector = self.collector
        done = collector.feed(event, self._clock())
        wake = self._wake
        if wake is not None and (done or collector.next_deadline() != self._sleeping_until):
            wake.set()

    def fail(self, exc: BaseException) -> None:
        """Make :meth:`wait` raise ``exc`` now.

        Args:
            exc: The error to raise.
        """
        if self._error is None:
            self._error = exc
        if self._wake is not None:
            self._wake.set()

    async def wait(self, deadline: float) -> ThalovantReply:
        """Wait until the collector completes, its own window passes, or ``deadline``.

        Args:
            deadline: The caller's deadline on ``clock``.

        Returns:
            The collector's reply.

        Raises:
            ThalovantError: The collector's typed outcome error, or the error given to
                :meth:`fail`.
        """
        while True:
            if self._error is not None:
                raise self._error
            if self.collector.done:
                break
            now = self._clock()
            own = self.collector.next_deadline()
            end = deadline if own is None else min(own, deadline)
            if now >= end:
                break
            self._sleeping_until = own
            self._wake = anyio.Event()
            with anyio.move_on_after(end - now):
                await self._wake.wait()
        return self.collector.finish(self._clock())

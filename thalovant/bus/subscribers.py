"""Bounded subscribers: :class:`HandlerQueue` (a handler in its own task behind a bounded
queue), and the event bus's :class:`EventStream` (async iterator) and :class:`Subscription`
(a filtered ``HandlerQueue``).

A subscriber knows its owner only as a :class:`SubscriberOwner` (the bus, or the inbound
router for hive and binary handlers), so this module imports neither."""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent
from thalovant.telemetry import otel

__all__ = [
    "EventStream",
    "Handler",
    "HandlerQueue",
    "Overflow",
    "Predicate",
    "SubscriberOwner",
    "Subscription",
    "check_buffer",
]

logger = logging.getLogger("thalovant.bus")

Overflow = Literal["raise", "drop_oldest", "drop_newest"]
Predicate = Callable[[ThalovantEvent], bool]
#: A sync or async callable; an awaitable result is awaited.
Handler = Callable[[ThalovantEvent], object]
T = TypeVar("T")
_Q = TypeVar("_Q", bound="HandlerQueue[Any]")


class SubscriberOwner(Protocol):
    """What a subscriber needs of whoever feeds it: a way to unsubscribe."""

    def _remove(self, sub: Any, /) -> None:
        """Forget ``sub`` (it closed)."""
        ...


#: Drop warnings of one subscriber are at most one per this many seconds; the drops in
#: between are counted and reported with the next warning (or when it closes).
DROP_WARNING_SECONDS = 10.0


class _Bounded:
    """Counts drops of a bounded subscriber (warnings rate-limited to one per
    :data:`DROP_WARNING_SECONDS`, with the count since the last one) and closes its memory
    streams when dropped without ``close()``, so anyio warns about nothing."""

    name: str
    _send: MemoryObjectSendStream[Any]
    _recv: MemoryObjectReceiveStream[Any]
    dropped: int = 0
    _reported: int = 0  # drops already in a warning
    _warned_at: float = -math.inf

    def _note_drop(self) -> None:
        self.dropped += 1
        otel.note_dropped_event(self.name)
        now = time.monotonic()
        if now - self._warned_at >= DROP_WARNING_SECONDS:
            self._warned_at = now
            self._warn_drops("too slow; dropping events")

    def _warn_drops(self, what: str) -> None:
        recent, self._reported = self.dropped - self._reported, self.dropped
        logger.warning(
            "subscriber of %r is %s (%d dropped since the last warning, %d in all)",
            self.name,
            what,
            recent,
            self.dropped,
        )

    def _report_unwarned_drops(self) -> None:
        if self.dropped > self._reported:
            self._warn_drops("closed after dropping events")

    def __del__(self) -> None:
        for end in (getattr(self, "_send", None), getattr(self, "_recv", None)):
            if end is not None:
                end.close()


class HandlerQueue(_Bounded, Generic[T]):
    """A handler (sync or async) fed through its own bounded queue and task.

    The task takes every queued item at each wake-up (one scheduling round per batch, not
    per item), so a handler that keeps up with the event rate never loses an event, however
    bursty the hub. Overflow drops the oldest item (``dropped``; warnings rate-limited); a
    raising handler is logged and counted in ``errors``; ``delivered`` counts the rest.
    ``owner._remove(self)`` is called once on :meth:`close`.

    Args:
        owner: Whoever feeds it (unsubscribed from on close).
        name: What it listens to (an event name, ``hive:<kind>`` or ``bin``).
        handler: A sync or async callable taking one item.
        max_buffered: Items queued before the oldest is dropped.
    """

    def __init__(
        self,
        owner: SubscriberOwner,
        name: str,
        handler: Callable[[T], object],
        *,
        max_buffered: int,
    ) -> None:
        self._owner = owner
        self.name = name
        self.handler = handler
        self.errors = 0
        self.delivered = 0
        self.closed = False
        self._started = False
        self._scope = anyio.CancelScope()
        self._send, self._recv = anyio.create_memory_object_stream[T](max_buffered)
        self._batch = max_buffered

    def _put(self, item: T) -> None:
        if self.closed:
            return
        try:
            self._send.send_nowait(item)
            return
        except anyio.WouldBlock:
            self._recv.receive_nowait()
            self._send.send_nowait(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            # The consumer task is gone (its task group ended): nothing will handle this.
            logger.warning("handler task for %r ended; subscription closed", self.name)
            self.close()
            return
        self._note_drop()

    async def _consume(self) -> None:
        with self._scope, self._recv:
            async for item in self._recv:  # the one checkpoint of each batch
                await self._handle(item)
                # Then what is already queued, without a scheduling round per item: bounded
                # by the queue (nothing is added while a sync handler runs).
                for _ in range(self._batch):
                    if self.closed:
                        break
                    try:
                        item = self._recv.receive_nowait()
                    except anyio.WouldBlock:
                        break
                    except (anyio.EndOfStream, anyio.ClosedResourceError):
                        return
                    await self._handle(item)
                if self.closed:
                    break

    async def _handle(self, item: T) -> None:
        if self.closed:
            return
        try:
            result = self.handler(item)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.errors += 1
            logger.exception("handler for %r raised; subscription kept", self.name)
        else:
            self.delivered += 1

    def _start(self, task_group: TaskGroup) -> None:
        if not self._started and not self.closed:
            self._started = True
            task_group.start_soon(self._consume, name=f"thalovant handler {self.name}")

    def close(self) -> None:
        """Unsubscribe for good; items still queued are not handled. A handler that is
        running finishes (this may be called from inside it)."""
        if self.closed:
            return
        self.closed = True
        self._owner._remove(self)
        self._send.close()
        if not self._started:
            self._recv.close()
        self._report_unwarned_drops()

    unsubscribe = close

    def __call__(self) -> None:
        """Unsubscribe (the official SDK hands out a plain unsubscribe callable)."""
        self.close()

    def _shutdown(self) -> None:
        self.close()
        self._scope.cancel()

    def __enter__(self: _Q) -> _Q:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Filter(_Bounded):
    """Shared by streams and callback subscriptions: name + context filter + predicate."""

    def _setup(
        self,
        name: str,
        session_id: str | None,
        request_id: str | None,
        predicate: Predicate | None,
    ) -> None:
        self.name = name
        self.session_id = session_id
        self.request_id = request_id
        self._predicate = predicate

    def _accepts(self, event: ThalovantEvent) -> bool:
        if not event.matches_context(session_id=self.session_id, request_id=self.request_id):
            return False
        if self._predicate is None:
            return True
        try:
            return bool(self._predicate(event))
        except Exception:
            logger.exception("predicate of a %r subscriber raised; event skipped", self.name)
            return False


def check_buffer(max_buffered: int) -> None:
    """Check a subscriber's buffer size.

    Args:
        max_buffered: The requested size.

    Raises:
        ThalovantRuntimeError: ``max_buffered`` is not a positive integer.
    """
    if isinstance(max_buffered, bool) or not isinstance(max_buffered, int) or max_buffered < 1:
        raise ThalovantRuntimeError("max_buffered must be a positive integer")


class EventStream(_Filter):
    """An async iterator over one subscription's events (also an async context manager).

    On overflow with ``overflow="raise"`` the next iteration raises
    :class:`ThalovantRuntimeError` and the stream is retired; the drop policies count
    ``dropped`` (warnings rate-limited). Closing the bus ends the iteration after the
    buffered events. An event already buffered is returned without a scheduling round (a
    cancellation is still seen), so a consumer that keeps up is not slowed to one event per
    turn of the event loop. Made by :meth:`~thalovant.bus.bus.EventBus.subscribe`.

    Args:
        bus: The bus that feeds it.
        name: The event name, or ``"*"``.
        max_buffered: Events buffered before the overflow policy applies.
        overflow: ``"raise"``, ``"drop_oldest"`` or ``"drop_newest"``.
        session_id: Only events of this session.
        request_id: Only events of this request.
        predicate: Only events it returns true for.
    """

    _recv: MemoryObjectReceiveStream[ThalovantEvent]

    def __init__(
        self,
        bus: SubscriberOwner,
        name: str,
        *,
        max_buffered: int,
        overflow: Overflow,
        session_id: str | None,
        request_id: str | None,
        predicate: Predicate | None,
    ) -> None:
        self._bus = bus
        self._setup(name, session_id, request_id, predicate)
        self.overflow = overflow
        self.closed = False
        self._error: ThalovantRuntimeError | None = None
        self._send, self._recv = anyio.create_memory_object_stream[ThalovantEvent](max_buffered)

    def _offer(self, event: ThalovantEvent) -> None:
        if not self._accepts(event):
            return
        try:
            self._send.send_nowait(event)
            return
        except anyio.WouldBlock:
            pass
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._detach()
            return
        if self.overflow == "raise":
            self._error = ThalovantRuntimeError(
                f"listener for {self.name!r} overflowed its buffer of "
                f"{self._send.statistics().max_buffer_size:.0f} events; subscription retired"
            )
            logger.warning("%s", self._error)
            self._detach()
            return
        if self.overflow == "drop_oldest":
            self._recv.receive_nowait()
            self._send.send_nowait(event)
        self._note_drop()

    def _detach(self) -> None:
        self.closed = True
        self._bus._remove(self)
        self._send.close()
        self._report_unwarned_drops()

    def close(self) -> None:
        """Unsubscribe and end the iteration now (buffered events are discarded)."""
        self._detach()
        self._recv.close()

    async def aclose(self) -> None:
        """Async spelling of :meth:`close`."""
        self.close()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ThalovantEvent:
        if self._error is not None:
            error, self._error = self._error, None
            self.close()
            raise error
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()  # before taking: nothing is lost
            try:
                return self._recv.receive_nowait()
            except anyio.WouldBlock:
                return await self._recv.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self.close()
            raise StopAsyncIteration from None

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Subscription(_Filter, HandlerQueue[ThalovantEvent]):
    """A callback subscription (``bus.on``).

    Sync handlers run on the event loop (so they must not block; offload with
    ``anyio.to_thread``), async ones are awaited; either runs in this subscription's own task.
    A raising handler is logged (logger ``thalovant.bus``) and counted in ``errors``; nothing
    else is affected. Overflow of the handler queue drops the oldest event (``dropped``;
    warnings rate-limited).

    Args:
        bus: The bus that feeds it.
        name: The event name, or ``"*"``.
        handler: A sync or async callable taking the event.
        max_buffered: Events queued before the oldest is dropped.
        session_id: Only events of this session.
        request_id: Only events of this request.
        predicate: Only events it returns true for.
    """

    def __init__(
        self,
        bus: SubscriberOwner,
        name: str,
        handler: Handler,
        *,
        max_buffered: int,
        session_id: str | None,
        request_id: str | None,
        predicate: Predicate | None,
    ) -> None:
        HandlerQueue.__init__(self, bus, name, handler, max_buffered=max_buffered)
        self._setup(name, session_id, request_id, predicate)

    def _offer(self, event: ThalovantEvent) -> None:
        if not self.closed and self._accepts(event):
            self._put(event)

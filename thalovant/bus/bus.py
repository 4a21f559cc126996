"""The event bus between one link's reader and everything that waits for hub events.

:meth:`EventBus.publish` is synchronous and never blocks: the link's reader calls it for every
inbound bus message. It does two things:

1. **Request routing.** An index from request id to a :class:`RequestSink` (an ``ask``
   collector's waiter) delivers correlated events in O(1), however many requests are in
   flight. These deliveries never pass through a droppable queue. A ``hive.policy.denied``
   without a request id is attributed per docs/protocol.md §3.5.
2. **Fan-out by event name** to :class:`EventStream` iterators (:meth:`EventBus.subscribe`)
   and to callback :class:`Subscription` objects (:meth:`EventBus.on`). Each has its own
   bounded anyio memory object stream; a callback subscription has its own consumer task in a
   task group the bus is given (``async with bus:`` or ``await bus.start(tg)``), so a slow or
   raising handler never stalls the reader or another subscriber.

Subscriptions live on the bus, not on a connection, so they survive reconnects. The bus must
be used from its event loop's thread only.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal

import anyio
from anyio.abc import TaskGroup

from thalovant.bus.requests import RequestSink
from thalovant.bus.subscribers import (
    EventStream,
    Handler,
    Overflow,
    Predicate,
    Subscription,
    check_buffer,
)
from thalovant.errors import ThalovantRuntimeError
from thalovant.events import EVENT_POLICY_DENIED, EVENT_RECOGNIZER_LOOP_UTTERANCE
from thalovant.models.types import ThalovantEvent

__all__ = [
    "UNTRACKED_UTTERANCE_GRACE_SECONDS",
    "EventBus",
    "EventStream",
    "Handler",
    "Overflow",
    "Predicate",
    "RequestRegistration",
    "Subscription",
]

logger = logging.getLogger("thalovant.bus")

_Subscriber = EventStream | Subscription

#: A policy denial without request id is not attributed within this long after an untracked
#: (fire-and-forget) utterance was sent.
UNTRACKED_UTTERANCE_GRACE_SECONDS = 10.0


class RequestRegistration:
    """A request id registered on the bus; :meth:`close` unregisters it.

    Args:
        bus: The bus it is registered on.
        request_id: The ask or query id.
        sink: Where the request's events go.
        kind: ``"ask"`` or ``"query"`` (separate id namespaces).
    """

    def __init__(self, bus: EventBus, request_id: str, sink: RequestSink, kind: str) -> None:
        self._bus = bus
        self.request_id = request_id
        self.sink = sink
        self.kind = kind
        self.closed = False
        self.done = False

    def mark_done(self) -> None:
        """The caller has its answer but keeps listening (carry grace): the request no longer
        counts as in flight (for ``in_flight`` and policy-denial attribution)."""
        self.done = True

    def close(self) -> None:
        """Unregister (idempotent)."""
        if not self.closed:
            self.closed = True
            self._bus._unregister(self)

    unregister = close

    def __enter__(self) -> RequestRegistration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Routes every inbound event of one client to request sinks and subscribers.

    Args:
        clock: The clock for policy-denial attribution (monotonic seconds).
        untracked_grace_seconds: How long after an untracked utterance a denial without request
            id is attributed to no ask.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        untracked_grace_seconds: float = UNTRACKED_UTTERANCE_GRACE_SECONDS,
    ) -> None:
        self._clock = clock
        self._grace = untracked_grace_seconds
        self._last_untracked = -math.inf
        self._asks: dict[str, RequestRegistration] = {}
        self._queries: dict[str, RequestRegistration] = {}
        self._subs: dict[str, dict[_Subscriber, None]] = {}
        self._tg: TaskGroup | None = None
        self._owned_tg: TaskGroup | None = None
        self.closed = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, task_group: TaskGroup) -> None:
        """Run callback consumers in ``task_group`` (subscriptions made earlier start now).

        The task group must live as long as the bus (the client's, not a link's): handler
        subscriptions outlive reconnects.

        Args:
            task_group: The group the consumer tasks run in.

        Raises:
            ThalovantRuntimeError: The bus is closed.
        """
        self._check_open()
        self._tg = task_group
        for subs in self._subs.values():
            for sub in subs:
                if isinstance(sub, Subscription):
                    sub._start(task_group)

    async def __aenter__(self) -> EventBus:
        self._check_open()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._owned_tg = tg
        await self.start(tg)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self.close()
        tg, self._owned_tg = self._owned_tg, None
        return await tg.__aexit__(et, e, tb) if tg is not None else None

    def close(self) -> None:
        """Close every stream (iterators end after their buffered events), stop every handler
        task and drop request registrations. Idempotent."""
        if self.closed:
            return
        self.closed = True
        for subs in list(self._subs.values()):
            for sub in list(subs):
                if isinstance(sub, Subscription):
                    sub._shutdown()
                elif isinstance(sub, EventStream):
                    sub._detach()
        self._subs.clear()
        for reg in [*self._asks.values(), *self._queries.values()]:
            reg.closed = True
        self._asks.clear()
        self._queries.clear()

    def _check_open(self) -> None:
        if self.closed:
            raise ThalovantRuntimeError("the event bus is closed")

    # -- request routing ------------------------------------------------------------------

    def register_request(
        self, request_id: str, sink: RequestSink, *, kind: Literal["ask", "query"] = "ask"
    ) -> RequestRegistration:
        """Route events carrying ``request_id`` to ``sink``.

        Ask ids and query ids are separate namespaces.

        Args:
            request_id: The request's id.
            sink: Where its events go (synchronously, never through a droppable queue).
            kind: ``"ask"`` (events carrying the id in their context) or ``"query"`` (events
                unwrapped from hive query frames).

        Returns:
            The registration; close it when the request is over.

        Raises:
            ThalovantRuntimeError: The bus is closed, or a live registration has the same id.
        """
        self._check_open()
        index = self._asks if kind == "ask" else self._queries
        if request_id in index:
            raise ThalovantRuntimeError(f"a {kind} with id {request_id!r} is already in flight")
        reg = RequestRegistration(self, request_id, sink, kind)
        index[request_id] = reg
        return reg

    def _unregister(self, reg: RequestRegistration) -> None:
        index = self._asks if reg.kind == "ask" else self._queries
        if index.get(reg.request_id) is reg:
            del index[reg.request_id]

    @property
    def in_flight(self) -> int:
        """Registered requests (asks and queries) not yet marked done."""
        regs = (*self._asks.values(), *self._queries.values())
        return sum(1 for reg in regs if not reg.done)

    def note_untracked_utterance(self, now: float | None = None) -> None:
        """An utterance was sent without a collector (``send_utterance``).

        For the grace period, policy denials without request id are attributed to no ask.

        Args:
            now: When it was sent (the bus clock; default: now).
        """
        self._last_untracked = self._clock() if now is None else now

    def _attribute_denial(self, event: ThalovantEvent) -> RequestRegistration | None:
        denied = event.data.get("denied_type") or event.data.get("msg_type")
        if denied != EVENT_RECOGNIZER_LOOP_UTTERANCE:
            return None
        if any(not q.done for q in self._queries.values()):
            return None
        live = [reg for reg in self._asks.values() if not reg.done]
        if len(live) != 1 or self._clock() - self._last_untracked < self._grace:
            return None
        return live[0]

    def deliver_query(self, query_id: str, event: ThalovantEvent) -> bool:
        """Route an event unwrapped from a hive query frame to its query sink.

        Args:
            query_id: The frame's query id.
            event: The event it carried.

        Returns:
            True when a query with that id is registered.
        """
        reg = self._queries.get(query_id)
        if reg is None:
            return False
        self._deliver(reg, event)
        return True

    @staticmethod
    def _deliver(reg: RequestRegistration, event: ThalovantEvent) -> None:
        try:
            reg.sink.deliver(event)
        except Exception:
            logger.exception("request sink for %r raised", reg.request_id)

    def fail_all(self, exc: BaseException) -> None:
        """The connection dropped: fail every registered request at once and forget them.

        Args:
            exc: The error each waiting request raises.
        """
        regs = [*self._asks.values(), *self._queries.values()]
        self._asks.clear()
        self._queries.clear()
        for reg in regs:
            reg.closed = True
            try:
                reg.sink.fail(exc)
            except Exception:
                logger.exception("request sink for %r raised in fail()", reg.request_id)

    # -- publish / subscribe --------------------------------------------------------------

    def publish(self, event: ThalovantEvent) -> None:
        """Route one inbound event; synchronous, never blocks, never raises.

        Args:
            event: The event (its request id picks the request sink; its name the subscribers).
        """
        if self.closed:
            return
        rid = event.request_id
        if rid is not None:
            reg = self._asks.get(rid)
        elif event.name == EVENT_POLICY_DENIED:
            reg = self._attribute_denial(event)
        else:
            reg = None
        if reg is not None:
            self._deliver(reg, event)
        named, wildcard = self._subs.get(event.name), self._subs.get("*")
        for group in (named, wildcard):
            if group:
                for sub in tuple(group):
                    try:
                        sub._offer(event)
                    except Exception:  # pragma: no cover - defensive: publish never raises
                        logger.exception("subscriber of %r failed to take an event", sub.name)

    def _add(self, sub: _Subscriber) -> None:
        self._subs.setdefault(sub.name, {})[sub] = None

    def _remove(self, sub: _Subscriber) -> None:
        group = self._subs.get(sub.name)
        if group is not None:
            group.pop(sub, None)
            if not group:
                del self._subs[sub.name]

    def subscribe(
        self,
        name: str,
        *,
        max_buffered: int = 256,
        overflow: Overflow = "raise",
        session_id: str | None = None,
        request_id: str | None = None,
        predicate: Predicate | None = None,
    ) -> EventStream:
        """An async iterator of the events named ``name``.

        Args:
            name: The event name, or ``"*"`` for every event.
            max_buffered: Events buffered before the overflow policy applies.
            overflow: ``"raise"`` (the next iteration raises and the stream is retired),
                ``"drop_oldest"`` or ``"drop_newest"``.
            session_id: Only events of this session.
            request_id: Only events of this request.
            predicate: Only events it returns true for.

        Returns:
            The stream (also an async context manager that unsubscribes).

        Raises:
            ThalovantRuntimeError: The bus is closed, or a bad buffer size or overflow policy.
        """
        self._check_open()
        check_buffer(max_buffered)
        if overflow not in ("raise", "drop_oldest", "drop_newest"):
            raise ThalovantRuntimeError(f"unknown overflow policy {overflow!r}")
        stream = EventStream(
            self,
            name,
            max_buffered=max_buffered,
            overflow=overflow,
            session_id=session_id,
            request_id=request_id,
            predicate=predicate,
        )
        self._add(stream)
        return stream

    def on(
        self,
        name: str,
        handler: Handler,
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        predicate: Predicate | None = None,
        max_buffered: int = 256,
    ) -> Subscription:
        """Call ``handler`` for every matching event named ``name``, in its own task.

        Args:
            name: The event name, or ``"*"`` for every event.
            handler: A sync or async callable taking the event.
            session_id: Only events of this session.
            request_id: Only events of this request.
            predicate: Only events it returns true for.
            max_buffered: Events queued for the handler before the oldest is dropped.

        Returns:
            The subscription; close it to unsubscribe.

        Raises:
            ThalovantRuntimeError: The bus is closed, or a bad buffer size.
        """
        self._check_open()
        check_buffer(max_buffered)
        sub = Subscription(
            self,
            name,
            handler,
            max_buffered=max_buffered,
            session_id=session_id,
            request_id=request_id,
            predicate=predicate,
        )
        self._add(sub)
        if self._tg is not None:
            sub._start(self._tg)
        return sub

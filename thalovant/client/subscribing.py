"""The subscription methods of ``AsyncThalovantClient``: ``listen``, ``wait_for_event``,
``on``, ``on_hive`` and ``on_binary``.

A mixin: :class:`~thalovant.client.client.AsyncThalovantClient` inherits these methods.
Subscriptions live on the client's bus (reopened after a close), so they survive redials;
filtering is docs/protocol.md §4 (event name, then request id, else session id, then the
predicate). See docs/architecture.md for the bus and its bounded queues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from thalovant.bus.bus import Handler, Predicate, Subscription
from thalovant.bus.routing import CallbackSubscription, ThalovantBinary
from thalovant.client.correlation import filter_ids
from thalovant.client.listen import EventListener
from thalovant.client.options import DEFAULT_CONNECT_TIMEOUT
from thalovant.client.runtime import ClientRuntime
from thalovant.errors import ThalovantTimeoutError
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.envelope import HiveMessage

__all__ = ["EventHandler", "EventPredicate", "SubscribingMethods", "ThalovantSubscription"]

EventHandler = Handler
"""A handler of events: a plain or async function of one ``ThalovantEvent``."""
EventPredicate = Predicate
"""An event filter: a function of one ``ThalovantEvent`` returning a bool."""


@runtime_checkable
class ThalovantSubscription(Protocol):
    """What ``on()`` returns, on either client: ``close()`` / ``unsubscribe()`` / calling it
    ends it, and so does leaving a ``with`` block (``isinstance`` works on both kinds)."""

    def close(self) -> None:
        """End the subscription."""

    def unsubscribe(self) -> None:
        """End the subscription."""

    def __call__(self) -> None:
        """End the subscription."""

    def __enter__(self) -> Any:
        """The subscription itself."""

    def __exit__(self, *exc: object) -> None:
        """End the subscription."""


class SubscribingMethods:
    """``listen``, ``wait_for_event`` and the ``on*`` handlers of the async client."""

    _runtime: ClientRuntime
    max_buffered_events: int

    def listen(
        self,
        event_name: str,
        *,
        timeout: float | None = None,
        max_events: int | None = None,
        max_buffered_events: int | None = None,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> EventListener:
        """An async iterator (and async context manager) of ``event`` events.

        It subscribes now, connects on the first step, and ends quietly at the deadline or
        after ``max_events``.

        Args:
            event_name: The event name.
            timeout: Seconds covering connecting and listening (None: no end).
            max_events: End after this many events.
            max_buffered_events: Buffer before overflow (default the client's, 256).
            predicate: A further filter, run on the loop.
            context: Where to take the session and request ids from, when not given.
            session_id: Only events of this session.
            request_id: Only events of this request.

        Returns:
            The listener; iterating it raises ThalovantRuntimeError on a buffer overflow
            (retiring it) and ThalovantConnectionError when it cannot connect.

        Raises:
            ThalovantRuntimeError: Invalid ``max_events`` or ``timeout``.
        """
        self._runtime.check_loop()
        sid, rid = filter_ids(context, session_id, request_id)
        stream = self._runtime.open_bus().subscribe(
            event_name,
            max_buffered=max_buffered_events or self.max_buffered_events,
            session_id=sid,
            request_id=rid,
            predicate=predicate,
        )
        return EventListener(
            stream,
            connect=self._runtime.ready,
            timeout=timeout,
            connect_budget=DEFAULT_CONNECT_TIMEOUT,
            max_events=max_events,
        )

    async def wait_for_event(
        self,
        event_name: str,
        *,
        timeout: float = 12.0,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> ThalovantEvent:
        """The first matching ``event`` (``listen`` with ``max_events=1``).

        Args:
            event_name: The event name.
            timeout: Seconds covering connecting and waiting.
            predicate: A further filter, run on the loop.
            context: Where to take the session and request ids from, when not given.
            session_id: Only an event of this session.
            request_id: Only an event of this request.

        Returns:
            The event.

        Raises:
            ThalovantTimeoutError: None came in time.
            ThalovantConnectionError: No connection in time.
        """
        listener = self.listen(
            event_name,
            timeout=timeout,
            max_events=1,
            predicate=predicate,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )
        async with listener:
            async for found in listener:
                return found
        raise ThalovantTimeoutError(f"no {event_name!r} event within {timeout:g} s")

    def on(
        self,
        event_name: str,
        handler: Handler,
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Subscription:
        """Call ``handler`` for every matching ``event``, in its own task; it survives
        reconnects, and a raising handler is logged, nothing else.

        Args:
            event_name: The event name (``"*"``: all).
            handler: A plain or async function of one ``ThalovantEvent``.
            session_id: Only events of this session.
            request_id: Only events of this request.
            predicate: A further filter, run on the loop.
            context: Where to take the session and request ids from, when not given.

        Returns:
            The subscription (``close()`` ends it).
        """
        self._runtime.check_loop()
        sid, rid = filter_ids(context, session_id, request_id)
        return self._runtime.open_bus().on(
            event_name,
            handler,
            session_id=sid,
            request_id=rid,
            predicate=predicate,
            max_buffered=self.max_buffered_events,
        )

    async def on_hive(
        self, kind: str, handler: Callable[[HiveMessage], object]
    ) -> CallbackSubscription[HiveMessage]:
        """Call ``handler`` for hive messages of ``kind`` (docs/protocol.md §3.3).

        Args:
            kind: ``broadcast``, ``propagate``, ``escalate``, ``intercom`` or ``rendezvous``.
            handler: A plain or async function of one ``HiveMessage``.

        Returns:
            The subscription (``close()`` or calling it ends it).
        """
        self._runtime.check_loop()
        self._runtime.open_bus()
        return self._runtime.inbound.on_hive(kind, handler)

    async def on_binary(
        self, handler: Callable[[ThalovantBinary], object]
    ) -> CallbackSubscription[ThalovantBinary]:
        """Call ``handler`` for every binary (``bin``) frame from the hub.

        Args:
            handler: A plain or async function of one ``ThalovantBinary``.

        Returns:
            The subscription (``close()`` or calling it ends it).
        """
        self._runtime.check_loop()
        self._runtime.open_bus()
        return self._runtime.inbound.on_binary(handler)

"""The blocking subscription methods of ``ThalovantClient``: ``listen``,
``wait_for_event``, ``on``, ``on_hive`` and ``on_binary``.

A mixin of :class:`~thalovant.sync.client.ThalovantClient`: each method is one call of its
async twin (:mod:`thalovant.client.subscribing`) through the client's loop thread. ``listen``
returns a plain iterator; handlers run on the client's handler thread, never on the loop
(docs/architecture.md, the blocking facade).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from thalovant.bus.bus import Handler, Predicate
from thalovant.bus.routing import ThalovantBinary
from thalovant.client.client import AsyncThalovantClient
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.envelope import HiveMessage
from thalovant.sync.bridges import SyncIterator, SyncSubscription
from thalovant.sync.handlers import HandlerBridge
from thalovant.sync.portal import LoopThread

__all__ = ["SubscribingMethods"]


class SubscribingMethods:
    """``listen``, ``wait_for_event`` and the ``on*`` handlers of the blocking client."""

    _async: AsyncThalovantClient
    _loop: LoopThread

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
    ) -> SyncIterator[ThalovantEvent]:
        """A plain iterator (and context manager) of ``event`` events, subscribed now;
        it ends quietly at ``timeout`` or after ``max_events``.

        Args:
            event_name: The event name.
            timeout: Seconds covering connecting and listening (None: no end).
            max_events: End after this many events.
            max_buffered_events: Buffer before overflow (default the client's, 256).
            predicate: A further filter, run on the loop (must not call the client).
            context: Where to take the session and request ids from, when not given.
            session_id: Only events of this session.
            request_id: Only events of this request.

        Returns:
            The iterator; stepping it raises ThalovantRuntimeError on a buffer overflow.

        Raises:
            ThalovantRuntimeError: Invalid ``max_events`` or ``timeout``.
        """
        listener = self._loop.call_sync(
            self._async.listen,
            event_name,
            timeout=timeout,
            max_events=max_events,
            max_buffered_events=max_buffered_events,
            predicate=predicate,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )
        return SyncIterator(self._loop, listener)

    def wait_for_event(
        self,
        event_name: str,
        *,
        timeout: float = 12.0,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> ThalovantEvent:
        """The first matching ``event`` (``AsyncThalovantClient.wait_for_event``).

        Args:
            event_name: The event name.
            timeout: Seconds covering connecting and waiting.
            predicate: A further filter, run on the loop (must not call the client).
            context: Where to take the session and request ids from, when not given.
            session_id: Only an event of this session.
            request_id: Only an event of this request.

        Returns:
            The event.

        Raises:
            ThalovantTimeoutError: None came in time.
            ThalovantConnectionError: No connection in time.
        """
        return self._loop.call(
            self._async.wait_for_event,
            event_name,
            timeout=timeout,
            predicate=predicate,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )

    def on(
        self,
        event_name: str,
        handler: Handler,
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> SyncSubscription:
        """Call ``handler`` on the handler thread for every matching ``event``.

        Args:
            event_name: The event name (``"*"``: all).
            handler: A plain function of one ``ThalovantEvent`` (it may call the client).
            session_id: Only events of this session.
            request_id: Only events of this request.
            predicate: A further filter, run on the loop (must not call the client).
            context: Where to take the session and request ids from, when not given.

        Returns:
            The subscription (``close()`` ends it).

        Raises:
            ThalovantRuntimeError: ``handler`` is a coroutine function.
        """
        bridge = HandlerBridge(handler, self._loop.handlers, event_name)
        inner = self._loop.call_sync(
            self._async.on,
            event_name,
            bridge,
            session_id=session_id,
            request_id=request_id,
            predicate=predicate,
            context=context,
        )
        return SyncSubscription(self._loop, inner, bridge)

    def on_hive(self, kind: str, handler: Callable[[HiveMessage], object]) -> SyncSubscription:
        """Call ``handler`` on the handler thread for hive messages of ``kind``.

        Args:
            kind: ``broadcast``, ``propagate``, ``escalate``, ``intercom`` or ``rendezvous``.
            handler: A plain function of one ``HiveMessage``.

        Returns:
            The subscription (``close()`` ends it).

        Raises:
            ThalovantRuntimeError: ``handler`` is a coroutine function.
        """
        bridge = HandlerBridge(handler, self._loop.handlers, f"hive:{kind}")
        inner = self._loop.call(self._async.on_hive, kind, bridge)
        return SyncSubscription(self._loop, inner, bridge)

    def on_binary(self, handler: Callable[[ThalovantBinary], object]) -> SyncSubscription:
        """Call ``handler`` on the handler thread for every binary frame.

        Args:
            handler: A plain function of one ``ThalovantBinary``.

        Returns:
            The subscription (``close()`` ends it).

        Raises:
            ThalovantRuntimeError: ``handler`` is a coroutine function.
        """
        bridge = HandlerBridge(handler, self._loop.handlers, "bin")
        inner = self._loop.call(self._async.on_binary, bridge)
        return SyncSubscription(self._loop, inner, bridge)

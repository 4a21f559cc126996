"""Plain-thread views of loop objects: what the sync ``on`` and ``listen`` return.

* :class:`SyncSubscription`: what the sync ``on``/``on_hive``/``on_binary`` return (``close``
  goes through the loop); its handler runs on the handler thread
  (:mod:`thalovant.sync.handlers`).
* :class:`SyncIterator`: a plain iterator stepping an async iterator through the loop, one
  loop hop per item; ``close`` (also on ``with`` exit, or when an abandoned iterator is
  garbage-collected) closes the async iterator.
* :class:`ThalovantReplyStream`: the ``SyncIterator`` of an ``ask_stream``, with its ``reply``.

The loop is a :class:`~thalovant.sync.portal.LoopThread` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from thalovant.client.streaming import AsyncThalovantReplyStream
from thalovant.models.types import ThalovantEvent, ThalovantReply
from thalovant.sync.handlers import HandlerBridge
from thalovant.sync.portal import LoopThread

__all__ = ["SyncIterator", "SyncSubscription", "ThalovantReplyStream"]

T = TypeVar("T")


class _AsyncSubscription(Protocol):
    closed: bool
    dropped: int

    def close(self) -> None: ...


class SyncSubscription:
    """A handler subscription of the blocking client. ``close`` (or ``unsubscribe``, or
    leaving a ``with`` block) unsubscribes; queued events are then skipped. ``errors`` and
    ``delivered`` count the handler's outcomes; ``dropped`` counts overflow drops (in the
    async subscription's queue and in the handler thread's queue).

    Args:
        loop: The facade's loop thread.
        inner: The async subscription.
        bridge: The bridge registered on it.
    """

    def __init__(
        self, loop: LoopThread, inner: _AsyncSubscription, bridge: HandlerBridge[Any]
    ) -> None:
        self._loop = loop
        self._inner = inner
        self._bridge = bridge

    def __repr__(self) -> str:
        return f"<SyncSubscription {self._bridge.label!r} closed={self.closed}>"

    @property
    def closed(self) -> bool:
        """True once unsubscribed (or the client closed)."""
        return self._bridge.closed or self._inner.closed

    @property
    def errors(self) -> int:
        """Calls of the handler that raised."""
        return self._bridge.errors

    @property
    def delivered(self) -> int:
        """Calls of the handler that returned."""
        return self._bridge.delivered

    @property
    def dropped(self) -> int:
        """Events dropped because the handler was too slow."""
        return self._inner.dropped + self._bridge.dropped

    def close(self) -> None:
        """Unsubscribe for good (idempotent; a handler may call it)."""
        self._bridge.closed = True
        if self._loop.on_loop_thread():
            self._inner.close()
        elif self._loop.running and not self._inner.closed:
            self._loop.call_sync(self._inner.close)

    unsubscribe = close

    def __call__(self) -> None:
        """Unsubscribe (the official SDK hands out a plain unsubscribe callable)."""
        self.close()

    def __enter__(self) -> SyncSubscription:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SyncIterator(Generic[T]):
    """A plain iterator over an async iterator living on ``loop``. Also a context manager;
    any exception ends the iteration (the async side closes itself then).

    Args:
        loop: The facade's loop thread.
        inner: The async iterator.
    """

    def __init__(self, loop: LoopThread, inner: AsyncIterator[T]) -> None:
        self._loop = loop
        self._inner = inner
        self._closed = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            return self._loop.call(self._inner.__anext__)
        except StopAsyncIteration:
            self._closed = True
            raise StopIteration from None
        except BaseException:
            self._closed = True
            raise

    @property
    def closed(self) -> bool:
        """True once exhausted or closed."""
        return self._closed

    def close(self) -> None:
        """Stop iterating and close the async iterator (idempotent)."""
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None and self._loop.running:
            self._loop.call(aclose)

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Abandoned (e.g. ``break`` out of a for loop): close the async side without waiting.
        if not getattr(self, "_closed", True):
            self._closed = True
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                self._loop.submit(aclose)


class ThalovantReplyStream(SyncIterator[ThalovantEvent]):
    """The blocking twin of ``AsyncThalovantReplyStream``: a plain iterator (one loop hop per
    event) and context manager; ``with`` exit or :meth:`close` before the end releases the
    request. Iterating raises the errors of ``ask``.

    Args:
        loop: The facade's loop thread.
        inner: The async reply stream.
    """

    def __init__(self, loop: LoopThread, inner: AsyncThalovantReplyStream) -> None:
        super().__init__(loop, inner)
        self._stream = inner

    def __repr__(self) -> str:
        rid = self._stream.request_id
        return f"<ThalovantReplyStream request_id={rid!r} closed={self.closed}>"

    @property
    def reply(self) -> ThalovantReply | None:
        """The final reply once the iteration ended normally; None before."""
        return self._stream.reply

    @property
    def received(self) -> int:
        """Events yielded so far."""
        return self._stream.received

    def __enter__(self) -> ThalovantReplyStream:
        """Publish the ask now (``AsyncThalovantReplyStream.__aenter__``).

        Returns:
            The stream.

        Raises:
            ThalovantConnectionError: Not sent before the deadline, or the client closed.
        """
        try:
            self._loop.call(self._stream.__aenter__)
        except BaseException:
            self._closed = True
            raise
        return self

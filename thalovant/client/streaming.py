"""``ask_stream``: one ask whose speech and display events reach the caller as they arrive.

The request is published exactly like an ``ask`` (:meth:`~thalovant.client.asking.Asker.open_ask`:
the sink is registered on the bus by request id before anything is sent, docs/architecture.md
"The data flow of ``ask``") and completes by the same rules (``ovos.utterance.handled``, a
failure event, the settle fallback; :mod:`thalovant.client.collector`). Its sink also keeps
the events worth showing in a bounded buffer sized for one request: the bus delivers to it
synchronously (never through a droppable queue), and a consumer that stops reading fails the
request with ThalovantRuntimeError instead of losing speech.

What is yielded: every new ``speak`` / ``ovos.utterance.speak`` with text (a repeated sentence
is skipped, as the reply skips it) and every other event of the request that carries display
data (``rich_media_data``, ``rich_media`` or ``display``). Audio clips and failure events are
not yielded; they are in the final reply (``stream.reply``) or its typed error.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import anyio

from thalovant.bus import RequestRegistration
from thalovant.client.asking import CARRY_GRACE_SECONDS, Asker, AskSink
from thalovant.client.collector import AskCollector
from thalovant.errors import ThalovantRuntimeError, ThalovantTimeoutError
from thalovant.models.types import ThalovantEvent, ThalovantReply

__all__ = ["STREAM_MAX_BUFFERED", "AsyncThalovantReplyStream", "StreamSink"]

#: Events one stream buffers for a consumer that has not read them yet.
STREAM_MAX_BUFFERED = 256


class StreamSink(AskSink):
    """The request sink of one ``ask_stream``: feeds the ask's collector and keeps the
    events to yield.

    Args:
        collector: The ask's collector.
        max_buffered: Events kept for the consumer before the request fails.
    """

    def __init__(self, collector: AskCollector, *, max_buffered: int = STREAM_MAX_BUFFERED) -> None:
        super().__init__(collector)
        self.items: deque[ThalovantEvent] = deque()
        self.max_buffered = max_buffered
        self.error: BaseException | None = None
        """The error the stream raises once its buffered items are read."""
        self.registration: RequestRegistration | None = None
        self._signal: anyio.Event | None = None

    def deliver(self, event: ThalovantEvent) -> None:
        """Feed the collector; keep the event when it is new speech or display data.

        Args:
            event: An event routed to this ask by request id.
        """
        super().deliver(event)
        kind = self.ask_collector.last_kind
        wanted = kind == "speech" or (kind == "other" and event.rich_media is not None)
        if wanted and self.error is None:
            if len(self.items) >= self.max_buffered:
                self.error = ThalovantRuntimeError(
                    f"the reply stream of {self.ask_collector.request_id!r} was not read: "
                    f"more than {self.max_buffered} events waiting; the request is failed"
                )
                if self.registration is not None:
                    self.registration.close()
            else:
                self.items.append(event)
        self._poke()

    def fail(self, exc: BaseException) -> None:
        """The connection is gone: the stream raises ``exc`` after its buffered items.

        Args:
            exc: The error to raise.
        """
        super().fail(exc)
        if self.error is None:
            self.error = exc
        self._poke()

    def _poke(self) -> None:
        if self._signal is not None:
            self._signal.set()

    async def changed(self, until: float) -> None:
        """Wait until something was delivered or failed, or ``until`` (anyio clock).

        Args:
            until: When to stop waiting.
        """
        self._signal = anyio.Event()
        with anyio.move_on_after(until - anyio.current_time()):
            await self._signal.wait()


class AsyncThalovantReplyStream:
    """The events of one ask as they arrive: an async iterator and async context manager
    (made by ``AsyncThalovantClient.ask_stream``; see the module docstring).

    The ask is published on the first ``__anext__`` (or on ``async with`` entry); ``timeout``
    counts from the stream's creation and bounds publishing and the whole stream. Iteration
    ends when the request completes, then :attr:`reply` is the final reply; the typed errors
    of ``ask`` are raised from the iteration. Leaving the ``async with`` block (or
    :meth:`aclose`) before the end releases the request's registration; a stream abandoned
    without either is released by the client at the deadline plus
    :data:`~thalovant.client.asking.CARRY_GRACE_SECONDS`.

    Args:
        asker: The client's asker.
        utterance: The stripped utterance.
        timeout: Seconds for the whole stream.
        options: The other keyword arguments of ``ask``.
        max_buffered: Events buffered for the consumer before the request fails.

    Raises:
        ThalovantRuntimeError: A negative ``timeout``.
    """

    def __init__(
        self,
        asker: Asker,
        utterance: str,
        *,
        timeout: float,
        options: Mapping[str, Any],
        max_buffered: int = STREAM_MAX_BUFFERED,
    ) -> None:
        if timeout < 0:
            raise ThalovantRuntimeError("timeout must not be negative")
        self._asker = asker
        self._utterance = utterance
        self._options = dict(options)
        self._max_buffered = max_buffered
        self._deadline = anyio.current_time() + timeout
        self._sid: str | None = None
        self._sink: StreamSink | None = None
        self._released: anyio.Event | None = None
        self._opening = False
        self.reply: ThalovantReply | None = None
        """The final reply once the iteration ended normally; None before."""
        self.closed = False
        self.received = 0
        """Events yielded so far."""

    def __repr__(self) -> str:
        rid = self.request_id
        return f"<AsyncThalovantReplyStream request_id={rid!r} closed={self.closed}>"

    @property
    def request_id(self) -> str | None:
        """The request id sent (None until published)."""
        return self._sink.ask_collector.request_id if self._sink is not None else None

    async def _open(self) -> StreamSink:
        if self._sink is not None:
            return self._sink
        if self._opening:
            raise ThalovantRuntimeError("the reply stream is already being read by another task")
        self._opening = True
        try:
            max_buffered = self._max_buffered
            sid, sink, reg = await self._asker.open_ask(
                self._utterance,
                deadline=self._deadline,
                make_sink=lambda c: StreamSink(c, max_buffered=max_buffered),
                **self._options,
            )
        finally:
            self._opening = False
        sink.registration = reg
        self._sid, self._sink = sid, sink
        self._released = released = anyio.Event()
        self._asker.expire_later(reg, self._deadline + CARRY_GRACE_SECONDS, released)
        return sink

    def _release(self, reply: ThalovantReply | None, settle: bool) -> None:
        self.closed = True
        sink = self._sink
        if sink is None or sink.registration is None:
            return
        reg, sink.registration = sink.registration, None
        if self._released is not None:
            self._released.set()
        if settle and self._sid is not None:
            self._asker.settle(self._sid, sink, reg, reply)
        else:
            reg.close()

    def __aiter__(self) -> AsyncThalovantReplyStream:
        return self

    async def __anext__(self) -> ThalovantEvent:
        if self.closed:
            raise StopAsyncIteration
        try:
            sink = await self._open()
            while True:
                if sink.items:
                    self.received += 1
                    return sink.items.popleft()
                if sink.error is not None:
                    raise sink.error
                collector = sink.ask_collector
                now = anyio.current_time()
                own = collector.next_deadline()
                end = self._deadline if own is None else min(own, self._deadline)
                if collector.done or now >= end:
                    break
                await sink.changed(end)
        except BaseException:
            self._release(None, False)
            raise
        try:
            reply = sink.ask_collector.finish(anyio.current_time())
        except (ThalovantRuntimeError, ThalovantTimeoutError):
            self._release(None, True)  # a typed outcome: the hub did answer
            raise
        except BaseException:  # pragma: no cover - finish raises only typed outcomes
            self._release(None, False)
            raise
        self.reply = reply
        self._release(reply, True)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop reading; an unfinished request's registration is released (idempotent)."""
        if not self.closed:
            self._release(None, False)

    async def __aenter__(self) -> AsyncThalovantReplyStream:
        """Publish the ask now (so it is in flight when the block starts).

        Returns:
            The stream.

        Raises:
            ThalovantConnectionError: Not sent before the deadline, or the client closed.
            ThalovantRuntimeError: A duplicate request id in flight.
        """
        try:
            await self._open()
        except BaseException:
            self.closed = True
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def stream_options(
    *,
    lang: str,
    context: Mapping[str, Any] | None,
    session_id: str | None,
    request_id: str | None,
    stt_lang: str | None,
    pipeline: Iterable[str] | None,
    location: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The keyword arguments of ``ask`` a stream passes on to ``Asker.open_ask``.

    Args:
        lang: Language of the utterance.
        context: The caller's context (deep-copied now: the ask is published later).
        session_id: The caller's session id.
        request_id: The request id.
        stt_lang: ``context.stt_lang``.
        pipeline: Intent stages (materialised now).
        location: ``context.location``.

    Returns:
        The mapping.
    """
    return {
        "lang": lang,
        "context": copy.deepcopy(dict(context)) if context is not None else None,
        "session_id": session_id,
        "request_id": request_id,
        "stt_lang": stt_lang,
        "pipeline": tuple(pipeline) if pipeline is not None else None,
        "location": copy.deepcopy(dict(location)) if location is not None else None,
    }

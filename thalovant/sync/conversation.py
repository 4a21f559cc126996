"""``ThalovantConversation``: the blocking twin of ``AsyncThalovantConversation``.

Re-exported by :mod:`thalovant.sync.client` (see there for threads, handlers and lifecycle). A
conversation runs on its client's loop thread and hands its handlers to the client's handler
thread; leaving its ``with`` block does not close the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from thalovant.sync.bridges import HandlerBridge, SyncIterator, SyncSubscription

if TYPE_CHECKING:
    from thalovant.bus.bus import Handler, Predicate
    from thalovant.client.conversation import AsyncThalovantConversation
    from thalovant.models.types import ThalovantEvent, ThalovantReply
    from thalovant.sync.client import ThalovantClient

__all__ = ["ThalovantConversation"]


class ThalovantConversation:
    """Blocking twin of :class:`~thalovant.client.conversation.AsyncThalovantConversation`, on its
    client's loop thread. A context manager; leaving it does not close the client."""

    def __init__(
        self,
        client: ThalovantClient,
        *,
        session_id: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        self._loop = client._loop
        self._async: AsyncThalovantConversation = self._loop.call_sync(
            client._async.conversation, session_id=session_id, lang=lang, context=context
        )

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncThalovantConversation", type(self).__name__, 1)

    @property
    def session_id(self) -> str:
        """The conversation's session id."""
        return self._async.session_id

    @property
    def lang(self) -> str:
        """The default language of every turn (assignable)."""
        return self._async.lang

    @lang.setter
    def lang(self, value: str) -> None:
        self._async.lang = value

    @property
    def context(self) -> dict[str, Any]:
        """The base context merged under every turn's (the same dict as the async side's)."""
        return self._async.context

    def __enter__(self) -> ThalovantConversation:
        self._loop.call(self._async.__aenter__)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._loop.call(self._async.__aexit__, et, e, tb)

    def ask(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        stt_lang: str | None = None,
        pipeline: Iterable[str] | None = None,
        location: Mapping[str, Any] | None = None,
    ) -> ThalovantReply:
        """:meth:`ThalovantClient.ask` in this conversation."""
        return self._loop.call(
            self._async.ask,
            text,
            timeout=timeout,
            lang=lang,
            context=context,
            request_id=request_id,
            stt_lang=stt_lang,
            pipeline=pipeline,
            location=location,
        )

    def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """:meth:`ThalovantClient.query` in this conversation."""
        return self._loop.call(
            self._async.query, text, timeout=timeout, lang=lang, context=context, query_id=query_id
        )

    def send_utterance(
        self,
        text: str,
        lang: str | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> str:
        """:meth:`ThalovantClient.send_utterance` in this conversation."""
        return self._loop.call(
            self._async.send_utterance, text, lang, context=context, request_id=request_id
        )

    def send_action(
        self,
        action: str,
        payload: Mapping[str, Any] | str | None = None,
        *,
        title: str | None = None,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> str:
        """:meth:`ThalovantClient.send_action` in this conversation."""
        return self._loop.call(
            self._async.send_action,
            action,
            payload,
            title=title,
            lang=lang,
            context=context,
            request_id=request_id,
        )

    def send_code(
        self,
        value: str,
        kind: str = "code",
        label: str | None = None,
        *,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> str:
        """:meth:`ThalovantClient.send_code` in this conversation."""
        return self._loop.call(
            self._async.send_code,
            value,
            kind,
            label,
            lang=lang,
            context=context,
            request_id=request_id,
        )

    def emit(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """:meth:`ThalovantClient.emit` with this conversation's session."""
        self._loop.call(self._async.emit, type, data, context)

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        request_id: str | None = None,
        predicate: Predicate | None = None,
    ) -> SyncSubscription:
        """:meth:`ThalovantClient.on` filtered to this conversation's session."""
        bridge = HandlerBridge(handler, self._loop.handlers, event)
        inner = self._loop.call_sync(
            self._async.on, event, bridge, request_id=request_id, predicate=predicate
        )
        return SyncSubscription(self._loop, inner, bridge)

    def listen(
        self,
        event: str,
        *,
        timeout: float | None = None,
        max_events: int | None = None,
        max_buffered_events: int | None = None,
        predicate: Predicate | None = None,
        request_id: str | None = None,
    ) -> SyncIterator[ThalovantEvent]:
        """:meth:`ThalovantClient.listen` filtered to this conversation's session."""
        listener = self._loop.call_sync(
            self._async.listen,
            event,
            timeout=timeout,
            max_events=max_events,
            max_buffered_events=max_buffered_events,
            predicate=predicate,
            request_id=request_id,
        )
        return SyncIterator(self._loop, listener)

    def wait_for_event(
        self,
        event: str,
        *,
        timeout: float = 12.0,
        predicate: Predicate | None = None,
        request_id: str | None = None,
    ) -> ThalovantEvent:
        """:meth:`ThalovantClient.wait_for_event` filtered to this conversation."""
        return self._loop.call(
            self._async.wait_for_event,
            event,
            timeout=timeout,
            predicate=predicate,
            request_id=request_id,
        )

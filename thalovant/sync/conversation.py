"""``ThalovantConversation``: the blocking twin of ``AsyncThalovantConversation``.

Re-exported by :mod:`thalovant.sync.client` (see there for threads, handlers and lifecycle). A
conversation runs on its client's loop thread and hands its handlers to the client's handler
thread; leaving its ``with`` block does not close the client. The client creates
conversations (``ThalovantClient.conversation``); a conversation knows its client only as a
:class:`ConversationHost` (docs/protocol.md §6, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol

from thalovant.bus.bus import Handler, Predicate
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.conversation import AsyncThalovantConversation
from thalovant.models.intents import HubIntentInventory, IntentDefinition, IntentRegistration
from thalovant.models.types import ThalovantEvent, ThalovantReply
from thalovant.sync.bridges import SyncIterator, SyncSubscription, ThalovantReplyStream
from thalovant.sync.handlers import HandlerBridge
from thalovant.sync.portal import LoopThread

__all__ = ["ConversationHost", "ThalovantConversation"]


class ConversationHost(Protocol):
    """What a blocking conversation needs of its ``ThalovantClient``: the client's loop
    thread and its async twin (private to the facade)."""

    @property
    def _loop(self) -> LoopThread: ...

    @property
    def _async(self) -> AsyncThalovantClient: ...


class ThalovantConversation:
    """Blocking twin of ``AsyncThalovantConversation``, on its client's loop thread. A
    context manager; leaving it does not close the client.

    Args:
        client: The blocking client the turns go through.
        session_id: The session id of every turn (default ``thalovant-session-<hex>``).
        lang: The default language of every turn.
        context: The base context merged under every turn's (deep-copied).

    Raises:
        ThalovantRuntimeError: A blank ``session_id``, or the client is closed.
    """

    def __init__(
        self,
        client: ConversationHost,
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
        """``ThalovantClient.ask`` in this conversation.

        Args:
            text: The utterance.
            timeout: Seconds for the whole ask.
            lang: Language of the turn (default the conversation's).
            context: Merged over the base context.
            request_id: Correlation id (default a fresh one).
            stt_lang: ``context.stt_lang``.
            pipeline: Intent stages.
            location: ``context.location``.

        Returns:
            The collected reply.

        Raises:
            ThalovantPolicyDeniedError: The hub refused the message type.
            ThalovantUnansweredError: No intent matched and nothing was said.
            ThalovantTimeoutError: No speech before the deadline.
            ThalovantConnectionError: The link dropped or the client closed.
        """
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

    def ask_stream(
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
    ) -> ThalovantReplyStream:
        """``ThalovantClient.ask_stream`` in this conversation
        (``AsyncThalovantConversation.ask_stream``).

        Args:
            text: The utterance.
            timeout: Seconds for the whole stream, counted from this call.
            lang: Language of the turn (default the conversation's).
            context: Merged over the base context.
            request_id: Correlation id (default a fresh one).
            stt_lang: ``context.stt_lang``.
            pipeline: Intent stages.
            location: ``context.location``.

        Returns:
            The stream; stepping it raises the errors of ``ask``.
        """
        inner = self._loop.call_sync(
            self._async.ask_stream,
            text,
            timeout=timeout,
            lang=lang,
            context=context,
            request_id=request_id,
            stt_lang=stt_lang,
            pipeline=pipeline,
            location=location,
        )
        return ThalovantReplyStream(self._loop, inner)

    def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """``ThalovantClient.query`` in this conversation.

        Args:
            text: The utterance.
            timeout: Seconds for the whole query.
            lang: Language of the turn (default the conversation's).
            context: Merged over the base context.
            query_id: Query id (default the request id).

        Returns:
            The collected reply.

        Raises:
            ThalovantTimeoutError: ``hive.query.complete`` did not come in time.
            ThalovantConnectionError: The link dropped or the client closed.
        """
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
        """``ThalovantClient.send_utterance`` in this conversation.

        Args:
            text: The utterance.
            lang: Language of the turn (default the conversation's).
            context: Merged over the base context.
            request_id: Correlation id (default a fresh one).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent.
        """
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
        """``ThalovantClient.send_action`` in this conversation.

        Args:
            action: The action, or (without ``payload``) the whole action payload string.
            payload: A mapping or JSON string appended to ``action``.
            title: ``context.input.title``.
            lang: Language of the turn (default the conversation's).
            context: Merged over the base context.
            request_id: Correlation id (default a fresh one).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent.
        """
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
        """``ThalovantClient.send_code`` in this conversation.

        Args:
            value: The exact value.
            kind: ``input.kind``.
            label: ``input.label``.
            lang: Language of the turn (default the conversation's).
            context: Merged over the base context.
            request_id: Correlation id (default a fresh one).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent.
        """
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
        """``ThalovantClient.emit`` with this conversation's session, site id and language.

        Args:
            type: The bus message type.
            data: Its data.
            context: Merged over the base context.

        Raises:
            ThalovantConnectionError: Not sent.
        """
        self._loop.call(self._async.emit, type, data, context)

    def intents(
        self, languages: Iterable[str] | None = None, *, timeout: float = 5.0
    ) -> HubIntentInventory:
        """``AsyncThalovantConversation.intents``, blocking.

        Args:
            languages: Language tags (default the conversation's).
            timeout: Seconds per query.

        Returns:
            The inventory.
        """
        langs = None if languages is None else list(languages)
        return self._loop.call(self._async.intents, langs, timeout=timeout)

    def list_intents(
        self, lang: str | None = None, *, timeout: float = 5.0
    ) -> list[IntentRegistration]:
        """``AsyncThalovantConversation.list_intents``, blocking.

        Args:
            lang: The language.
            timeout: Seconds.

        Returns:
            The registrations.
        """
        return self._loop.call(self._async.list_intents, lang, timeout=timeout)

    def describe_intent(
        self, skill_id: str, intent_name: str, lang: str | None = None, *, timeout: float = 5.0
    ) -> list[IntentDefinition]:
        """``AsyncThalovantConversation.describe_intent``, blocking.

        Args:
            skill_id: The skill.
            intent_name: The intent.
            lang: The language.
            timeout: Seconds.

        Returns:
            The definitions.
        """
        return self._loop.call(
            self._async.describe_intent, skill_id, intent_name, lang, timeout=timeout
        )

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        request_id: str | None = None,
        predicate: Predicate | None = None,
    ) -> SyncSubscription:
        """``ThalovantClient.on`` filtered to this conversation's session.

        Args:
            event: The event name (``"*"``: all).
            handler: A plain function of one ``ThalovantEvent``, run on the handler thread.
            request_id: Only events of this request.
            predicate: A further filter, run on the loop (must not call the client).

        Returns:
            The subscription (``close()`` ends it).

        Raises:
            ThalovantRuntimeError: ``handler`` is a coroutine function.
        """
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
        """``ThalovantClient.listen`` filtered to this conversation's session.

        Args:
            event: The event name.
            timeout: Seconds covering connecting and listening (None: no end).
            max_events: End after this many events.
            max_buffered_events: Buffer before overflow (default the client's).
            predicate: A further filter, run on the loop (must not call the client).
            request_id: Only events of this request.

        Returns:
            A plain iterator (and context manager) of the events.
        """
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
        """``ThalovantClient.wait_for_event`` filtered to this conversation.

        Args:
            event: The event name.
            timeout: Seconds covering connecting and waiting.
            predicate: A further filter, run on the loop (must not call the client).
            request_id: Only an event of this request.

        Returns:
            The event.

        Raises:
            ThalovantTimeoutError: None came in time.
        """
        return self._loop.call(
            self._async.wait_for_event,
            event,
            timeout=timeout,
            predicate=predicate,
            request_id=request_id,
        )

"""``AsyncThalovantConversation``: one session id, one language and a base context.

Every turn passes the conversation's session id and merges its base context under the
caller's (a ``session`` sub-dict is merged key-wise, caller keys winning); each turn gets a
fresh request id unless one is given. Hubs keep nothing for a named session, so the client's
conversation carry (docs/protocol.md §6) follows the session id across turns.

The client creates conversations (``AsyncThalovantClient.conversation``); a conversation
knows its client only as a :class:`~thalovant.client.host.ConversationHost`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from thalovant.bus.bus import Handler, Predicate, Subscription
from thalovant.client.correlation import new_session_id
from thalovant.client.host import ConversationHost
from thalovant.client.listen import EventListener
from thalovant.client.outgoing import require_text
from thalovant.client.streaming import AsyncThalovantReplyStream
from thalovant.models.intents import HubIntentInventory, IntentDefinition, IntentRegistration
from thalovant.models.types import ThalovantEvent, ThalovantReply

__all__ = ["AsyncThalovantConversation"]


class AsyncThalovantConversation:
    """A conversation on an ``AsyncThalovantClient`` (see the module docstring). Use it as
    an async context manager or plainly; it sends nothing by itself.

    Args:
        client: The client the turns go through.
        session_id: The session id of every turn (default ``thalovant-session-<hex>``).
        lang: The default language of every turn.
        context: The base context merged under every turn's (deep-copied).

    Raises:
        ThalovantRuntimeError: A blank ``session_id``.
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
        self.session_id = require_text(session_id, "session_id") if session_id else new_session_id()
        self.lang = lang
        self.context: dict[str, Any] = copy.deepcopy(dict(context)) if context else {}

    def __repr__(self) -> str:
        return f"<AsyncThalovantConversation session_id={self.session_id!r} lang={self.lang!r}>"

    async def __aenter__(self) -> AsyncThalovantConversation:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def _context(self, context: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = copy.deepcopy(self.context)
        if context:
            given = copy.deepcopy(dict(context))
            base_session, session = merged.get("session"), given.get("session")
            merged.update(given)
            if isinstance(base_session, Mapping) and isinstance(session, Mapping):
                merged["session"] = {**base_session, **session}
        return merged

    async def ask(
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
        """``AsyncThalovantClient.ask`` in this conversation (docs/protocol.md §3.5, §6).

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
        return await self.client.ask(
            text,
            timeout=timeout,
            lang=lang or self.lang,
            context=self._context(context),
            session_id=self.session_id,
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
    ) -> AsyncThalovantReplyStream:
        """``AsyncThalovantClient.ask_stream`` in this conversation (docs/protocol.md §3.5,
        §6): the turn's speech and display events as they arrive, then ``stream.reply``.

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
            The stream; iterating raises the errors of ``ask``.

        Raises:
            ThalovantRuntimeError: Invalid arguments.
        """
        return self.client.ask_stream(
            text,
            timeout=timeout,
            lang=lang or self.lang,
            context=self._context(context),
            session_id=self.session_id,
            request_id=request_id,
            stt_lang=stt_lang,
            pipeline=pipeline,
            location=location,
        )

    async def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """``AsyncThalovantClient.query`` in this conversation (docs/protocol.md §3.6).

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
        return await self.client.query(
            text,
            timeout=timeout,
            lang=lang or self.lang,
            context=self._context(context),
            session_id=self.session_id,
            query_id=query_id,
        )

    async def send_utterance(
        self,
        text: str,
        lang: str | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> str:
        """``AsyncThalovantClient.send_utterance`` in this conversation.

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
        return await self.client.send_utterance(
            text,
            lang or self.lang,
            context=self._context(context),
            session_id=self.session_id,
            request_id=request_id,
        )

    async def send_action(
        self,
        action: str,
        payload: Mapping[str, Any] | str | None = None,
        *,
        title: str | None = None,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> str:
        """``AsyncThalovantClient.send_action`` in this conversation.

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
        return await self.client.send_action(
            action,
            payload,
            title=title,
            lang=lang or self.lang,
            context=self._context(context),
            session_id=self.session_id,
            request_id=request_id,
        )

    async def send_code(
        self,
        value: str,
        kind: str = "code",
        label: str | None = None,
        *,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> str:
        """``AsyncThalovantClient.send_code`` in this conversation.

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
        return await self.client.send_code(
            value,
            kind,
            label,
            lang=lang or self.lang,
            context=self._context(context),
            session_id=self.session_id,
            request_id=request_id,
        )

    async def emit(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """``AsyncThalovantClient.emit`` with ``session.session_id``, ``site_id`` and
        ``lang`` of this conversation (no request id; docs/protocol.md §6).

        Args:
            type: The bus message type.
            data: Its data.
            context: Merged over the base context.

        Raises:
            ThalovantConnectionError: Not sent.
        """
        merged = self._context(context)
        session = merged.get("session")
        session = dict(session) if isinstance(session, Mapping) else {}
        session.setdefault("session_id", self.session_id)
        session.setdefault("site_id", self.client.identity.site_id)
        session.setdefault("lang", self.lang)
        merged["session"] = session
        await self.client.emit(type, data, merged)

    async def intents(
        self, languages: Iterable[str] | None = None, *, timeout: float = 5.0
    ) -> HubIntentInventory:
        """``AsyncThalovantClient.intents`` in this conversation's language by default.

        Args:
            languages: Language tags (default ``[self.lang]``).
            timeout: Seconds per query.

        Returns:
            The inventory.
        """
        return await self.client.intents(languages or [self.lang], timeout=timeout)

    async def list_intents(
        self, lang: str | None = None, *, timeout: float = 5.0
    ) -> list[IntentRegistration]:
        """``AsyncThalovantClient.list_intents`` (default this conversation's language).

        Args:
            lang: The language.
            timeout: Seconds.

        Returns:
            The registrations.
        """
        return await self.client.list_intents(lang or self.lang, timeout=timeout)

    async def describe_intent(
        self, skill_id: str, intent_name: str, lang: str | None = None, *, timeout: float = 5.0
    ) -> list[IntentDefinition]:
        """``AsyncThalovantClient.describe_intent`` (default this conversation's language).

        Args:
            skill_id: The skill.
            intent_name: The intent.
            lang: The language.
            timeout: Seconds.

        Returns:
            The definitions.
        """
        return await self.client.describe_intent(
            skill_id, intent_name, lang or self.lang, timeout=timeout
        )

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        request_id: str | None = None,
        predicate: Predicate | None = None,
    ) -> Subscription:
        """``AsyncThalovantClient.on`` filtered to this conversation's session.

        Args:
            event: The event name (``"*"``: all).
            handler: A plain or async function of one ``ThalovantEvent``.
            request_id: Only events of this request.
            predicate: A further filter, run on the loop.

        Returns:
            The subscription (``close()`` ends it).
        """
        return self.client.on(
            event, handler, session_id=self.session_id, request_id=request_id, predicate=predicate
        )

    def listen(
        self,
        event: str,
        *,
        timeout: float | None = None,
        max_events: int | None = None,
        max_buffered_events: int | None = None,
        predicate: Predicate | None = None,
        request_id: str | None = None,
    ) -> EventListener:
        """``AsyncThalovantClient.listen`` filtered to this conversation's session.

        Args:
            event: The event name.
            timeout: Seconds covering connecting and listening (None: no end).
            max_events: End after this many events.
            max_buffered_events: Buffer before overflow (default the client's).
            predicate: A further filter, run on the loop.
            request_id: Only events of this request.

        Returns:
            The listener (an async iterator and async context manager).
        """
        return self.client.listen(
            event,
            timeout=timeout,
            max_events=max_events,
            max_buffered_events=max_buffered_events,
            predicate=predicate,
            session_id=self.session_id,
            request_id=request_id,
        )

    async def wait_for_event(
        self,
        event: str,
        *,
        timeout: float = 12.0,
        predicate: Predicate | None = None,
        request_id: str | None = None,
    ) -> ThalovantEvent:
        """``AsyncThalovantClient.wait_for_event`` filtered to this conversation.

        Args:
            event: The event name.
            timeout: Seconds covering connecting and waiting.
            predicate: A further filter, run on the loop.
            request_id: Only an event of this request.

        Returns:
            The event.

        Raises:
            ThalovantTimeoutError: None came in time.
        """
        return await self.client.wait_for_event(
            event,
            timeout=timeout,
            predicate=predicate,
            session_id=self.session_id,
            request_id=request_id,
        )

"""``AsyncThalovantConversation``: one session id, one language and a base context.

Every turn passes the conversation's session id and merges its base context under the
caller's (a ``session`` sub-dict is merged key-wise, caller keys winning); each turn gets a
fresh request id unless one is given. Hubs keep nothing for a named session, so the client's
conversation carry (docs/protocol.md §6) follows the session id across turns.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from thalovant.bus.bus import Handler, Predicate, Subscription
from thalovant.client.listen import EventListener
from thalovant.client.outgoing import new_session_id, require_text
from thalovant.models.types import ThalovantEvent, ThalovantReply

if TYPE_CHECKING:
    from thalovant.client.client import AsyncThalovantClient

__all__ = ["AsyncThalovantConversation"]


class AsyncThalovantConversation:
    """A conversation on an :class:`~thalovant.client.client.AsyncThalovantClient` (see the module
    docstring). Use it as an async context manager or plainly; it sends nothing by itself."""

    def __init__(
        self,
        client: AsyncThalovantClient,
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
        """:meth:`AsyncThalovantClient.ask` in this conversation."""
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

    async def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str | None = None,
        context: Mapping[str, Any] | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """:meth:`AsyncThalovantClient.query` in this conversation."""
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
        """:meth:`AsyncThalovantClient.send_utterance` in this conversation."""
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
        """:meth:`AsyncThalovantClient.send_action` in this conversation."""
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
        """:meth:`AsyncThalovantClient.send_code` in this conversation."""
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
        """:meth:`AsyncThalovantClient.emit` with ``session.session_id``, ``site_id`` and
        ``lang`` of this conversation (no request id)."""
        merged = self._context(context)
        session = merged.get("session")
        session = dict(session) if isinstance(session, Mapping) else {}
        session.setdefault("session_id", self.session_id)
        session.setdefault("site_id", self.client.identity.site_id)
        session.setdefault("lang", self.lang)
        merged["session"] = session
        await self.client.emit(type, data, merged)

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        request_id: str | None = None,
        predicate: Predicate | None = None,
    ) -> Subscription:
        """:meth:`AsyncThalovantClient.on` filtered to this conversation's session."""
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
        """:meth:`AsyncThalovantClient.listen` filtered to this conversation's session."""
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
        """:meth:`AsyncThalovantClient.wait_for_event` filtered to this conversation."""
        return await self.client.wait_for_event(
            event,
            timeout=timeout,
            predicate=predicate,
            session_id=self.session_id,
            request_id=request_id,
        )

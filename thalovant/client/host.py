"""``ConversationHost``: what a conversation needs of the client it runs on.

:class:`~thalovant.client.conversation.AsyncThalovantConversation` types its client as this
Protocol, so the conversation module never imports the client module: the client creates
conversations (``AsyncThalovantClient.conversation``) and satisfies the Protocol structurally
(docs/architecture.md, "no import cycles").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from thalovant.bus.bus import Handler, Predicate, Subscription
from thalovant.client.listen import EventListener
from thalovant.client.streaming import AsyncThalovantReplyStream
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.intents import HubIntentInventory, IntentDefinition, IntentRegistration
from thalovant.models.types import ThalovantEvent, ThalovantReply

__all__ = ["ConversationHost"]


class ConversationHost(Protocol):
    """The methods of ``AsyncThalovantClient`` a conversation calls (same signatures)."""

    @property
    def identity(self) -> ThalovantIdentity:
        """The client's identity (its ``site_id`` is stamped by ``emit``)."""
        ...

    async def ask(
        self,
        text: str,
        *,
        timeout: float = ...,
        lang: str = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
        stt_lang: str | None = ...,
        pipeline: Iterable[str] | None = ...,
        location: Mapping[str, Any] | None = ...,
    ) -> ThalovantReply:
        """See ``AsyncThalovantClient.ask``."""
        ...

    def ask_stream(
        self,
        text: str,
        *,
        timeout: float = ...,
        lang: str = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
        stt_lang: str | None = ...,
        pipeline: Iterable[str] | None = ...,
        location: Mapping[str, Any] | None = ...,
    ) -> AsyncThalovantReplyStream:
        """See ``AsyncThalovantClient.ask_stream``."""
        ...

    async def query(
        self,
        text: str,
        *,
        timeout: float = ...,
        lang: str = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        query_id: str | None = ...,
    ) -> ThalovantReply:
        """See ``AsyncThalovantClient.query``."""
        ...

    async def send_utterance(
        self,
        text: str,
        lang: str = ...,
        *,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
    ) -> str:
        """See ``AsyncThalovantClient.send_utterance``."""
        ...

    async def send_action(
        self,
        action: str,
        payload: Mapping[str, Any] | str | None = ...,
        *,
        title: str | None = ...,
        lang: str = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
    ) -> str:
        """See ``AsyncThalovantClient.send_action``."""
        ...

    async def send_code(
        self,
        value: str,
        kind: str = ...,
        label: str | None = ...,
        *,
        lang: str = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
    ) -> str:
        """See ``AsyncThalovantClient.send_code``."""
        ...

    async def emit(
        self,
        type: str,
        data: Mapping[str, Any] | None = ...,
        context: Mapping[str, Any] | None = ...,
    ) -> None:
        """See ``AsyncThalovantClient.emit``."""
        ...

    async def intents(
        self, languages: Iterable[str] | None = ..., *, timeout: float = ...
    ) -> HubIntentInventory:
        """See ``AsyncThalovantClient.intents``."""
        ...

    async def list_intents(
        self, lang: str | None = ..., *, timeout: float = ...
    ) -> list[IntentRegistration]:
        """See ``AsyncThalovantClient.list_intents``."""
        ...

    async def describe_intent(
        self, skill_id: str, intent_name: str, lang: str | None = ..., *, timeout: float = ...
    ) -> list[IntentDefinition]:
        """See ``AsyncThalovantClient.describe_intent``."""
        ...

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        session_id: str | None = ...,
        request_id: str | None = ...,
        predicate: Predicate | None = ...,
        context: Mapping[str, Any] | None = ...,
    ) -> Subscription:
        """See ``AsyncThalovantClient.on``."""
        ...

    def listen(
        self,
        event: str,
        *,
        timeout: float | None = ...,
        max_events: int | None = ...,
        max_buffered_events: int | None = ...,
        predicate: Predicate | None = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
    ) -> EventListener:
        """See ``AsyncThalovantClient.listen``."""
        ...

    async def wait_for_event(
        self,
        event: str,
        *,
        timeout: float = ...,
        predicate: Predicate | None = ...,
        context: Mapping[str, Any] | None = ...,
        session_id: str | None = ...,
        request_id: str | None = ...,
    ) -> ThalovantEvent:
        """See ``AsyncThalovantClient.wait_for_event``."""
        ...

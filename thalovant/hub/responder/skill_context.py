"""What a skill sees of one request, and the ways it answers: :class:`SkillContext`.

Besides the request itself a context names the carrier the request came in on
(:attr:`SkillContext.carrier`) and, when the hub provides them, facts about the hub
(:attr:`SkillContext.hub`, a :class:`HubFacts`: its name, uptime and connected clients).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from thalovant.hub.responder.messages import DEFAULT_LANG, reply_context, speak_message
from thalovant.protocol.envelope import BusMessage

__all__ = ["DeliveryError", "HubFacts", "SkillContext"]


@dataclass
class HubFacts:
    """What a skill may tell about the hub that runs it.

    Args:
        name: The hub's name.
        started: When it started (``time.monotonic()``; the hub resets it on start).
        clients: The names of the clients connected right now (one per connection).
    """

    name: str
    started: float = field(default_factory=time.monotonic)
    clients: Callable[[], list[str]] = list

    @property
    def uptime(self) -> float:
        """Seconds since the hub started."""
        return max(0.0, time.monotonic() - self.started)


class DeliveryError(Exception):
    """A reply could not be sent: the connection is gone. Skills need not catch it."""


class SkillContext:
    """One request as a skill (or a bus hook) sees it, plus the ways to answer it.

    Read: :attr:`message_type`, :attr:`utterance`, :attr:`utterances`, :attr:`lang`,
    :attr:`data`, :attr:`request_context` (the request's context after the hub filled in the
    session), :attr:`session_id`, :attr:`site_id`, :attr:`request_id`, :attr:`input` (the
    ``send_action``/``send_code`` input object), :attr:`match` (the regex match, when the
    skill matched by regex), :attr:`session_state` (a dict kept per session id across
    requests and connections), :attr:`client_name`, :attr:`peer`, :attr:`carrier` and
    :attr:`hub`.

    Answer: :meth:`speak` and :meth:`emit`. Both build reply contexts for you
    (docs/protocol.md §3.2).

    Args:
        message_type: The request's bus message type.
        data: Its ``data``.
        request_context: Its context, after the hub filled in the session.
        session_id: The session id of the request.
        session_state: The state kept for that session id.
        send: Sends one bus message to the client.
        client_name: The registered name of the client.
        peer: The client's address, for logs.
        carrier: The carrier the request came in on (``wss``, ``https``, ``mqtt``; ``""``
            when unknown).
        hub: Facts about the hub (``None`` when the runtime is used without a hub).
    """

    def __init__(
        self,
        *,
        message_type: str,
        data: dict[str, Any],
        request_context: dict[str, Any],
        session_id: str,
        session_state: dict[str, Any],
        send: Callable[[BusMessage], Awaitable[None]],
        client_name: str = "",
        peer: str = "",
        carrier: str = "",
        hub: HubFacts | None = None,
    ) -> None:
        self.message_type = message_type
        self.data = data
        self.request_context = request_context
        self.session_id = session_id
        self.session_state = session_state
        self.client_name = client_name
        self.peer = peer
        self.carrier = carrier
        """The carrier the request came in on (``wss``, ``https``, ``mqtt`` or ``""``)."""
        self.hub = hub
        """Facts about the hub (:class:`HubFacts`), when a hub runs the skill."""
        self.skill: str | None = None
        """Name of the skill handling the request (``None`` in a bus hook)."""
        self.pipeline_id: str | None = None
        self.match: re.Match[str] | None = None
        self.spoken: list[str] = []
        """Texts spoken so far, in order."""
        self.memory: list[dict[str, Any]] = []
        """Memory items the hub's control plane holds for this request (``id``, ``kind``,
        ``scope``, ``content``, ``metadata``), live ones only; empty without a control plane."""
        self._send = send

    # ------------------------------------------------------------------------- request

    @property
    def utterances(self) -> list[str]:
        """``data.utterances`` (strings only), else ``[data.utterance]``, else ``[]``."""
        raw = self.data.get("utterances")
        if isinstance(raw, list):
            return [u for u in raw if isinstance(u, str)]
        single = self.data.get("utterance")
        return [single] if isinstance(single, str) else []

    @property
    def utterance(self) -> str:
        """The first utterance, stripped (``""`` if none)."""
        utterances = self.utterances
        return utterances[0].strip() if utterances else ""

    @property
    def lang(self) -> str:
        """``data.lang``, else ``context.lang``, else ``context.session.lang``, else en-us."""
        session = self.request_context.get("session")
        for value in (
            self.data.get("lang"),
            self.request_context.get("lang"),
            session.get("lang") if isinstance(session, dict) else None,
        ):
            if isinstance(value, str) and value:
                return value
        return DEFAULT_LANG

    @property
    def site_id(self) -> str | None:
        """``context.session.site_id`` (the hub fills in the connection's)."""
        session = self.request_context.get("session")
        value = session.get("site_id") if isinstance(session, dict) else None
        return value if isinstance(value, str) else None

    @property
    def request_id(self) -> str | None:
        """The request id (``request_id``, ``thalovant_request_id`` or the session's)."""
        session = self.request_context.get("session")
        for value in (
            self.request_context.get("request_id"),
            self.request_context.get("thalovant_request_id"),
            session.get("request_id") if isinstance(session, dict) else None,
        ):
            if isinstance(value, str) and value:
                return value
        return None

    @property
    def input(self) -> dict[str, Any] | None:
        """``context.input`` or ``data.input`` (``send_action`` / ``send_code``), if any."""
        for value in (self.request_context.get("input"), self.data.get("input")):
            if isinstance(value, dict):
                return value
        return None

    # -------------------------------------------------------------------------- answer

    def reply_context(self, **extra: Any) -> dict[str, Any]:
        """A reply context for this request, tagged with the skill and pipeline ids.

        Args:
            **extra: Keys to add to the reply context.

        Returns:
            The reply context (docs/protocol.md §3.2).
        """
        tags: dict[str, Any] = {}
        if self.skill is not None:
            tags["skill_id"] = self.skill
        if self.pipeline_id is not None:
            tags["pipeline_id"] = self.pipeline_id
        return reply_context(self.request_context, **tags, **extra)

    async def speak(
        self,
        text: str,
        *,
        meta: dict[str, Any] | None = None,
        rich_media: Any = None,
        expect_response: bool = False,
    ) -> None:
        """Send a ``speak`` event as a reply to this request.

        Args:
            text: What to say.
            meta: ``data.meta`` of the event.
            rich_media: Display items (e.g. choices).
            expect_response: Whether the client should listen for an answer.

        Raises:
            DeliveryError: The connection is gone (skills need not catch it).
        """
        message = speak_message(
            self.reply_context(),
            text,
            lang=self.lang,
            skill=self.skill or "hub",
            meta=meta,
            rich_media=rich_media,
            expect_response=expect_response,
        )
        await self.send(message)
        self.spoken.append(text)

    async def emit(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        *,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Send any bus event as a reply to this request.

        Args:
            msg_type: The event's type.
            data: Its ``data``.
            context: Overlays the reply context.

        Raises:
            DeliveryError: The connection is gone (skills need not catch it).
        """
        reply = self.reply_context(**(context or {}))
        await self.send(BusMessage(msg_type, dict(data or {}), reply))

    async def send(self, message: BusMessage) -> None:
        """Send a bus message exactly as given (to a ``query``, wrapped in a query frame).

        Args:
            message: The message.

        Raises:
            DeliveryError: The connection is gone (skills need not catch it).
        """
        await self._send(message)

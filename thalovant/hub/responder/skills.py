"""The skill runtime: plain async functions that answer utterances with ``speak`` events.

A skill is a name, a matcher and an ``async def handler(ctx: SkillContext) -> None``::

    @hub.skill("weather", match=r"\\bweather\\b")
    async def weather(ctx: SkillContext) -> None:
        await ctx.speak("Sunny, as always on loopback.")

For each ``recognizer_loop:utterance`` the runtime picks the first matching skill (highest
``priority`` first, then registration order), runs it, and finishes the request with
``ovos.utterance.handled``; with no match the runtime's :attr:`SkillRuntime.fallback` skill
answers, as a real hub's fallback skills do, and without one (or with it switched off) the
hub sends ``ovos.intent.unmatched`` then handled.
Every reply context echoes the request context (OVOS ``Message.reply``), so the client's
request ids come back unchanged. Requests of one session run one at a time, in order; other
sessions run concurrently. A skill that raises or overruns its time budget is logged, and the
request is still finished with ``ovos.utterance.handled``.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio

from thalovant.hub.responder.messages import handled_message, unmatched_message
from thalovant.hub.responder.skill_context import DeliveryError, HubFacts, SkillContext

__all__ = [
    "DEFAULT_PIPELINE_ID",
    "UNMATCHED_PIPELINE_ID",
    "DeliveryError",
    "HubFacts",
    "HubSkill",
    "SessionStore",
    "SkillContext",
    "SkillHandler",
    "SkillMatcher",
    "SkillRuntime",
]

logger = logging.getLogger("thalovant.hub.skills")

DEFAULT_PIPELINE_ID = "padatious_high"
"""``context.pipeline_id`` of a reply from a matched skill."""
UNMATCHED_PIPELINE_ID = "fallback_low"
"""``context.pipeline_id`` of the unmatched answer (and of the fallback skill's)."""


SkillHandler = Callable[[SkillContext], Awaitable[None]]
"""``async def handler(ctx: SkillContext) -> None``."""
SkillMatcher = Callable[[SkillContext], object]
"""A matcher function: truthy result = the skill takes the request."""


class HubSkill:
    """A skill: a handler and what it matches (register it with
    :meth:`~thalovant.hub.LocalHub.add_skill` or the :meth:`~thalovant.hub.LocalHub.skill`
    decorator).

    Args:
        name: The skill's name (not empty).
        handler: ``async def handler(ctx: SkillContext) -> None``.
        match: A regex (searched case-insensitively in the utterance), a compiled pattern,
            or a function of the :class:`SkillContext` (truthy: the skill takes it).
        pipeline_id: The pipeline the answer names.
        priority: Higher is tried first.
        examples: Example utterances (the intent inventory shows them).
        description: What the skill does.

    Raises:
        ValueError: ``name`` is empty.
    """

    __slots__ = (
        "_matcher",
        "description",
        "examples",
        "handler",
        "name",
        "pipeline_id",
        "priority",
    )

    def __init__(
        self,
        name: str,
        handler: SkillHandler,
        *,
        match: str | re.Pattern[str] | SkillMatcher,
        pipeline_id: str = DEFAULT_PIPELINE_ID,
        priority: int = 0,
        examples: Iterable[str] = (),
        description: str = "",
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a skill needs a non-empty name")
        self.name = name
        self.handler = handler
        self.pipeline_id = pipeline_id
        self.priority = priority
        self.examples = tuple(examples)
        self.description = description
        if isinstance(match, str):
            match = re.compile(match, re.IGNORECASE)
        self._matcher: re.Pattern[str] | SkillMatcher = match

    def __repr__(self) -> str:
        return f"HubSkill({self.name!r}, priority={self.priority})"

    def matches(self, ctx: SkillContext) -> bool:
        """Whether this skill takes the request; a regex match is stored in ``ctx.match``.

        Args:
            ctx: The request.

        Returns:
            True when it matches.
        """
        if isinstance(self._matcher, re.Pattern):
            found = self._matcher.search(ctx.utterance)
            if found is None:
                return False
            ctx.match = found
            return True
        return bool(self._matcher(ctx))


class SessionStore:
    """Per-session skill state and the lock that keeps one session's requests in order.

    Bounded: the least recently used sessions are forgotten beyond ``max_sessions``.
    """

    def __init__(self, max_sessions: int = 1024) -> None:
        self._max = max_sessions
        self._slots: OrderedDict[str, tuple[dict[str, Any], anyio.Lock]] = OrderedDict()

    def slot(self, session_id: str) -> tuple[dict[str, Any], anyio.Lock]:
        """``(state, lock)`` of a session, created on first use."""
        slot = self._slots.get(session_id)
        if slot is None:
            slot = self._slots[session_id] = ({}, anyio.Lock())
            while len(self._slots) > self._max:
                self._slots.popitem(last=False)
        else:
            self._slots.move_to_end(session_id)
        return slot

    def state(self, session_id: str) -> dict[str, Any]:
        """The state dict of a session."""
        return self.slot(session_id)[0]

    def clear(self) -> None:
        """Forget every session."""
        self._slots.clear()


class SkillRuntime:
    """Ordered skills, and the handling of one utterance from match to ``handled``."""

    def __init__(
        self,
        skills: Iterable[HubSkill] = (),
        *,
        handler_timeout: float = 30.0,
        fallback: HubSkill | None = None,
    ) -> None:
        self._skills: list[HubSkill] = []
        self.handler_timeout = handler_timeout
        self.sessions = SessionStore()
        self.fallback = fallback
        """Answers what no skill matches (``None``: the hub sends ``ovos.intent.unmatched``).
        It is not one of :attr:`skills`: it never shadows them and the inventory omits it."""
        self.gate: Callable[[HubSkill, SkillContext], bool] | None = None
        """Decides whether an installed skill may take a request (the runtime group's
        ``language`` and ``enabled_skills``, set by the control plane); ``None``: all may."""
        self.memory_source: Callable[[SkillContext], list[dict[str, Any]]] | None = None
        """Gives each request its :attr:`SkillContext.memory` (set by the control plane)."""
        self.counts: Counter[str] = Counter()
        """``utterances``, ``answered``, ``unmatched`` and ``skill:<name>`` request counts."""
        for skill in skills:
            self.add(skill)

    @property
    def skills(self) -> list[HubSkill]:
        """The skills in the order they are tried."""
        return list(self._skills)

    def get(self, name: str) -> HubSkill | None:
        """The skill called ``name``."""
        return next((s for s in self._skills if s.name == name), None)

    def add(self, skill: HubSkill) -> HubSkill:
        """Register ``skill``, replacing one of the same name."""
        self.remove(skill.name)
        self._skills.append(skill)
        # Stable sort: equal priorities keep registration order.
        self._skills.sort(key=lambda s: -s.priority)
        return skill

    def remove(self, name: str) -> bool:
        """Unregister the skill called ``name``."""
        before = len(self._skills)
        self._skills = [s for s in self._skills if s.name != name]
        return len(self._skills) != before

    def select(self, ctx: SkillContext) -> HubSkill | None:
        """The first skill that matches the request."""
        for skill in self._skills:
            try:
                if self.gate is not None and not self.gate(skill, ctx):
                    continue
                if skill.matches(ctx):
                    return skill
            except Exception:
                logger.exception("matcher of skill %s raised; skipping it", skill.name)
        return None

    async def handle_utterance(self, ctx: SkillContext) -> None:
        """Answer one utterance: the matching skill's replies (or unmatched), then handled."""
        lock = self.sessions.slot(ctx.session_id)[1]
        async with lock:
            try:
                await self._answer(ctx)
            except DeliveryError:
                logger.debug("reply to %s not delivered: connection gone", ctx.peer)

    async def _answer(self, ctx: SkillContext) -> None:
        if self.memory_source is not None:
            ctx.memory = self.memory_source(ctx)
        skill = self.select(ctx)
        fallback = self.fallback
        if skill is None and fallback is not None:
            try:
                skill = fallback if fallback.matches(ctx) else None
            except Exception:
                logger.exception("matcher of the fallback skill %s raised", fallback.name)
        self.counts["utterances"] += 1
        self.counts["unmatched" if skill is None else "answered"] += 1
        if skill is not None:
            self.counts[f"skill:{skill.name}"] += 1
        if skill is None:
            ctx.pipeline_id = UNMATCHED_PIPELINE_ID
            await ctx.send(unmatched_message(ctx.reply_context(), ctx.utterance, ctx.lang))
            await ctx.send(handled_message(ctx.reply_context()))
            return
        ctx.skill, ctx.pipeline_id = skill.name, skill.pipeline_id
        with anyio.move_on_after(self.handler_timeout) as scope:
            try:
                await skill.handler(ctx)
            except DeliveryError:
                raise
            except Exception:
                logger.exception("skill %s failed on a request from %s", skill.name, ctx.peer)
        if scope.cancelled_caught:
            logger.warning("skill %s overran %.1f s; cut short", skill.name, self.handler_timeout)
        context = ctx.reply_context()
        session = context.get("session")
        if isinstance(session, dict):
            # Like OVOS: the skill that answered becomes active in the session, which the
            # client carries into the next turn of this conversation.
            session["active_skills"] = [[skill.name, time.time()]]
        await ctx.send(handled_message(context))

"""The skill and hook registration face of a responder: what :class:`~thalovant.hub.LocalHub`
offers to add, replace and remove skills and to answer bus messages or binary frames.

:class:`SkillHooks` works on the hub's :class:`~thalovant.hub.responder.skills.SkillRuntime`
and :class:`~thalovant.hub.responder.dispatch.Dispatcher`; ``LocalHub`` inherits it
(docs/protocol.md §3.3 for where the hooks run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from thalovant.hub.responder.dispatch import BinaryHandler, Dispatcher
from thalovant.hub.responder.skills import (
    DEFAULT_PIPELINE_ID,
    HubSkill,
    SkillHandler,
    SkillMatcher,
    SkillRuntime,
)

__all__ = ["SkillHooks"]


class SkillHooks:
    """Skill and hook registration on ``runtime`` and ``dispatcher`` (set by the subclass)."""

    runtime: SkillRuntime
    """The skill runtime (ordered skills and per-session state)."""
    dispatcher: Dispatcher
    """The dispatcher, which runs the bus and binary hooks."""

    def skill(
        self,
        name: str,
        *,
        match: str | re.Pattern[str] | SkillMatcher,
        pipeline_id: str = DEFAULT_PIPELINE_ID,
        priority: int = 0,
        examples: Iterable[str] = (),
        description: str = "",
    ) -> Callable[[SkillHandler], SkillHandler]:
        """Decorator registering ``async def handler(ctx: SkillContext)`` as a skill.

        Args:
            name: The skill's name; a skill of the same name is replaced.
            match: A regex searched case-insensitively in the utterance, a compiled
                pattern, or a function of the context.
            pipeline_id: The pipeline the answer names.
            priority: Higher is tried first.
            examples: Example utterances (the intent inventory shows them).
            description: What the skill does (the inventory shows it).

        Returns:
            The decorator; it registers the handler and returns it unchanged.
        """

        def register(handler: SkillHandler) -> SkillHandler:
            self.runtime.add(
                HubSkill(
                    name,
                    handler,
                    match=match,
                    pipeline_id=pipeline_id,
                    priority=priority,
                    examples=examples,
                    description=description,
                )
            )
            return handler

        return register

    def add_skill(self, skill: HubSkill) -> HubSkill:
        """Register a ready-made :class:`~thalovant.hub.HubSkill`.

        Args:
            skill: The skill; one of the same name is replaced.

        Returns:
            ``skill``.
        """
        return self.runtime.add(skill)

    def remove_skill(self, name: str) -> bool:
        """Unregister a skill by name.

        Args:
            name: The skill's name.

        Returns:
            Whether a skill of that name was registered.
        """
        return self.runtime.remove(name)

    def on_bus(self, msg_type: str) -> Callable[[SkillHandler], SkillHandler]:
        """Decorator: ``async def handler(ctx: SkillContext)`` answers bus messages of a type.

        The hook runs after the policy check and replaces the built-in handling.

        Args:
            msg_type: The bus message type (``recognizer_loop:utterance``, ...).

        Returns:
            The decorator; it registers the handler and returns it unchanged.
        """

        def register(handler: SkillHandler) -> SkillHandler:
            self.dispatcher.bus_hooks[msg_type] = handler
            return handler

        return register

    def on_binary(self, handler: BinaryHandler) -> BinaryHandler:
        """Register ``async def handler(session, frame: BinaryFrame)`` for ``bin`` frames.

        Args:
            handler: Called for every binary frame (docs/protocol.md §2.5), in order of
                registration.

        Returns:
            ``handler``.
        """
        self.dispatcher.binary_hooks.append(handler)
        return handler

"""Answers to the inventory queries: what skills and intents this hub has.

Each registered skill counts as one intent named ``<skill name>.intent``; its examples are
the phrases it was registered with. Request → response types (docs/protocol.md §3.4):

- ``ovos.intent.list`` → ``ovos.intent.list.response``
  ``{"lang", "skills": [names], "intents": [{"skill_id", "intent_name", "examples"}]}``
- ``ovos.intent.describe`` (``{"skill_id", "intent_name", "lang"}``) →
  ``ovos.intent.describe.response`` ``{"skill_id", "intent_name", "lang", "found",
  "examples", "description"}``
- ``ovos.skills.list`` → ``ovos.skills.list.response`` ``{"skills": [{"skill_id",
  "description"}]}``
- ``intent.service.adapt.manifest.get`` → ``intent.service.adapt.manifest`` ``{"intents": []}``
- ``intent.service.padatious.manifest.get`` → ``intent.service.padatious.manifest``
  ``{"intents": [intent names]}``
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from thalovant.events import (
    EVENT_INTENT_DESCRIBE,
    EVENT_INTENT_DESCRIBE_RESPONSE,
    EVENT_INTENT_LIST,
    EVENT_INTENT_LIST_RESPONSE,
    EVENT_SKILLS_LIST,
    EVENT_SKILLS_LIST_RESPONSE,
)
from thalovant.hub.responder.skills import HubSkill, SkillContext

__all__ = ["INVENTORY_TYPES", "answer_inventory", "intent_name"]

_ADAPT_GET = "intent.service.adapt.manifest.get"
_PADATIOUS_GET = "intent.service.padatious.manifest.get"

INVENTORY_TYPES: frozenset[str] = frozenset(
    {EVENT_INTENT_LIST, EVENT_INTENT_DESCRIBE, EVENT_SKILLS_LIST, _ADAPT_GET, _PADATIOUS_GET}
)
"""Bus types answered by :func:`answer_inventory`."""


def intent_name(skill: HubSkill) -> str:
    """The intent name a skill is listed under."""
    return f"{skill.name}.intent"


def _intent(skill: HubSkill) -> dict[str, Any]:
    return {
        "skill_id": skill.name,
        "intent_name": intent_name(skill),
        "examples": list(skill.examples),
    }


async def answer_inventory(ctx: SkillContext, skills: Sequence[HubSkill]) -> None:
    """Answer the inventory query in ``ctx`` (one of :data:`INVENTORY_TYPES`)."""
    kind = ctx.message_type
    if kind == EVENT_INTENT_LIST:
        await ctx.emit(
            EVENT_INTENT_LIST_RESPONSE,
            {
                "lang": ctx.lang,
                "skills": [skill.name for skill in skills],
                "intents": [_intent(skill) for skill in skills],
            },
        )
    elif kind == EVENT_INTENT_DESCRIBE:
        wanted_skill = ctx.data.get("skill_id")
        wanted_intent = ctx.data.get("intent_name")
        found = next(
            (
                s
                for s in skills
                if s.name == wanted_skill and wanted_intent in (intent_name(s), s.name, None)
            ),
            None,
        )
        data: dict[str, Any] = {
            "skill_id": wanted_skill,
            "intent_name": wanted_intent,
            "lang": ctx.lang,
            "found": found is not None,
        }
        if found is not None:
            data.update(examples=list(found.examples), description=found.description)
        await ctx.emit(EVENT_INTENT_DESCRIBE_RESPONSE, data)
    elif kind == EVENT_SKILLS_LIST:
        listed = [{"skill_id": s.name, "description": s.description} for s in skills]
        await ctx.emit(EVENT_SKILLS_LIST_RESPONSE, {"skills": listed})
    elif kind == _ADAPT_GET:
        await ctx.emit("intent.service.adapt.manifest", {"intents": []})
    elif kind == _PADATIOUS_GET:
        names = [intent_name(s) for s in skills]
        await ctx.emit("intent.service.padatious.manifest", {"intents": names})

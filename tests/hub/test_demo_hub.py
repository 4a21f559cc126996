"""The fallback skill and the status/workflow/carrier demo skills, over real WSS (raw client)."""

from __future__ import annotations

import pytest

from thalovant.hub import LocalHub, SkillContext
from thalovant.hub.responder.demo_hub import FALLBACK_SKILL, format_uptime

from .conftest import Clients, register
from .raw_client import RawClient, spoken

pytestmark = pytest.mark.anyio


def test_format_uptime() -> None:
    assert format_uptime(8.9) == "8 s"
    assert format_uptime(192) == "3 min 12 s"
    assert format_uptime(2 * 3600 + 5 * 60 + 7) == "2 h 5 min"


async def test_a_user_skill_wins_over_the_fallback(hub: LocalHub, alice: RawClient) -> None:
    @hub.skill("frobnicate", match=r"\bfrobnicate\b", priority=-100)
    async def frob(ctx: SkillContext) -> None:
        await ctx.speak("Frobnicated.")

    assert spoken(await alice.ask("frobnicate it")) == ["Frobnicated."]
    messages = await alice.ask("reticulate the splines")
    assert [m.type for m in messages] == ["speak", "ovos.utterance.handled"]
    assert messages[0].context["skill_id"] == FALLBACK_SKILL
    assert messages[0].data["meta"]["fallback"] is True
    assert messages[0].data["meta"]["heard"] == "reticulate the splines"


async def test_the_fallback_is_not_a_listed_skill(hub: LocalHub) -> None:
    # The intent inventory lists runtime.skills: the fallback is a slot of its own.
    names = [skill.name for skill in hub.runtime.skills]
    assert FALLBACK_SKILL not in names
    assert "thalovant-demo.status" in names
    assert hub.runtime.fallback is not None
    hub.fallback = False
    assert hub.runtime.fallback is None


async def test_fallback_without_skills_says_so(hub: LocalHub, clients: Clients) -> None:
    for skill in hub.runtime.skills:
        hub.remove_skill(skill.name)
    alice = await clients.connect(register(hub))
    (said,) = spoken(await alice.ask("anything at all"))
    assert said == (
        "I heard 'anything at all', but no skill here handles that. "
        "No skills are installed on this hub yet: add one with hub.skill(...)."
    )


async def test_a_long_utterance_is_cut_in_the_answer(alice: RawClient) -> None:
    (said,) = spoken(await alice.ask("blorp " * 100))
    heard = said.split("'")[1]
    assert len(heard) == 120
    assert heard.endswith("…")

"""Demo skills that show what the hub did with a request, and the hub's fallback skill.

- ``thalovant-demo.status`` ("say the current status"): the hub's name, its uptime, the
  clients connected right now, the caller's session id and carrier.
- ``thalovant-demo.next`` ("show the next instruction", "what should happen next?"): the next
  step of :data:`DEMO_WORKFLOW`, kept per session id (another session starts at step 1).
- ``thalovant-demo.carrier`` ("reply over wss." / https / mqtt): names the carrier the
  request came in on, which is the one the reply goes back over.
- :func:`fallback_skill`: answers what no skill matched, with what it heard and what to try
  (the hub's ``fallback`` switch turns it off, and the hub then sends
  ``ovos.intent.unmatched``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from thalovant.hub.responder.skills import UNMATCHED_PIPELINE_ID, HubSkill, SkillContext

__all__ = [
    "DEMO_WORKFLOW",
    "FALLBACK_SKILL",
    "fallback_skill",
    "format_uptime",
    "hub_skills",
    "suggestions_from",
]

DEMO_WORKFLOW: tuple[str, ...] = (
    "Say hello to the hub.",
    "Ask for a joke.",
    "Tell the hub your favourite colour.",
    "Ask which colour you mentioned.",
    "Ask for the current status.",
)
"""The steps ``thalovant-demo.next`` walks through, one per request, per session."""

FALLBACK_SKILL = "thalovant.fallback"
"""The name of the fallback skill (``skill_id`` of its replies)."""

_PREFIX = "thalovant-demo."
_STEP_KEY = "workflow_step"
_CARRIERS = {"wss": "wss", "ws": "wss", "websocket": "wss", "websockets": "wss"}
_CARRIERS |= {"https": "https", "http": "https", "mqtt": "mqtt", "mqtts": "mqtt"}
_HEARD_CHARS = 120


def format_uptime(seconds: float) -> str:
    """``"2 h 5 min"``, ``"3 min 12 s"`` or ``"8 s"``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


async def _status(ctx: SkillContext) -> None:
    over = f" over {ctx.carrier}" if ctx.carrier else ""
    you = f"Your session is {ctx.session_id}{over}."
    if ctx.hub is None:
        await ctx.speak(f"The hub is running. {you}", meta={"session_id": ctx.session_id})
        return
    clients = ctx.hub.clients()
    if clients:
        shown = ", ".join(clients[:10]) + (
            f" and {len(clients) - 10} more" if len(clients) > 10 else ""
        )
        connected = f"{len(clients)} client{'s' if len(clients) != 1 else ''} connected ({shown})"
    else:
        connected = "no clients connected"
    uptime = ctx.hub.uptime
    await ctx.speak(
        f"{ctx.hub.name} is up for {format_uptime(uptime)} with {connected}. {you}",
        meta={
            "hub": ctx.hub.name,
            "uptime_seconds": round(uptime, 3),
            "clients": clients,
            "session_id": ctx.session_id,
            "carrier": ctx.carrier,
        },
    )


async def _next(ctx: SkillContext) -> None:
    done = int(ctx.session_state.get(_STEP_KEY, 0))
    step = done % len(DEMO_WORKFLOW)
    ctx.session_state[_STEP_KEY] = done + 1
    total = len(DEMO_WORKFLOW)
    text = f"Step {step + 1} of {total}: {DEMO_WORKFLOW[step]}"
    if step + 1 == total:
        text += " That is the last step; asking again starts over."
    meta = {"workflow_step": step + 1, "workflow_steps": total, "session_id": ctx.session_id}
    await ctx.speak(text, meta=meta)


async def _carrier(ctx: SkillContext) -> None:
    assert ctx.match is not None
    asked = _CARRIERS.get(ctx.match.group(1).lower(), ctx.match.group(1).lower())
    came = ctx.carrier or "an unknown carrier"
    if asked == ctx.carrier:
        text = f"Replying over {came}: your request came in over {came}."
    else:
        text = (
            f"Your request came in over {came}, so this reply goes back over {came} "
            f"(you asked for {asked}; connect with protocol={asked!r} for that)."
        )
    await ctx.speak(text, meta={"carrier": ctx.carrier, "asked": asked})


def hub_skills() -> list[HubSkill]:
    """Fresh instances of the status, next-instruction and carrier demo skills."""
    carriers = "|".join(sorted(_CARRIERS, key=len, reverse=True))
    return [
        HubSkill(
            _PREFIX + "status",
            _status,
            match=r"\b(?:current|hub(?:'s)?) status\b"
            r"|^\s*(?:say |tell me |what(?:'s| is) )?(?:the )?status\b",
            examples=("say the current status",),
            description="the hub's name, uptime and clients, and your session",
        ),
        HubSkill(
            _PREFIX + "next",
            _next,
            match=r"\bnext (?:instruction|step)\b|\bwhat(?:'s| is| should (?:happen|i do)) next\b",
            examples=("show the next instruction", "what should happen next?"),
            description="the next step of a short demo workflow, per session",
        ),
        HubSkill(
            _PREFIX + "carrier",
            _carrier,
            match=rf"\b(?:reply|answer|respond) (?:over|via|on|through|with) ({carriers})\b",
            examples=("reply over wss", "reply over https", "reply over mqtt"),
            description="names the carrier the request came in on",
        ),
    ]


def suggestions_from(skills: Sequence[HubSkill]) -> list[str]:
    """One example utterance per skill, help, joke and time first (what to try)."""
    first = (".help", ".joke", ".time")

    def rank(skill: HubSkill) -> int:
        return next((i for i, end in enumerate(first) if skill.name.endswith(end)), len(first))

    return [skill.examples[0] for skill in sorted(skills, key=rank) if skill.examples]


def fallback_skill(suggestions: Callable[[], Sequence[str]] = tuple) -> HubSkill:
    """The fallback skill: says what it heard and what to try.

    Args:
        suggestions: Example utterances to offer (the first three), e.g.
            ``lambda: suggestions_from(runtime.skills)``.

    Returns:
        A skill that matches anything (the runtime asks it only when no skill matched).
    """

    async def answer(ctx: SkillContext) -> None:
        heard = ctx.utterance
        if len(heard) > _HEARD_CHARS:
            heard = heard[: _HEARD_CHARS - 1] + "…"
        tries = [s for s in dict.fromkeys(suggestions()) if s][:3]
        if tries:
            quoted = [f"'{s}'" for s in tries]
            offer = "Try " + (", ".join(quoted[:-1]) + " or " if len(quoted) > 1 else "")
            offer += quoted[-1] + "."
        else:
            offer = "No skills are installed on this hub yet: add one with hub.skill(...)."
        said = f"I heard '{heard}', but" if heard else "I heard nothing, and"
        await ctx.speak(
            f"{said} no skill here handles that. {offer}",
            meta={"fallback": True, "heard": ctx.utterance[:1000]},
        )

    return HubSkill(
        FALLBACK_SKILL,
        answer,
        match=re.compile(r"", re.DOTALL),
        pipeline_id=UNMATCHED_PIPELINE_ID,
        description="answers what no skill matched: what it heard, and what to try",
    )

"""The demo skills: enough to run every documented example offline.

English only, matched case-insensitively. Names are ``thalovant-demo.<what>``:

========  ==============================================  ===================================
skill     try                                             answer
========  ==============================================  ===================================
joke      "tell me a joke"                                a short clean joke
hello     "hello", "hi"                                   a greeting
time      "what time is it"                               the hub's local time
help      "what can this hub do?", "help"                 a list of things to try
colour    "(remember that) my favorite color is blue" /   remembered per session id (either
          "what is my favourite colour",                  spelling, favorite/favourite and
          "what color did I mention / say / tell you"     color/colour); another session:
                                                          "I don't know yet"
remember  "remember that the door code is 42" /           notes kept per session id
          "what did I ask you to remember"
choices   "show me choices", "choose a drink"             speech + ``rich_media`` choices
action    ``send_action(payload, title=...)``             "You chose <title or payload>"
code      ``send_code(value, kind=..., label=...)``       "Got <kind> <label>: <value>"
story     "tell me a story"                               three ``speak`` events, 50 ms apart
quiet     "be quiet"                                      handled, no speech
status    "say the current status"                        hub name, uptime, clients, session
next      "show the next instruction",                    the next step of a short demo
          "what should happen next?"                      workflow, kept per session id
carrier   "reply over wss." (https, mqtt)                 the carrier the request came in on
========  ==============================================  ===================================

The last three live in :mod:`thalovant.hub.responder.demo_hub`. Anything else goes to the
hub's fallback skill (:func:`~thalovant.hub.responder.demo_hub.fallback_skill`), or gets
``ovos.intent.unmatched`` when the fallback is off.
"""

from __future__ import annotations

import datetime
import random
import re
from typing import Any

import anyio

from thalovant.hub.responder.demo_hub import hub_skills
from thalovant.hub.responder.skills import HubSkill, SkillContext

__all__ = ["DEMO_CHOICES", "DEMO_JOKES", "demo_skills"]

DEMO_JOKES: tuple[str, ...] = (
    "Why did the scarecrow win an award? Because he was outstanding in his field.",
    "What do you call a bear with no teeth? A gummy bear.",
    "Why don't eggs tell jokes? They would crack each other up.",
)
"""The joke skill picks one of these."""

DEMO_CHOICES: tuple[dict[str, str], ...] = (
    {"title": "Coffee", "payload": '/choose{"id":"42"}'},
    {"title": "Tea", "payload": '/choose{"id":"43"}'},
    {"title": "Water", "payload": '/choose{"id":"44"}'},
)
"""What the choices skill offers; each payload comes back through ``send_action``."""

_COLOUR_KEY = "favourite_colour"
_NOTES_KEY = "notes"
_MAX_NOTES = 20
_COLOUR = r"favou?rite colou?r"
_COLOUR_NOTE = "your favourite colour is "
_PREFIX = "thalovant-demo."


def _is_action(ctx: SkillContext) -> bool:
    given = ctx.input
    return given is not None and given.get("kind") == "action"


def _is_exact_code(ctx: SkillContext) -> bool:
    given = ctx.input
    return given is not None and given.get("kind") != "action" and given.get("exact") is True


async def _action(ctx: SkillContext) -> None:
    given = ctx.input or {}
    title, payload = given.get("title"), given.get("payload")
    if not title:
        title = next((c["title"] for c in DEMO_CHOICES if c["payload"] == payload), None)
    chosen = title or payload or ctx.utterance
    await ctx.speak(f"You chose {chosen}.", meta={"input": "action"})


async def _code(ctx: SkillContext) -> None:
    given = ctx.input or {}
    kind = given.get("kind") or "code"
    label = given.get("label")
    value = given.get("value", ctx.utterance)
    named = f"{kind} {label}" if label else str(kind)
    await ctx.speak(f"Got {named}: {value}", meta={"input": "code", "kind": kind})


async def _joke(ctx: SkillContext) -> None:
    await ctx.speak(random.choice(DEMO_JOKES))


async def _hello(ctx: SkillContext) -> None:
    await ctx.speak("Hello! I am your local Thalovant hub.")


async def _time(ctx: SkillContext) -> None:
    now = datetime.datetime.now()
    await ctx.speak(f"It is {now:%H:%M}.", meta={"time": now.isoformat(timespec="seconds")})


async def _help(ctx: SkillContext) -> None:
    await ctx.speak(
        "I can tell a joke, say hello, tell the time, remember your favourite colour "
        "(and anything after 'remember that'), show choices, echo codes and scans, tell a "
        "short story, say the current status, show the next instruction of a demo "
        "workflow, and tell which carrier your request came in on."
    )


def _note(ctx: SkillContext, text: str) -> list[str]:
    notes: list[str] = ctx.session_state.setdefault(_NOTES_KEY, [])
    if text not in notes:
        notes.append(text)
        del notes[:-_MAX_NOTES]  # bounded: the oldest notes go first
    return notes


async def _remember_colour(ctx: SkillContext) -> None:
    assert ctx.match is not None
    colour = ctx.match.group(1).strip()
    ctx.session_state[_COLOUR_KEY] = colour
    notes: list[str] = ctx.session_state.setdefault(_NOTES_KEY, [])
    notes[:] = [note for note in notes if not note.startswith(_COLOUR_NOTE)]
    _note(ctx, f"{_COLOUR_NOTE}{colour}")
    await ctx.speak(
        f"Got it: your favourite colour is {colour}.",
        meta={"remembered": {"favourite_colour": colour}, "session_id": ctx.session_id},
    )


async def _recall_colour(ctx: SkillContext) -> None:
    colour = ctx.session_state.get(_COLOUR_KEY)
    meta = {"favourite_colour": colour, "session_id": ctx.session_id}
    if colour is None:
        await ctx.speak("I don't know yet. Tell me: my favourite colour is ...", meta=meta)
    elif re.search(r"\bdid i\b", ctx.utterance, re.IGNORECASE):
        await ctx.speak(f"You mentioned {colour}: your favourite colour is {colour}.", meta=meta)
    else:
        await ctx.speak(f"Your favourite colour is {colour}.", meta=meta)


async def _remember(ctx: SkillContext) -> None:
    assert ctx.match is not None
    text = ctx.match.group(1).strip()
    notes = _note(ctx, text)
    await ctx.speak(
        f"I'll remember that {text}. That makes {len(notes)} note(s) in this session.",
        meta={"remembered": text, "notes": len(notes)},
    )


async def _recall(ctx: SkillContext) -> None:
    notes: list[str] = ctx.session_state.get(_NOTES_KEY) or []
    if not notes:
        await ctx.speak("Nothing yet. Tell me: remember that ...")
    else:
        await ctx.speak("You asked me to remember: " + "; ".join(notes) + ".")


async def _choices(ctx: SkillContext) -> None:
    media: dict[str, Any] = {
        "kind": "choices",
        "title": "Choose a drink",
        "choices": [dict(choice) for choice in DEMO_CHOICES],
    }
    await ctx.speak("Which drink would you like? Coffee, tea or water?", rich_media=media)


async def _story(ctx: SkillContext) -> None:
    sentences = (
        "Once upon a time, a small hub lived on loopback.",
        "Every day it answered questions, one frame at a time.",
        "And it never dropped a single reply. The end.",
    )
    for index, sentence in enumerate(sentences):
        if index:
            await anyio.sleep(0.05)  # a slow skill: clients must not cut the reply short
        await ctx.speak(sentence)


async def _quiet(ctx: SkillContext) -> None:
    return None  # handled, without a word


def demo_skills() -> list[HubSkill]:
    """Fresh instances of every demo skill, in matching order."""

    def skill(name: str, handler: Any, match: Any, *examples: str, **kw: Any) -> HubSkill:
        return HubSkill(_PREFIX + name, handler, match=match, examples=examples, **kw)

    return [
        skill("action", _action, _is_action, priority=20, description="send_action replies"),
        skill("code", _code, _is_exact_code, priority=20, description="send_code echo"),
        skill(
            "colour.remember",
            _remember_colour,
            rf"\bmy {_COLOUR} is ([\w][\w '-]*?)[\s.!]*$",
            "my favourite colour is blue",
            "remember that my favorite color is blue",
        ),
        skill(
            "colour.recall",
            _recall_colour,
            rf"\bwhat(?:'s| is| was) my {_COLOUR}\b"
            r"|\b(?:what|which) colou?r did i (?:mention|say|tell you|give you|pick)\b"
            rf"|\bdo you (?:know|remember) my {_COLOUR}\b",
            "what is my favourite colour",
            "what color did I mention",
        ),
        skill(
            "remember",
            _remember,
            r"^\s*(?:please\s+)?remember (?:that )?(.*?\w.*?)[\s.!]*$",
            "remember that the door code is 42",
        ),
        skill(
            "recall",
            _recall,
            r"\bwhat (?:did i (?:ask|tell) you to remember|do you remember)\b",
            "what did I ask you to remember",
        ),
        skill(
            "choices",
            _choices,
            r"\bshow me (?:some |the )?choices\b|\bchoose a drink\b",
            "show me choices",
            "choose a drink",
        ),
        skill("story", _story, r"\btell me a story\b", "tell me a story"),
        skill("quiet", _quiet, r"\bbe quiet\b|\bsay nothing\b", "be quiet"),
        skill("joke", _joke, r"\bjokes?\b", "tell me a joke"),
        skill("time", _time, r"\bwhat time is it\b|\bwhat(?:'s| is) the time\b", "what time is it"),
        skill(
            "help",
            _help,
            r"\bwhat can (?:this hub|you|i) (?:do|ask|say)\b|^\s*help\b",
            "what can this hub do",
            "help",
        ),
        *hub_skills(),
        skill("hello", _hello, r"\b(?:hello|hi|hey)\b", "hello", "hi"),
    ]

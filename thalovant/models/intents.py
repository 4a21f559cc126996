"""The intent inventory a hub reports: registrations, definitions, and the per-skill view
``intents()`` builds from them (docs/protocol.md §4; the queries are in
:mod:`thalovant.client.intents`).

``IntentRegistration.from_mapping``/``IntentDefinition.from_mapping`` read what OVOS-style
hubs answer and tolerate the usual spellings (``intent_name``/``name``, ``method``/``engine``,
``samples``/``examples``/``utterances``); an entry without a skill id or an intent name is
skipped (``None``), never a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from thalovant.models.inventory import Intent, Inventory, Skill
from thalovant.models.listing import (
    as_sentence,
    common_affix,
    friendly_title,
    primary_language,
    speakable,
    strip_affix,
)

__all__ = [
    "HubFallback",
    "HubIntent",
    "HubIntentInventory",
    "HubSkillIntents",
    "IntentDefinition",
    "IntentRegistration",
]

#: Bounds on what one answer may put into the inventory.
MAX_PHRASES = 256
MAX_TEXT = 512


def _text(value: Any) -> str:
    return value.strip()[:MAX_TEXT] if isinstance(value, str) else ""


def _first(raw: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        text = _text(raw.get(key))
        if text:
            return text
    return ""


def _phrases(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, (list, tuple)):
        return ()
    out: list[str] = []
    for item in raw[:MAX_PHRASES]:
        text = _text(item)
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _samples(raw: Mapping[str, Any]) -> tuple[str, ...]:
    for key in ("samples", "examples", "utterances", "phrases"):
        found = _phrases(raw.get(key))
        if found:
            return found
    return ()


def _match(phrases: Mapping[str, tuple[str, ...]], lang: str | None) -> tuple[str, ...]:
    if not phrases:
        return ()
    if lang is None:
        return next(iter(phrases.values()))
    wanted = lang.lower()
    for key, values in phrases.items():
        if key.lower() == wanted:
            return values
    base = primary_language(wanted)
    for key, values in phrases.items():
        if primary_language(key) == base:
            return values
    return ()


@dataclass(frozen=True)
class IntentDefinition:
    """One intent's definition in one language (``ovos.intent.describe``)."""

    skill_id: str
    intent_name: str
    lang: str
    method: str
    samples: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def engine(self) -> str:
        """The intent engine (``method``)."""
        return self.method

    @classmethod
    def from_mapping(cls, item: Mapping[str, Any]) -> IntentDefinition | None:
        """Read one definition a hub sent.

        Args:
            item: The mapping.

        Returns:
            The definition, or None when it names no skill or intent.
        """
        if not isinstance(cast(Any, item), Mapping):
            return None
        skill, name = _first(item, "skill_id", "skill"), _first(item, "intent_name", "name")
        if not skill or not name:
            return None
        return cls(
            skill_id=skill,
            intent_name=name,
            lang=_first(item, "lang") or "",
            method=_first(item, "method", "engine"),
            samples=_samples(item),
            raw=dict(item),
        )


@dataclass(frozen=True)
class IntentRegistration:
    """One registered intent (``ovos.intent.list``)."""

    skill_id: str
    intent_name: str
    lang: str
    method: str
    enabled: bool = True
    session_id: str = "default"
    definition: dict[str, Any] | None = None

    @property
    def engine(self) -> str:
        """The intent engine (``method``)."""
        return self.method

    @property
    def samples(self) -> tuple[str, ...]:
        """Example phrases from the registration or its definition."""
        return _samples(self.definition) if self.definition else ()

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> IntentRegistration | None:
        """Read one registration a hub sent.

        Args:
            raw: The mapping.

        Returns:
            The registration, or None when it names no skill or intent.
        """
        if not isinstance(cast(Any, raw), Mapping):
            return None
        skill, name = _first(raw, "skill_id", "skill"), _first(raw, "intent_name", "name")
        if not skill or not name:
            return None
        definition = raw.get("definition")
        if not isinstance(definition, Mapping):
            samples = _samples(raw)
            definition = {"samples": list(samples)} if samples else None
        return cls(
            skill_id=skill,
            intent_name=name,
            lang=_first(raw, "lang"),
            method=_first(raw, "method", "engine"),
            enabled=raw.get("enabled", True) is not False,
            session_id=_first(raw, "session_id") or "default",
            definition=dict(definition) if definition is not None else None,
        )


@dataclass(frozen=True)
class HubIntent:
    """One intent of a skill with its phrases per language."""

    skill_id: str
    name: str
    engine: str
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    enabled: bool = True

    @property
    def id(self) -> str:
        """``<skill_id>:<name>``."""
        return f"{self.skill_id}:{self.name}"

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with phrases, sorted."""
        return tuple(sorted(lang for lang, values in self.phrases.items() if values))

    def phrases_for(self, lang: str) -> tuple[str, ...]:
        """The phrases in ``lang``, else in a language with the same primary subtag.

        Args:
            lang: A language tag (``en-us``).

        Returns:
            The phrases, possibly none.
        """
        return _match(self.phrases, lang)

    def examples(
        self,
        lang: str | None = None,
        limit: int = 2,
        *,
        speakable: bool = False,
        slots: Mapping[str, str] | None = None,
        sentence: bool = False,
    ) -> tuple[str, ...]:
        """Up to ``limit`` example phrases.

        Args:
            lang: The language (default: the first one with phrases).
            limit: At most this many.
            speakable: Render patterns as speakable text (:func:`~thalovant.speakable`).
            slots: Values for ``{slot}`` placeholders.
            sentence: Capitalise and punctuate (:func:`~thalovant.as_sentence`).

        Returns:
            The examples, without duplicates.
        """
        out: list[str] = []
        for phrase in _match(self.phrases, lang):
            text = _speakable(phrase, slots, lang) if speakable else phrase
            text = as_sentence(text, lang) if sentence else text
            if text and text not in out:
                out.append(text)
            if len(out) >= max(0, limit):
                break
        return tuple(out)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            Every field, plus ``id``.
        """
        return {
            "id": self.id,
            "skill_id": self.skill_id,
            "name": self.name,
            "engine": self.engine,
            "enabled": self.enabled,
            "phrases": {lang: list(values) for lang, values in self.phrases.items()},
        }


_speakable = speakable


@dataclass(frozen=True)
class HubSkillIntents:
    """The intents of one skill."""

    skill_id: str
    intents: tuple[HubIntent, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages any of its intents has phrases in, sorted."""
        return tuple(sorted({lang for intent in self.intents for lang in intent.languages}))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            ``skill_id``, ``languages`` and ``intents``.
        """
        return {
            "skill_id": self.skill_id,
            "languages": list(self.languages),
            "intents": [intent.as_dict() for intent in self.intents],
        }


@dataclass(frozen=True)
class HubFallback:
    """A fallback skill the hub reported (it answers what no intent matched)."""

    skill_id: str
    priority: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            ``skill_id`` and ``priority``.
        """
        return {"skill_id": self.skill_id, "priority": self.priority}


@dataclass(frozen=True)
class HubIntentInventory:
    """What a hub can answer: its skills' intents in the languages asked for.

    Attributes:
        languages: The languages asked for.
        skills: The skills, each with its intents.
        source: ``intent-manifest`` (``ovos.intent.list``) or ``engine-manifests`` (the
            adapt/padatious manifests, names only).
        listed_in: Languages the hub answered for.
        denied: Query types the hub refused (``hive.policy.denied``).
        fallbacks: Fallback skills, when the hub reported them.
        fallbacks_known: Whether the hub said which fallbacks it has.
    """

    languages: tuple[str, ...]
    skills: tuple[HubSkillIntents, ...]
    source: str = "intent-manifest"
    listed_in: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()
    fallbacks: tuple[HubFallback, ...] = ()
    fallbacks_known: bool = False

    @property
    def intents(self) -> tuple[HubIntent, ...]:
        """Every intent of every skill."""
        return tuple(intent for skill in self.skills for intent in skill.intents)

    @property
    def has_phrases(self) -> bool:
        """True when at least one intent has example phrases."""
        return any(intent.languages for intent in self.intents)

    def may_answer(self, lang: str) -> bool:
        """Whether the hub may answer in ``lang``: it listed intents for that language
        (same primary subtag counts), or it has a fallback skill.

        Args:
            lang: A language tag.

        Returns:
            The judgement.
        """
        base = primary_language(lang)
        if any(primary_language(listed) == base for listed in self.listed_in) and self.intents:
            return True
        return bool(self.fallbacks)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            Every field.
        """
        return {
            "languages": list(self.languages),
            "source": self.source,
            "listed_in": list(self.listed_in),
            "denied": list(self.denied),
            "fallbacks_known": self.fallbacks_known,
            "fallbacks": [fallback.as_dict() for fallback in self.fallbacks],
            "skills": [skill.as_dict() for skill in self.skills],
        }

    def listing(
        self, hub_id: str, hub_name: str, generated_at: str, *, include_disabled: bool = False
    ) -> Inventory:
        """The listing view (:class:`~thalovant.models.listing.Inventory`, ``source="live"``):
        skills under friendly titles (a prefix all skill ids share is left out of them).

        Args:
            hub_id: The hub's id.
            hub_name: A name to show.
            generated_at: When the hub answered (ISO 8601).
            include_disabled: Keep disabled intents.

        Returns:
            The inventory; ``notes`` say where it came from and what was refused.
        """
        kind, token = common_affix([skill.skill_id for skill in self.skills])
        skills = tuple(
            Skill(
                skill.skill_id,
                friendly_title(strip_affix(skill.skill_id, kind, token)),
                skill.languages,
                tuple(
                    Intent(i.id, i.name, i.skill_id, i.engine, dict(i.phrases))
                    for i in skill.intents
                    if i.enabled or include_disabled
                ),
            )
            for skill in self.skills
        )
        notes = [f"listed from {self.source}"]
        notes += [f"the hub refused {denied}" for denied in self.denied]
        return Inventory(hub_id, hub_name, "live", generated_at, skills, tuple(notes))

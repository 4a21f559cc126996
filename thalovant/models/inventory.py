"""The listing view of a hub's intent inventory: :class:`Inventory` of :class:`Skill` of
:class:`Intent`, with friendly titles and phrases per language (what ``thalovant intents``
prints and :class:`~thalovant.models.listing_cache.InventoryCache` keeps), and
:func:`languages_present`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from thalovant.models.listing import friendly_title, primary_language

__all__ = ["Intent", "Inventory", "Skill", "languages_present"]


@dataclass(frozen=True)
class Intent:
    """One intent in the listing view."""

    id: str
    name: str
    skill_id: str
    engine: str
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def examples(self, language: str | None, limit: int) -> tuple[str, ...]:
        """Up to ``limit`` phrases in ``language`` (same primary subtag counts; None: any).

        Args:
            language: A language tag, or None.
            limit: At most this many.

        Returns:
            The phrases.
        """
        if language is None:
            found = next((v for v in self.phrases.values() if v), ())
        else:
            found = self.phrases.get(language.lower(), ())
            if not found:
                base = primary_language(language)
                found = next(
                    (v for k, v in self.phrases.items() if primary_language(k) == base and v), ()
                )
        return tuple(found[: max(0, limit)])


@dataclass(frozen=True)
class Skill:
    """One skill in the listing view."""

    id: str
    title: str
    locales: tuple[str, ...]
    intents: tuple[Intent, ...]

    @property
    def declares_locales(self) -> bool:
        """Whether the hub said which languages the skill speaks."""
        return bool(self.locales)

    def speaks(self, language: str) -> bool | None:
        """Whether the skill speaks ``language`` (None: unknown, nothing declared).

        Args:
            language: A language tag.

        Returns:
            The answer.
        """
        base = primary_language(language)
        known = set(self.locales) | {k for i in self.intents for k, v in i.phrases.items() if v}
        if not known:
            return None
        return any(primary_language(locale) == base for locale in known)


def _intent_from(raw: Any, skill_id: str) -> Intent | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        return None
    phrases_raw = raw.get("phrases")
    phrases: dict[str, tuple[str, ...]] = {}
    if isinstance(phrases_raw, Mapping):
        for lang, values in phrases_raw.items():
            if isinstance(lang, str) and isinstance(values, (list, tuple)):
                phrases[lang] = tuple(str(v) for v in values if isinstance(v, str))
    name = raw["name"]
    return Intent(
        id=str(raw.get("id") or f"{skill_id}:{name}"),
        name=name,
        skill_id=skill_id,
        engine=str(raw.get("engine") or ""),
        phrases=phrases,
    )


@dataclass(frozen=True)
class Inventory:
    """The listing view of a hub's skills and intents (what ``thalovant intents`` prints).

    Attributes:
        hub_id: The hub's id (the node id, or its URL).
        hub_name: A name to show.
        source: ``live`` (asked just now), or what it was read from (``cache``).
        generated_at: When it was built (ISO 8601, UTC).
        skills: The skills.
        notes: Remarks (a denied query, a fallback used).
    """

    hub_id: str
    hub_name: str
    source: str
    generated_at: str
    skills: tuple[Skill, ...]
    notes: tuple[str, ...] = ()

    @property
    def intents(self) -> tuple[Intent, ...]:
        """Every intent of every skill."""
        return tuple(i for s in self.skills for i in s.intents)

    @property
    def has_phrases(self) -> bool:
        """True when some intent has phrases."""
        return any(v for i in self.intents for v in i.phrases.values())

    @property
    def live(self) -> bool:
        """True when asked from the hub just now (not read from a cache)."""
        return self.source == "live"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict that :meth:`from_dict` reads back.

        Returns:
            Every field.
        """
        return {
            "hub_id": self.hub_id,
            "hub_name": self.hub_name,
            "source": self.source,
            "generated_at": self.generated_at,
            "notes": list(self.notes),
            "skills": [
                {
                    "id": s.id,
                    "title": s.title,
                    "locales": list(s.locales),
                    "intents": [
                        {
                            "id": i.id,
                            "name": i.name,
                            "engine": i.engine,
                            "phrases": {k: list(v) for k, v in i.phrases.items()},
                        }
                        for i in s.intents
                    ],
                }
                for s in self.skills
            ],
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Inventory:
        """Read :meth:`as_dict`'s output back; unknown or malformed entries are skipped.

        Args:
            raw: The mapping.

        Returns:
            The inventory.
        """
        data = raw if isinstance(raw, Mapping) else {}
        skills: list[Skill] = []
        for item in data.get("skills") or ():
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            sid = item["id"]
            intents = tuple(
                i for i in (_intent_from(x, sid) for x in item.get("intents") or ()) if i
            )
            locales = tuple(str(x) for x in item.get("locales") or () if isinstance(x, str))
            title = item.get("title")
            skills.append(
                Skill(
                    sid, title if isinstance(title, str) else friendly_title(sid), locales, intents
                )
            )
        notes = tuple(str(n) for n in data.get("notes") or () if isinstance(n, str))
        return cls(
            hub_id=str(data.get("hub_id") or ""),
            hub_name=str(data.get("hub_name") or ""),
            source=str(data.get("source") or ""),
            generated_at=str(data.get("generated_at") or ""),
            skills=tuple(skills),
            notes=notes,
        )


def languages_present(inventory: Inventory) -> tuple[str, ...]:
    """The languages an inventory has phrases or declared locales in.

    Args:
        inventory: The inventory.

    Returns:
        Sorted, lowercase, without duplicates.
    """
    found = {locale.lower() for skill in inventory.skills for locale in skill.locales}
    found |= {lang.lower() for i in inventory.intents for lang, v in i.phrases.items() if v}
    return tuple(sorted(found))

"""Listing helpers: turn a hub's intent inventory into text people read or say.

Pure functions over strings (no I/O): :func:`speakable` renders an intent pattern
(``(what is|tell me) the weather in {city}``) as a phrase one could say, :func:`as_sentence`
punctuates it, :func:`humanize`/:func:`friendly_title` name intents and skills,
:func:`common_affix`/:func:`strip_affix` drop a shared ``Intent``/``skill_`` decoration,
:func:`sort_key` orders names naturally (``intent2`` before ``intent10``). :class:`Inventory`
is the listing view (skills with titles, intents with phrases); the on-disk cache of it is
:class:`~thalovant.models.listing_cache.InventoryCache`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Intent",
    "Inventory",
    "Skill",
    "as_sentence",
    "common_affix",
    "friendly_title",
    "humanize",
    "languages_present",
    "primary_language",
    "sort_key",
    "speakable",
    "strip_affix",
]

_MAX_PATTERN = 2048
_ALTERNATIVES = re.compile(r"\(([^()]*)\)")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{\s*([^{}]*?)\s*\}")
_SPACES = re.compile(r"\s+")
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[\s._\-:/]+")
_FILE_SUFFIXES = (".intent", ".voc", ".entity", ".dialog", ".rx", ".json")
_SKILL_PREFIXES = ("ovos-skill-", "neon-skill-", "mycroft-skill-", "skill-", "skill_")
_SKILL_SUFFIXES = ("-skill", "_skill", "skill")
_DEFAULT_SLOTS = {
    "location": "Paris",
    "city": "Paris",
    "place": "Paris",
    "country": "France",
    "name": "Alex",
    "person": "Alex",
    "time": "noon",
    "date": "tomorrow",
    "day": "Monday",
    "number": "five",
    "amount": "five",
    "duration": "five minutes",
    "query": "the moon",
    "topic": "the moon",
}
_QUESTION_WORDS = {
    "en": (
        "what",
        "who",
        "where",
        "when",
        "why",
        "how",
        "which",
        "is",
        "are",
        "can",
        "could",
        "do",
        "does",
        "did",
        "will",
        "would",
        "should",
        "shall",
        "may",
        "am",
        "whats",
        "what's",
        "tell me whether",
    ),
    "de": (
        "was",
        "wer",
        "wo",
        "wann",
        "warum",
        "wie",
        "welche",
        "welcher",
        "ist",
        "sind",
        "kannst",
        "hast",
    ),
    "fr": ("que", "qui", "où", "quand", "pourquoi", "comment", "quel", "quelle", "est-ce"),
    "es": ("qué", "que", "quién", "dónde", "cuándo", "por qué", "cómo", "cuál"),
    "pt": ("o que", "quem", "onde", "quando", "por que", "como", "qual"),
    "it": ("che", "chi", "dove", "quando", "perché", "come", "quale"),
    "nl": ("wat", "wie", "waar", "wanneer", "waarom", "hoe", "welke", "is"),
}


def primary_language(lang: str | None) -> str:
    """The primary subtag of a language tag, lowercase (``en-US`` → ``en``).

    Args:
        lang: A language tag, or None.

    Returns:
        The subtag (empty for None).
    """
    return (lang or "").strip().lower().replace("_", "-").split("-", 1)[0]


def speakable(pattern: str, slots: Mapping[str, str] | None = None, lang: str | None = None) -> str:
    """An intent pattern as a phrase one could say.

    ``(a|b)`` keeps its first alternative, ``[x]`` keeps ``x`` (its first alternative),
    ``{slot}`` becomes ``slots[slot]`` (else a plain sample value, else the slot's name in
    words); whitespace is collapsed.

    Args:
        pattern: A Padatious/Adapt-style pattern or a plain phrase.
        slots: Values for the placeholders.
        lang: The pattern's language (sample values are English).

    Returns:
        The phrase.
    """
    text = str(pattern)[:_MAX_PATTERN]
    given = {k.strip().lower(): v for k, v in (slots or {}).items()}
    english = primary_language(lang) in ("", "en")

    def slot(match: re.Match[str]) -> str:
        name = match.group(1).strip().lower()
        if name in given:
            return str(given[name])
        if english and name in _DEFAULT_SLOTS:
            return _DEFAULT_SLOTS[name]
        return humanize(name)

    for _ in range(64):  # bounded: each pass removes one bracket level
        before = text
        text = _ALTERNATIVES.sub(lambda m: m.group(1).split("|")[0], text)
        text = _OPTIONAL.sub(lambda m: m.group(1).split("|")[0], text)
        if text == before:
            break
    text = _SLOT.sub(slot, text)
    text = text.replace("|", " ").replace("(", " ").replace(")", " ")
    text = text.replace("[", " ").replace("]", " ")
    return _SPACES.sub(" ", text).strip()


def as_sentence(text: str, lang: str | None = None) -> str:
    """Capitalise ``text`` and end it with ``?`` (a question in ``lang``) or ``.``.

    Args:
        text: A phrase.
        lang: Its language (picks the question words; default English).

    Returns:
        The sentence; empty for blank text. Existing end punctuation is kept.
    """
    phrase = _SPACES.sub(" ", str(text)).strip()
    if not phrase:
        return ""
    phrase = phrase[0].upper() + phrase[1:]
    if phrase[-1] in ".?!…":
        return phrase
    words = _QUESTION_WORDS.get(primary_language(lang) or "en", _QUESTION_WORDS["en"])
    folded = phrase.casefold()
    question = any(folded == w or folded.startswith(w + " ") for w in words)
    return phrase + ("?" if question else ".")


def humanize(name: str) -> str:
    """An identifier in words: ``WeatherForecast.intent`` → ``weather forecast``.

    Args:
        name: An intent or slot name (camelCase, snake_case, dotted, dashed).

    Returns:
        Lowercase words separated by single spaces.
    """
    text = str(name).strip()
    folded = text.lower()
    for suffix in _FILE_SUFFIXES:
        if folded.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    words = [w for w in _WORD_BREAK.split(text) if w]
    return " ".join(w.lower() for w in words)


def friendly_title(skill_id: str) -> str:
    """A skill id as a title: ``ovos-skill-date-time.openvoiceos`` → ``Date Time``.

    Args:
        skill_id: The skill id (``<name>.<author>`` or a bare name).

    Returns:
        The title (the id itself when nothing is left after the decorations).
    """
    raw = str(skill_id).strip()
    name = raw.split(".", 1)[0] if "." in raw.strip(".") else raw
    folded = name.lower()
    for prefix in _SKILL_PREFIXES:
        if folded.startswith(prefix) and len(name) > len(prefix):
            name, folded = name[len(prefix) :], folded[len(prefix) :]
            break
    for suffix in _SKILL_SUFFIXES:
        if folded.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    words = [w for w in _WORD_BREAK.split(name) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words) or raw


def _tokens(name: str) -> list[str]:
    """``name`` cut at word boundaries, separators kept on the following token."""
    cuts = [0]
    for match in _WORD_BREAK.finditer(name):
        if match.start() > 0:
            cuts.append(match.start())
    cuts.append(len(name))
    return [name[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def common_affix(names: list[str]) -> tuple[str | None, str]:
    """The words every name ends (or starts) with, e.g. ``Intent`` in ``WeatherIntent`` and
    ``TimeIntent``, or ``thalovant-demo.`` in ``thalovant-demo.hello`` and ``thalovant-demo.time``.

    Args:
        names: Two or more names.

    Returns:
        ``("suffix", token)``, ``("prefix", token)`` or ``(None, "")``; a prefix token includes
        the separator after it, so :func:`strip_affix` leaves clean names. A suffix wins.
    """
    names = [str(n) for n in names if str(n)]
    if len(names) < 2:
        return None, ""
    split = [_tokens(n) for n in names]
    shortest = min(len(t) for t in split)
    k = 0
    while k < shortest - 1 and len({t[-1 - k] for t in split}) == 1:
        k += 1
    if k:
        return "suffix", "".join(split[0][-k:])
    k = 0
    while k < shortest - 1 and len({t[k] for t in split}) == 1:
        k += 1
    if not k:
        return None, ""
    token = "".join(split[0][:k])
    seps = {t[k][0] for t in split if not t[k][0].isalnum()}
    if len(seps) == 1:
        token += seps.pop()
    return "prefix", token


def strip_affix(name: str, kind: str | None, token: str) -> str:
    """Remove the affix :func:`common_affix` found from ``name``.

    Args:
        name: A name.
        kind: ``"prefix"``, ``"suffix"`` or None.
        token: The affix.

    Returns:
        ``name`` without it (unchanged when it would be left empty or does not carry it).
    """
    if not token or kind not in ("prefix", "suffix"):
        return name
    if kind == "prefix" and name.startswith(token) and len(name) > len(token):
        return name[len(token) :].lstrip("._-:/ ")
    if kind == "suffix" and name.endswith(token) and len(name) > len(token):
        return name[: -len(token)].rstrip("._-:/ ")
    return name


def sort_key(name: str) -> list[int | str]:
    """A natural sort key: case-folded text, digit runs as numbers (``a2`` < ``a10``).

    Args:
        name: A name.

    Returns:
        The key; keys of any two names compare without TypeError.
    """
    parts = re.split(r"(\d+)", str(name).casefold())
    return [int(part) if i % 2 else part for i, part in enumerate(parts)]


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

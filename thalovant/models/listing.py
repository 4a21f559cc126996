"""Listing helpers: turn a hub's intent inventory into text people read or say.

Pure functions over strings (no I/O): :func:`speakable` renders an intent pattern
(``(what is|tell me) the weather in {city}``) as a phrase one could say, :func:`as_sentence`
punctuates it, :func:`humanize`/:func:`friendly_title` name intents and skills,
:func:`common_affix`/:func:`strip_affix` drop a shared ``Intent``/``skill_`` decoration,
:func:`sort_key` orders names naturally (``intent2`` before ``intent10``). :class:`Inventory`
is the listing view (:mod:`thalovant.models.inventory`); the on-disk cache of it is
:class:`~thalovant.models.listing_cache.InventoryCache`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

__all__ = [
    "as_sentence",
    "common_affix",
    "friendly_title",
    "humanize",
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

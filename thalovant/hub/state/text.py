"""The one check every string the local hub stores passes: names, site ids, secrets, emails.

:func:`clean_text` refuses what cannot be stored or shown safely, so that no later write or
log line can fail on it: non-strings, lone surrogates (not encodable as UTF-8: the registry
write would fail), control characters (C0, DEL, C1), line and paragraph separators, format
characters (bidi overrides, BOM, zero-width space; ZWJ and ZWNJ are kept for emoji and
scripts), noncharacters, and lengths outside the bounds. Errors name the field, never the
value.
"""

from __future__ import annotations

import unicodedata

__all__ = ["clean_text", "text_problem"]

_KEPT_FORMAT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp", "Cf", "Co"})


def _bad_char(ch: str) -> bool:
    code = ord(ch)
    if 0x20 <= code < 0x7F:  # printable ASCII: the common case, no table lookup
        return False
    if (code & 0xFFFE) == 0xFFFE or 0xFDD0 <= code <= 0xFDEF:  # noncharacters
        return True
    return unicodedata.category(ch) in _REFUSED_CATEGORIES and ch not in _KEPT_FORMAT


def text_problem(
    value: object,
    *,
    min_len: int = 1,
    max_len: int,
    spaces: bool = True,
    forbidden: str = "",
) -> str | None:
    """Why ``value`` (already stripped by the caller when wanted) is not storable text, or
    ``None`` when it is. ``spaces=False`` also refuses whitespace; ``forbidden`` lists other
    refused characters."""
    if not isinstance(value, str):
        return "must be a string"
    if not min_len <= len(value) <= max_len:  # checked first: bounds the scan below
        if min_len <= 1 and not value:
            return "must not be empty"
        return f"must be {min_len} to {max_len} characters long"
    for ch in value:
        if _bad_char(ch):
            return "must not contain control, format or unpaired surrogate characters"
        if not spaces and ch.isspace():
            return "must not contain whitespace"
        if ch in forbidden:
            return f"must not contain {forbidden!r}"
    return None


def clean_text(
    value: object,
    what: str,
    *,
    min_len: int = 1,
    max_len: int,
    strip: bool = True,
    spaces: bool = True,
    forbidden: str = "",
) -> str:
    """``value`` (without leading and trailing spaces unless ``strip=False``) when it is
    storable text, else ``ValueError("<what> must ...")``. Only U+0020 is stripped: other
    whitespace (tabs, U+0085, U+2028) is refused, not silently removed."""
    text = value.strip(" ") if strip and isinstance(value, str) else value
    problem = text_problem(
        text, min_len=min_len, max_len=max_len, spaces=spaces, forbidden=forbidden
    )
    if problem is not None:
        raise ValueError(f"{what} {problem}")
    assert isinstance(text, str)
    return text

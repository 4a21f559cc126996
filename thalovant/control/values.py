"""Loose values in control-plane answers: text, positive numbers, key spellings.

API objects come from the network, so every field is read through one of these: a wrong type
gives ``None`` or the default, never an exception from deep inside a parser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["fold_key", "positive_number", "snake_keys", "text_or_none"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_keys(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level ``camelCase`` keys → ``snake_case`` (nested objects keep their spelling)."""
    return {_CAMEL.sub("_", str(k)).lower(): v for k, v in payload.items()}


def text_or_none(value: object) -> str | None:
    """``str(value)`` stripped, or ``None`` for ``None``, containers and blank text."""
    if value is None or isinstance(value, (Mapping, list, tuple)):
        return None
    return str(value).strip() or None


def positive_number(value: object, default: float) -> float:
    """``value`` as a finite number above zero, else ``default``.

    Ints, floats and numeric text count; booleans are not numbers here.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        number = float(value)
    except ValueError:
        return default
    return number if number > 0 and number == number and number != float("inf") else default


def fold_key(key: object) -> str:
    """A key spelling folded for comparison: lower case, without ``_`` and ``-``.

    So ``apiKey``, ``api_key`` and ``api-key`` are all ``apikey``.
    """
    return str(key).lower().replace("_", "").replace("-", "")

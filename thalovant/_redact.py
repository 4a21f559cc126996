"""Redaction of secrets in text, URLs and mappings.

Every string that may reach a log, a repr or an exception passes through here. The data-plane
URL carries ``?authorization=base64(<useragent>:<access_key>)`` and broker URLs may embed
``user:password@``, so URL queries and userinfo are always replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "is_secret_key",
    "redact_deep",
    "redact_mapping",
    "redact_url",
    "scrub_text",
]

REDACTED = "<redacted>"

# Key fragments that mark a value as secret wherever they appear in a key name.
_SECRET_MARKERS = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "accesskey",
    "crypto_key",
    "cryptokey",
    "private_key",
    "privatekey",
    "credential",
    "authorization",
    "cookie",
    "psk",
)

# scheme://[userinfo@]host...[?query] inside free text
_URL_QUERY = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]*)\?[^\s#'\"<>]*")
_URL_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/@'\"<>]+@")
_AUTH_PARAM = re.compile(r"(authorization=)[^\s&'\"<>]+", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    """True when a mapping key names something that must never be shown."""
    folded = key.lower().replace("-", "_")
    if folded.endswith(("ref", "_refs", "refs")):
        return False  # Vault references such as ``apiKeyRef`` name a secret, they hold none
    compact = folded.replace("_", "")
    return any(marker in folded or marker.replace("_", "") in compact for marker in _SECRET_MARKERS)


def redact_url(url: str) -> str:
    """Drop the userinfo and the query of ``url`` (``?<redacted>``), keep the rest."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub_text(text: str) -> str:
    """Remove URL queries, URL userinfo and ``authorization=`` values from free text."""
    text = _URL_QUERY.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return _AUTH_PARAM.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def redact_mapping(value: Any) -> Any:
    """Deep copy of ``value`` with every secret-named key's value replaced by ``<redacted>``."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            skey = str(key)
            if is_secret_key(skey) and item not in (None, ""):
                out[skey] = REDACTED
            else:
                out[skey] = redact_mapping(item)
        return out
    if isinstance(value, (list, tuple)):
        return [redact_mapping(item) for item in value]
    return value


def redact_deep(value: Any) -> Any:
    """Like :func:`redact_mapping`, and also :func:`scrub_text` on every remaining string."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED
            if is_secret_key(str(key)) and item not in (None, "")
            else redact_deep(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_deep(item) for item in value]
    return value

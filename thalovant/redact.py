"""Redaction of secrets in text, URLs and mappings.

Every string that may reach a log, a repr or an exception passes through here. The data-plane
URL carries ``?authorization=base64(<useragent>:<access_key>)`` and broker URLs may embed
``user:password@``, so URL queries and userinfo are always replaced.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import traceback
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "RedactingLogger",
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
    """Whether a mapping key names something that must never be shown.

    Args:
        key: A mapping key (any case, ``-`` or ``_``).

    Returns:
        True for secret names (password, token, access key, ...); false for references to
        secrets such as ``apiKeyRef``.
    """
    folded = key.lower().replace("-", "_")
    if folded.endswith(("ref", "_refs", "refs")):
        return False  # Vault references such as ``apiKeyRef`` name a secret, they hold none
    compact = folded.replace("_", "")
    return any(marker in folded or marker.replace("_", "") in compact for marker in _SECRET_MARKERS)


def redact_url(url: str) -> str:
    """A URL safe to show.

    Args:
        url: Any URL.

    Returns:
        ``url`` without its userinfo and query (``?<redacted>``), the rest kept.
    """
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
    """Free text safe to show.

    Args:
        text: Any text.

    Returns:
        ``text`` without URL queries, URL userinfo and ``authorization=`` values.
    """
    text = _URL_QUERY.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return _AUTH_PARAM.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def redact_mapping(value: Any) -> Any:
    """A deep copy with every secret-named key's value replaced by ``<redacted>``.

    Args:
        value: A mapping, sequence or scalar.

    Returns:
        The copy (sequences become lists).
    """
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
    """Like :func:`redact_mapping`, and also :func:`scrub_text` on every remaining string.

    Args:
        value: A mapping, sequence or scalar.

    Returns:
        The copy.
    """
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


#: Shorter secrets are not searched for in log text (they would blank out ordinary words).
_MIN_SECRET_CHARS = 4


def _forms(secret: str) -> set[str]:
    """``secret`` as a library may print it: raw, URL-encoded, base64, inside a ``bytes``
    repr (paho logs topics as ``b'...'``, escaping non-ASCII)."""
    raw = secret.encode("utf-8")
    b64 = base64.b64encode(raw).decode("ascii")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), b64, b64.rstrip("=")}
    forms.add(repr(raw)[2:-1])
    forms.add(base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="))
    return {form for form in forms if len(form) >= _MIN_SECRET_CHARS}


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The logger the SDK and the hub hand to a library (websockets, aiomqtt and paho).

    Libraries log URLs, request lines and MQTT topics, which carry the ``authorization=``
    token or the access key. Each record is formatted at once, its text (and traceback)
    goes through :func:`scrub_text`, every one of ``secrets`` (raw, URL-encoded, base64) and
    every match of ``patterns`` becomes ``<redacted>`` (a pattern's first group, when it has
    one, is kept), and the result is logged on ``logger`` without arguments. Nothing is
    formatted for a level that is off.

    Args:
        logger: Where the redacted records go.
        secrets: Values to remove (shorter than four characters: ignored).
        patterns: Regular expressions whose matches are removed.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        secrets: Iterable[str | None] = (),
        patterns: Iterable[re.Pattern[str]] = (),
    ) -> None:
        super().__init__(logger, {})
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET_CHARS:
                forms |= _forms(secret)
        self._secrets = sorted(forms, key=len, reverse=True)  # longest first
        self._patterns = tuple(patterns)

    def __repr__(self) -> str:
        return f"<RedactingLogger {self.logger.name} ({len(self._secrets)} forms)>"

    def redact(self, text: str) -> str:
        """Text safe to log.

        Args:
            text: Any text.

        Returns:
            ``text`` with URL queries, userinfo, tokens and this logger's secrets removed.
        """
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in self._patterns:
            text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + REDACTED, text)
        return scrub_text(text)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Pass the record through (formatting happens in :meth:`log`).

        Args:
            msg: The message.
            kwargs: The logging keyword arguments.

        Returns:
            Both unchanged.
        """
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Format the record now, redact it, and log it on the wrapped logger.

        Args:
            level: The logging level.
            msg: The message (``%`` format).
            *args: Its arguments.
            **kwargs: Logging keyword arguments (``exc_info`` is formatted into the text).
        """
        if not self.isEnabledFor(level):
            return
        text = str(msg)
        if args:
            try:
                text = text % args
            except (TypeError, ValueError, KeyError):
                text = f"{text} {args!r}"
        exc_info = kwargs.pop("exc_info", None)
        if exc_info:
            if isinstance(exc_info, BaseException):
                exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
            elif not isinstance(exc_info, tuple):
                exc_info = sys.exc_info()
            if exc_info[0] is not None:
                text += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
        kwargs.setdefault("stacklevel", 2)
        self.logger.log(level, self.redact(text), **kwargs)

"""Control-plane failures → typed exceptions (docs/protocol.md §7 "Error JSON and mapping").

The control plane answers errors as RFC 7807 Problem+JSON or FastAPI ``{"detail": ...}`` bodies.
:func:`api_error` turns a status, that body and the response headers into the most specific
:class:`~thalovant.errors.ThalovantAPIError` subclass. Messages are bounded (status, at most
200 characters of ``detail``/``message``/``error``, the problem ``code``) and never contain the
raw body; secrets the caller knows about (the access token, freshly minted client secrets) are
scrubbed from the message, the ``detail`` and the kept ``problem``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from thalovant.errors import (
    ThalovantAlreadyLinkedError,
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantDeviceLoginDenied,
    ThalovantDeviceLoginExpired,
    ThalovantDeviceLoginPending,
    ThalovantPlanError,
    ThalovantUnsupportedConnectionTypeError,
)
from thalovant.redact import REDACTED, redact_deep, redact_url, scrub_text

__all__ = [
    "DEFAULT_DEVICE_INTERVAL",
    "MISSING_TOKEN",
    "PAID_PLAN",
    "api_error",
    "error_text",
    "failure_message",
    "problem_code",
    "problem_detail",
    "retry_after",
    "scrub_secrets",
    "unreachable_error",
]

#: The documented symptom text of a private call made before signing in (contract item 16).
MISSING_TOKEN = "Missing Thalovant API access token"
#: The documented symptom text of a plan refusal (contract item 95).
PAID_PLAN = "API access requires a paid plan"
#: Device-login poll interval when the server names none (RFC 8628 default).
DEFAULT_DEVICE_INTERVAL = 5.0

_MAX_TEXT = 200
_WHITESPACE = re.compile(r"\s+")
# A RateLimit-Reset this large is a Unix timestamp, not a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _nested(problem: Mapping[str, Any]) -> Mapping[str, Any]:
    detail = problem.get("detail")
    return detail if isinstance(detail, Mapping) else {}


def problem_code(problem: Mapping[str, Any] | None) -> str | None:
    """Top-level ``code``, else ``detail.code`` when ``detail`` is an object."""
    if not problem:
        return None
    return _text(problem.get("code")) or _text(_nested(problem).get("code"))


def problem_detail(problem: Mapping[str, Any] | None) -> str | None:
    """Top-level ``detail`` string, else ``detail.detail`` when ``detail`` is an object."""
    if not problem:
        return None
    return _text(problem.get("detail")) or _text(_nested(problem).get("detail"))


def error_text(problem: Mapping[str, Any] | None) -> str | None:
    """The human part of an error body.

    It is ``detail``, ``message``, ``error`` or ``title``, whitespace collapsed and cut to 200
    characters.
    """
    if not problem:
        return None
    nested = _nested(problem)
    for candidate in (
        problem_detail(problem),
        _text(problem.get("message")),
        _text(nested.get("message")),
        _text(problem.get("error_description")),
        _text(problem.get("error")),
        _text(problem.get("title")),
    ):
        if candidate:
            collapsed = _WHITESPACE.sub(" ", candidate)
            return collapsed if len(collapsed) <= _MAX_TEXT else collapsed[: _MAX_TEXT - 1] + "…"
    return None


def failure_message(status: int, text: str | None, code: str | None) -> str:
    """``Thalovant API request failed with HTTP <s>: <text> (<code>)``."""
    message = f"Thalovant API request failed with HTTP {status}"
    if text:
        message += f": {text}"
    if code and code != text:
        message += f" ({code})"
    return message


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, (int, float, str)) else math.nan
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return max(0.0, number)


def retry_after(
    problem: Mapping[str, Any] | None, headers: Mapping[str, str], now: float | None = None
) -> float | None:
    """Seconds to wait before retrying, or ``None`` when the answer does not say.

    Read from ``retry_after_seconds`` of the problem (or of its nested ``detail``), else the
    ``Retry-After`` header (seconds or an HTTP date), else the ``RateLimit-Reset`` header
    (seconds, or a Unix time when it is that large).
    """
    wall = time.time() if now is None else now
    if problem:
        for source in (problem, _nested(problem)):
            found = _seconds(source.get("retry_after_seconds"))
            if found is not None:
                return found
    header = headers.get("Retry-After")
    if header is not None:
        found = _seconds(header.strip())
        if found is not None:
            return found
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - wall)
    reset = _seconds((headers.get("RateLimit-Reset") or "").strip())
    if reset is not None and reset >= _EPOCH_THRESHOLD:
        return max(0.0, reset - wall)
    return reset


def scrub_secrets(value: Any, secrets: Iterable[str]) -> Any:
    """Deep copy of ``value`` with every occurrence of each secret string replaced."""
    # Very short strings are not minted secrets; replacing them would mangle ordinary text.
    known = [s for s in secrets if s and len(s) >= 8]
    if not known:
        return value
    if isinstance(value, str):
        for secret in known:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {str(k): scrub_secrets(v, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(item, known) for item in value]
    return value


def _linked_client_id(problem: Mapping[str, Any]) -> str | None:
    for source in (problem, _nested(problem)):
        for key in ("client_id", "existing_client_id", "connection_id"):
            found = _text(source.get(key))
            if found:
                return found
    return None


def _mentions_connection_type(problem: Mapping[str, Any] | None, text: str | None) -> bool:
    if problem is not None:
        try:
            blob = json.dumps(problem, default=str)
        except (TypeError, ValueError):
            blob = ""
        if "connection_type" in blob or "connectionType" in blob:
            return True
    return bool(text and "connection_type" in text)


def api_error(
    status: int,
    problem: Mapping[str, Any] | None,
    headers: Mapping[str, str],
    *,
    device: bool = False,
    connection_type: str | None = None,
    secrets: Iterable[str] = (),
    device_interval: float | None = None,
) -> ThalovantAPIError:
    """The exception for a non-2xx answer.

    ``device`` enables the RFC 8628 device-token errors (``authorization_pending``,
    ``slow_down``, ``expired_token``, ``access_denied``); ``connection_type`` is the connection
    kind a create call asked for, which turns a 422 about it into
    :class:`~thalovant.errors.ThalovantUnsupportedConnectionTypeError`; ``device_interval`` is
    the caller's current poll interval, which ``slow_down`` raises by 5 s.
    """
    known = [s for s in secrets if s]
    code = problem_code(problem)
    detail = problem_detail(problem)
    text = error_text(problem)
    if 300 <= status < 400:
        text = "redirects are not followed; check api_url"
    message = scrub_secrets(failure_message(status, text, code), known)
    kept = None if problem is None else scrub_secrets(redact_deep(problem), known)
    kw: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "detail": None if detail is None else scrub_secrets(scrub_text(detail), known),
        "problem": kept,
        "retry_after_seconds": retry_after(problem, headers),
    }
    if device and problem is not None:
        oauth = _text(problem.get("error")) or code
        if oauth in ("authorization_pending", "slow_down"):
            current = _seconds(problem.get("interval"))
            if current is None:
                current = device_interval or DEFAULT_DEVICE_INTERVAL
                if oauth == "slow_down":
                    current += 5.0
            kw["code"] = oauth
            return ThalovantDeviceLoginPending(
                f"Device login is not approved yet ({oauth})", interval=current, **kw
            )
        if oauth == "expired_token":
            kw["code"] = oauth
            return ThalovantDeviceLoginExpired(
                "Device login expired before it was approved; start a new one", **kw
            )
        if oauth == "access_denied":
            kw["code"] = oauth
            return ThalovantDeviceLoginDenied("Device login was denied", **kw)
    lowered = (detail or "").lower()
    if status in (401, 423) or (
        status == 403
        and (
            lowered.startswith("insufficient scope")
            or code in ("insufficient_scope", "insufficient_scopes")
        )
    ):
        return ThalovantAuthError(message, **kw)
    if status == 402 or (status == 403 and code == "plan_limit"):
        suffix = PAID_PLAN if status == 402 else f"{PAID_PLAN} or a higher plan limit"
        if PAID_PLAN.lower() not in message.lower():
            message = f"{message}. {suffix}"
        return ThalovantPlanError(message, **kw)
    if status == 409 and code == "home_assistant_already_linked":
        linked = _linked_client_id(problem or {})
        return ThalovantAlreadyLinkedError(message, client_id=linked, **kw)
    if status == 422 and connection_type and _mentions_connection_type(problem, text):
        return ThalovantUnsupportedConnectionTypeError(
            f"{message}; the control plane does not support connection_type {connection_type!r}",
            **kw,
        )
    return ThalovantAPIError(message, **kw)


def unreachable_error(url: str, exc: BaseException) -> ThalovantAPIUnreachableError:
    """The error for a request that got no answer (DNS, TCP, TLS, proxy, timeout)."""
    kind = (
        "timed out" if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) else type(exc).__name__
    )
    return ThalovantAPIUnreachableError(
        f"Thalovant API unreachable at {redact_url(url)} ({kind})", status_code=None
    )

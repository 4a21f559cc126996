"""Helpers that build the ``context`` of an outgoing request.

Context carries product metadata (who, where, which channel) without changing the utterance.
The docs forbid tokens, passwords and identity material in it, so these helpers refuse such
keys with a clear :class:`~thalovant.errors.ThalovantRuntimeError` instead of sending them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import Any

from thalovant.errors import ThalovantRuntimeError
from thalovant.protocol.envelope import MAX_DEPTH, nesting_exceeds
from thalovant.redact import is_secret_key

__all__ = [
    "build_client_context",
    "build_location",
    "copy_mapping",
    "ensure_no_secrets",
    "request_context",
]


def copy_mapping(value: Mapping[str, Any], what: str = "context") -> dict[str, Any]:
    """A deep copy of a caller's mapping.

    Args:
        value: The mapping.
        what: Its name in the error message.

    Returns:
        A deep copy, as a dict.

    Raises:
        ThalovantRuntimeError: It nests deeper than the protocol allows
            (:data:`~thalovant.protocol.envelope.MAX_DEPTH`), instead of failing in
            ``copy.deepcopy`` with a RecursionError.
    """
    if nesting_exceeds(value):
        raise ThalovantRuntimeError(f"{what} nests deeper than {MAX_DEPTH} levels")
    return copy.deepcopy(dict(value))


def ensure_no_secrets(context: Mapping[str, Any], *, where: str = "context") -> None:
    """Refuse a context that carries secrets.

    Args:
        context: The context, searched at any depth (mappings and lists of mappings).
        where: Its name in the error message.

    Raises:
        ThalovantRuntimeError: A key names a token, password or key.
    """
    for key, value in context.items():
        path = f"{where}.{key}"
        if is_secret_key(str(key)):
            raise ThalovantRuntimeError(
                f"{path} looks like a secret; tokens, passwords and identity material must "
                "not be sent in a request context"
            )
        if isinstance(value, Mapping):
            ensure_no_secrets(value, where=path)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    ensure_no_secrets(item, where=f"{path}[{index}]")


def build_client_context(
    context: Mapping[str, Any] | None = None,
    *,
    user_id: str | None = None,
    user_name: str | None = None,
    source: str | None = None,
    platform: str | None = None,
    locale: str | None = None,
    trace_id: str | None = None,
    channel: str | None = None,
    device_id: str | None = None,
    destination: str | None = None,
    session_id: str | None = None,
    roles: Iterable[str] | None = None,
    auth_provider: str | None = None,
    auth_claims: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    auth_token: str | None = None,
) -> dict[str, Any]:
    """Build a request context from the documented keys (docs/protocol.md §3.2, §3.5).

    ``context`` is a base that the other arguments extend (they win). ``None`` arguments are
    left out.

    Args:
        context: The base context (deep-copied).
        user_id: Top-level ``user_id``.
        user_name: Top-level ``user_name``.
        source: Top-level ``source`` (default at send time: the user agent).
        platform: Top-level ``platform`` (default at send time: the user agent).
        locale: Top-level ``locale``.
        trace_id: Top-level ``trace_id``.
        channel: Top-level ``channel``.
        device_id: Top-level ``device_id``.
        destination: Top-level ``destination`` (default at send time: ``HiveMind``).
        session_id: ``context["session"]["session_id"]``.
        roles: Top-level ``roles``, a list of strings.
        auth_provider: ``auth.provider``.
        auth_claims: ``auth.claims`` (checked for secrets, so no token can slip through).
        metadata: Merged into ``metadata``.
        auth_token: Refused unless None: a token in the context reaches every skill and
            log on the hub (the official SDK sent it; pass identity claims instead).

    Returns:
        A new context dict.

    Raises:
        ThalovantRuntimeError: ``roles`` is one string, a mapping nests too deep, a key
            looks like a secret, or ``auth_token`` is given.
    """
    if auth_token is not None:
        raise ThalovantRuntimeError(
            "build_client_context: auth_token is not sent (a token in the request context "
            "reaches every skill and log on the hub); pass auth_provider/auth_claims instead"
        )
    out: dict[str, Any] = copy_mapping(context) if context else {}
    flat = {
        "user_id": user_id,
        "user_name": user_name,
        "source": source,
        "platform": platform,
        "locale": locale,
        "trace_id": trace_id,
        "channel": channel,
        "device_id": device_id,
        "destination": destination,
    }
    for key, value in flat.items():
        if value is not None:
            out[key] = str(value)
    if roles is not None:
        if isinstance(roles, str):
            raise ThalovantRuntimeError("roles must be a list of strings, not one string")
        out["roles"] = [str(role) for role in roles]
    if auth_provider is not None or auth_claims is not None:
        auth = dict(out.get("auth") or {})
        if auth_provider is not None:
            auth["provider"] = str(auth_provider)
        if auth_claims is not None:
            auth["claims"] = copy_mapping(auth_claims, "auth_claims")
        out["auth"] = auth
    if metadata is not None:
        merged = dict(out.get("metadata") or {})
        merged.update(copy_mapping(metadata, "metadata"))
        out["metadata"] = merged
    if session_id is not None:
        session = dict(out.get("session") or {})
        session["session_id"] = str(session_id)
        out["session"] = session
    ensure_no_secrets(out)
    return out


def build_location(
    city: str = "",
    region: str = "",
    country: str = "",
    latitude: float | str | None = None,
    longitude: float | str | None = None,
    timezone: str = "",
    *,
    country_code: str | None = None,
) -> dict[str, Any] | None:
    """Build a request-level location for ``ask(location=...)`` (docs/protocol.md §3.5).

    Args:
        city: ``city`` (stripped).
        region: ``region``.
        country: ``country_code``, upper-cased (the official name of the argument).
        latitude: ``coordinate.latitude`` (a number or numeric text within ±90; give both
            or neither).
        longitude: ``coordinate.longitude`` (within ±180).
        timezone: ``timezone: {"code": ...}``.
        country_code: Another name for ``country``.

    Returns:
        The location dict, or None when nothing was given.

    Raises:
        ThalovantRuntimeError: A field that is not text, only one coordinate, or one out of
            range.
    """
    texts = {"city": city, "region": region, "country": country, "timezone": timezone}
    for name, value in texts.items():
        if not isinstance(value, str):
            raise ThalovantRuntimeError(f"build_location: {name} must be a string")
    code = country_code if country_code is not None else country
    location: dict[str, Any] = {}
    if city.strip():
        location["city"] = city.strip()
    if region.strip():
        location["region"] = region.strip()
    if isinstance(code, str) and code.strip():
        location["country_code"] = code.strip().upper()
    if timezone.strip():
        location["timezone"] = {"code": timezone.strip()}
    if (latitude is None) != (longitude is None):
        raise ThalovantRuntimeError("build_location: give both latitude and longitude, or neither")
    if latitude is not None and longitude is not None:
        lat, lon = (
            _coordinate(latitude, "latitude", 90.0),
            _coordinate(longitude, "longitude", 180.0),
        )
        location["coordinate"] = {"latitude": lat, "longitude": lon}
    return location or None


def _coordinate(value: object, name: str, bound: float) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ThalovantRuntimeError(f"build_location: {name} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ThalovantRuntimeError(f"build_location: {name} must be a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > bound:
        raise ThalovantRuntimeError(f"build_location: {name} must be within ±{bound:g}")
    return number


def request_context(
    context: Mapping[str, Any] | None = None,
    *,
    stt_lang: str | None = None,
    pipeline: Iterable[str] | None = None,
    location: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A copy of ``context`` with the ask hints merged in (docs/protocol.md §3.5).

    Args:
        context: The caller's context (deep-copied, never modified).
        stt_lang: Top-level ``stt_lang``.
        pipeline: Intent stages, as ``session.pipeline``.
        location: Top-level ``location`` (see :func:`build_location`).

    Returns:
        A new context dict.

    Raises:
        ThalovantRuntimeError: ``pipeline`` is one string, or a mapping nests too deep.
    """
    out: dict[str, Any] = copy_mapping(context) if context else {}
    if stt_lang:
        out["stt_lang"] = str(stt_lang)
    if pipeline is not None:
        if isinstance(pipeline, str):
            raise ThalovantRuntimeError("pipeline must be a list of stage names, not one string")
        session = dict(out.get("session") or {})
        session["pipeline"] = [str(stage) for stage in pipeline]
        out["session"] = session
    if location is not None:
        out["location"] = copy_mapping(location, "location")
    return out

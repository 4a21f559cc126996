"""The caller's trace id, read from the incoming request's headers.

A W3C ``traceparent`` header (``00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>``)
gives its trace-id; otherwise ``X-Request-ID`` (bounded, printable, no spaces) is used as is;
otherwise the trace id of the current OpenTelemetry span, when the service is traced
(:func:`thalovant.telemetry.current_trace_id`); otherwise a fresh 32-hex id is made. The id
becomes the request context's ``trace_id`` and the request id of the ask, so the hub's logs
join the service's (docs/protocol.md §3.2; docs/architecture.md, the data flow of ``ask``).

Nothing here imports FastAPI: it works on any mapping of lower-cased header names.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from thalovant.telemetry import current_trace_id

__all__ = ["MAX_REQUEST_ID_CHARS", "new_trace_id", "parse_traceparent", "trace_id_from_headers"]

MAX_REQUEST_ID_CHARS = 128
"""The longest ``X-Request-ID`` taken as given; longer or odd ones are replaced."""

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=@-]+$")


def new_trace_id() -> str:
    """A fresh W3C-style trace id.

    Returns:
        32 lower-case hex digits.
    """
    return secrets.token_hex(16)


def parse_traceparent(value: str | None) -> str | None:
    """The trace-id of a W3C ``traceparent`` header.

    Args:
        value: The header value.

    Returns:
        The 32-hex trace-id, or None when the header is absent or invalid (version ``ff``,
        an all-zero trace-id or parent-id, or a malformed value).
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id


def trace_id_from_headers(headers: Mapping[str, str]) -> tuple[str, bool]:
    """The trace id of a request.

    Args:
        headers: The request headers, keyed by lower-case name.

    Returns:
        ``(trace_id, given)``: the id, and whether the caller supplied it.
    """
    trace_id = parse_traceparent(headers.get("traceparent"))
    if trace_id is not None:
        return trace_id, True
    request_id = (headers.get("x-request-id") or "").strip()
    if 0 < len(request_id) <= MAX_REQUEST_ID_CHARS and _REQUEST_ID.match(request_id):
        return request_id, True
    return current_trace_id() or new_trace_id(), False

"""Exception handlers: each ``ThalovantError`` becomes an ``application/problem+json`` answer.

============================================  ======  ==========================================
error                                         status  body
============================================  ======  ==========================================
``ThalovantTimeoutError``                     504     ``timeout``
``ThalovantPolicyDeniedError``                403     ``policy_denied`` with ``denied_type``,
                                                      ``code``, ``reason``, ``allowed``, ``quota``
``ThalovantUnansweredError``                  422     ``unanswered``: the hub understood nothing;
                                                      the request was fine, the utterance was not
``ThalovantConnectionError`` (not refusals)   503     ``hub_unavailable``, ``Retry-After``
``ThalovantHubRefusedError``,                 500     ``service_misconfigured``, no details (the
``ThalovantHubKeyChangedError``,                      service's own credentials or pins are wrong;
``ThalovantIdentityError``,                           nothing a caller can fix)
``ThalovantUnsupportedProtocolError``
any other ``ThalovantError``                  502     ``hub_error``
============================================  ======  ==========================================

A connect timeout is both a timeout and a connection error; it is answered as 503 (the hub
is unreachable, retry later). Bodies carry fixed texts, never ``str(error)`` (which may name
hosts or paths), except the policy denial's own fields; every body carries the request's
``trace_id`` and the response its ``X-Request-ID`` (docs/protocol.md §8: no secrets in
errors; docs/architecture.md rule 10).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantIdentityError,
    ThalovantPolicyDeniedError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
    ThalovantUnsupportedProtocolError,
)
from thalovant.fastapi.dependencies import REQUEST_ID_HEADER, scope_of

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "RETRY_AFTER_SECONDS",
    "install_exception_handlers",
    "problem_for",
    "problem_response",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = 5
"""The ``Retry-After`` of a 503."""

_TYPE_BASE = "https://thalovant.dev/problems/"
_MISCONFIGURED = (
    ThalovantIdentityError,
    ThalovantHubRefusedError,
    ThalovantHubKeyChangedError,
    ThalovantUnsupportedProtocolError,
)


def _problem(code: str, status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": _TYPE_BASE + code, "title": title, "status": status, "detail": detail}


def problem_for(exc: ThalovantError) -> tuple[dict[str, Any], dict[str, str]]:
    """The problem document and extra headers for an error.

    Args:
        exc: The error.

    Returns:
        ``(problem, headers)``; the problem's ``status`` is the HTTP status.
    """
    if isinstance(exc, _MISCONFIGURED):
        return _problem(
            "service_misconfigured", 500, "Service misconfigured", "The service cannot use its hub."
        ), {}
    if isinstance(exc, ThalovantConnectionError):
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return _problem(
            "hub_unavailable", 503, "Hub unavailable", "The hub connection is not available."
        ), retry
    if isinstance(exc, ThalovantTimeoutError):
        return _problem(
            "timeout", 504, "Hub timeout", "The hub did not answer within the deadline."
        ), {}
    if isinstance(exc, ThalovantPolicyDeniedError):
        problem = _problem("policy_denied", 403, "Denied by hub policy", "The hub refused it.")
        quota = exc.quota
        problem.update(
            denied_type=exc.denied_type,
            code=exc.code,
            reason=exc.reason,
            allowed=list(exc.allowed),
            quota=None
            if quota is None
            else {
                "period": quota.period,
                "limit": quota.limit,
                "used": quota.used,
                "reset_after": quota.reset_after,
            },
        )
        return problem, {}
    if isinstance(exc, ThalovantUnansweredError):
        return _problem(
            "unanswered", 422, "Not understood", "No skill on the hub matched the utterance."
        ), {}
    return _problem("hub_error", 502, "Hub error", "The hub request failed."), {}


def problem_response(
    exc: ThalovantError, trace_id: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """A problem+json response for an error.

    Args:
        exc: The error.
        trace_id: The request's trace id, added to the body and as ``X-Request-ID``.
        headers: More response headers.

    Returns:
        The response.
    """
    problem, extra = problem_for(exc)
    out = {**extra, **(headers or {})}
    if trace_id is not None:
        problem["trace_id"] = trace_id
        out[REQUEST_ID_HEADER] = trace_id
    return Response(
        json.dumps(problem),
        status_code=int(problem["status"]),
        headers=out,
        media_type=PROBLEM_CONTENT_TYPE,
    )


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ThalovantError)
    return problem_response(exc, scope_of(request).trace_id)


def install_exception_handlers(app: FastAPI) -> None:
    """Answer every ``ThalovantError`` a route raises with a problem+json response.

    Args:
        app: The app.
    """
    app.add_exception_handler(ThalovantError, _handle)

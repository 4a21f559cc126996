"""Problem+JSON answers of the local control plane (RFC 7807; docs/protocol.md §7).

A handler raises :class:`ApiProblem`; :func:`problems_middleware` turns it, an HTTP error or
an unexpected exception into ``{"type", "title", "status", "detail", "code"}``, never echoing
a request body, a password or a token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web

__all__ = ["ApiProblem", "problem_response", "problems_middleware"]

logger = logging.getLogger("thalovant.hub.control")

_PROBLEM_TYPE = "application/problem+json"


class ApiProblem(Exception):
    """Raised by a handler; becomes a Problem+JSON answer."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The Problem+JSON answer."""
        return problem_response(self.status, self.code, self.detail, headers=self.headers)


def problem_response(
    status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """``{"type": "about:blank", "title", "status", "detail", "code"}`` as
    ``application/problem+json``."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    response = web.json_response(body, status=status, headers=headers)
    response.content_type = _PROBLEM_TYPE
    return response


@web.middleware
async def problems_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer :class:`ApiProblem`, HTTP errors (400 and up) and crashes as Problem+JSON.

    Args:
        request: The request.
        handler: The next handler.

    Returns:
        The handler's answer, or the problem answer.
    """
    try:
        return await handler(request)
    except ApiProblem as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(exc.status, "http_error", HTTPStatus(exc.status).phrase)
    except Exception:
        logger.exception("local control plane: %s %s failed", request.method, request.path)
        return problem_response(500, "internal_error", "The local control plane failed")

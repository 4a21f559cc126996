"""Who may call which ``/v1`` route: public, any live token, or a token with some scopes.

Each :class:`Route` of the table (:data:`~thalovant.hub.control.api.ROUTES`) declares its
:class:`Access`; :func:`guarded` checks the bearer token before the handler runs
(docs/protocol.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from thalovant.hub.control.app_state import control_state
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.tokens import KNOWN_SCOPES, IssuedToken

__all__ = ["PUBLIC", "SIGNED_IN", "TOKEN", "Access", "Handler", "Route", "guarded", "scoped"]

_MAX_TOKEN = 256  # characters of a bearer token; ours are 49
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Access:
    """Who may call a route: anyone (``public``), any live token (no scopes), or a token
    holding at least one of ``any_of``."""

    public: bool = False
    any_of: tuple[str, ...] = ()


PUBLIC = Access(public=True)
"""No token needed."""
SIGNED_IN = Access()
"""Any live token, whatever its scopes."""


def scoped(*scopes: str) -> Access:
    """A token holding at least one of ``scopes``."""
    unknown = set(scopes) - set(KNOWN_SCOPES)
    if not scopes or unknown:
        raise ValueError(f"unknown or missing scopes: {sorted(unknown)}")
    return Access(any_of=scopes)


@dataclass(frozen=True)
class Route:
    """One ``/v1`` route (path relative to ``/v1``) and the access it needs."""

    method: str
    path: str
    handler: Handler
    access: Access


TOKEN = web.RequestKey("thalovant_control_token", IssuedToken)
"""The caller's token record, on requests to non-public routes."""


def guarded(route: Route) -> Handler:
    """``route.handler`` behind the check of ``route.access``."""
    access, handler = route.access, route.handler

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not access.public:
            request[TOKEN] = authorize(request, access)
        return await handler(request)

    return guarded


def authorize(request: web.Request, access: Access) -> IssuedToken:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiProblem(
            401,
            "not_authenticated",
            "Not authenticated: send Authorization: Bearer <token> (sign in with POST "
            "/v1/auth/token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if len(token) <= _MAX_TOKEN and _TOKEN_CHARS.fullmatch(token):
        record, reason = control_state(request).tokens.check(token)
    else:  # not a token this API could have issued (and maybe not even text)
        record, reason = None, "invalid_token"
    if record is None:
        text = "Access token expired" if reason == "token_expired" else "Invalid access token"
        raise ApiProblem(401, reason, text, headers={"WWW-Authenticate": "Bearer"})
    if access.any_of and not set(access.any_of) & set(record.scopes):
        raise ApiProblem(403, "insufficient_scopes", "Insufficient scopes")
    return record

"""Dependencies (``Depends``) for routes: the shared client and the per-request scope.

``client: AsyncThalovantClient = Depends(get_client)`` hands a route the client opened by
:func:`~thalovant.fastapi.lifespan.thalovant_lifespan`; ``client_dependency("name")`` picks
one of several. ``scope: ThalovantRequestScope = Depends(request_scope)`` carries the
caller's trace id (:mod:`thalovant.fastapi.tracing`) into the ask's context ``trace_id`` and
request id (docs/protocol.md §3.2, §3.5), so the hub's logs join the service's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from thalovant.client.client import AsyncThalovantClient
from thalovant.client.context import build_client_context
from thalovant.errors import ThalovantRuntimeError
from thalovant.fastapi.lifespan import ThalovantService
from thalovant.fastapi.tracing import trace_id_from_headers

__all__ = [
    "REQUEST_ID_HEADER",
    "ClientDep",
    "ScopeDep",
    "ThalovantRequestScope",
    "client_dependency",
    "get_client",
    "get_service",
    "request_scope",
    "scope_of",
]

REQUEST_ID_HEADER = "X-Request-ID"
"""The response header that echoes the request's trace id."""

_STATE_KEY = "thalovant_scope"


def get_service(connection: HTTPConnection) -> ThalovantService:
    """The app's :class:`ThalovantService`.

    Args:
        connection: The request or WebSocket.

    Returns:
        The service stored by the lifespan helper.

    Raises:
        ThalovantRuntimeError: The app was not started with ``thalovant_lifespan``.
    """
    service = getattr(connection.app.state, "thalovant", None)
    if not isinstance(service, ThalovantService):
        raise ThalovantRuntimeError("the app has no thalovant_lifespan")
    return service


def get_client(request: Request) -> AsyncThalovantClient:
    """Dependency: the app's only (or default) client.

    Args:
        request: The request.

    Returns:
        The shared client.

    Raises:
        ThalovantConnectionError: The service is shutting down.
        ThalovantRuntimeError: No lifespan helper, or several clients and none is default.
    """
    return get_service(request).client()


def client_dependency(name: str) -> Callable[[Request], AsyncThalovantClient]:
    """A dependency handing a route the client called ``name``.

    Args:
        name: The client's name (an ``identities`` key or a profile).

    Returns:
        The dependency, for ``Depends(...)``.
    """

    def dependency(request: Request) -> AsyncThalovantClient:
        return get_service(request).client(name)

    return dependency


class ThalovantRequestScope:
    """One HTTP request's trace id, and the ask arguments that carry it to the hub.

    Args:
        trace_id: The trace id (the caller's, or a fresh one).
        given: Whether the caller supplied it.
    """

    def __init__(self, trace_id: str, given: bool) -> None:
        self.trace_id = trace_id
        self.given = given
        self._count = itertools.count()

    def __repr__(self) -> str:
        return f"ThalovantRequestScope(trace_id={self.trace_id!r}, given={self.given})"

    def next_request_id(self) -> str:
        """The request id of the next ask in this request.

        Returns:
            The trace id for the first ask, ``<trace_id>.<n>`` for the n-th further one
            (request ids must be unique while in flight).
        """
        n = next(self._count)
        return self.trace_id if n == 0 else f"{self.trace_id}.{n}"

    def context(self, base: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """A request context with ``trace_id`` set.

        Args:
            base: A context to extend.
            **fields: Further ``build_client_context`` keywords.

        Returns:
            The context.

        Raises:
            ThalovantRuntimeError: A key looks like a secret.
        """
        return build_client_context(trace_id=self.trace_id, context=base, **fields)

    def ask_kwargs(self, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``request_id`` and ``context`` keywords for one ``ask`` (or ``ask_stream``).

        Args:
            context: A context to extend.

        Returns:
            ``{"request_id": ..., "context": ...}``.
        """
        return {"request_id": self.next_request_id(), "context": self.context(context)}


def scope_of(connection: HTTPConnection) -> ThalovantRequestScope:
    """The request's scope, made once per request from its headers.

    Args:
        connection: The request or WebSocket.

    Returns:
        The scope (also kept on ``connection.state`` for the error handlers).
    """
    scope = getattr(connection.state, _STATE_KEY, None)
    if not isinstance(scope, ThalovantRequestScope):
        trace_id, given = trace_id_from_headers(connection.headers)
        scope = ThalovantRequestScope(trace_id, given)
        setattr(connection.state, _STATE_KEY, scope)
    return scope


def request_scope(request: Request) -> ThalovantRequestScope:
    """Dependency: the request's :class:`ThalovantRequestScope`.

    Args:
        request: The request.

    Returns:
        The scope.
    """
    return scope_of(request)


ClientDep = Annotated[AsyncThalovantClient, Depends(get_client)]
"""A route parameter annotation: ``client: ClientDep`` is the app's default client."""

ScopeDep = Annotated[ThalovantRequestScope, Depends(request_scope)]
"""A route parameter annotation: ``scope: ScopeDep`` is the request's trace scope."""

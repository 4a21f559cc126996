"""FastAPI integration (extra ``thalovant[fastapi]``): FastAPI and Starlette load only here.

The short pattern (README "FastAPI")::

    app = FastAPI(lifespan=thalovant_lifespan(identity="_identity.json"))
    install_exception_handlers(app)
    app.include_router(health_router())

    @app.post("/ask")
    async def ask(body: Ask, client: ClientDep, scope: ScopeDep):
        reply = await client.ask(body.text, **scope.ask_kwargs())
        return {"text": reply.text}

    @app.get("/stream")
    async def stream(text: str, client: ClientDep, scope: ScopeDep):
        return sse_reply(client, text, scope)

See docs/architecture.md (this package sits at the top, beside ``cli``/``demo``/``testing``,
and imports the client layer only).
"""

from __future__ import annotations

from thalovant.fastapi.dependencies import (
    REQUEST_ID_HEADER,
    ClientDep,
    ScopeDep,
    ThalovantRequestScope,
    client_dependency,
    get_client,
    get_service,
    request_scope,
    scope_of,
)
from thalovant.fastapi.errors import (
    PROBLEM_CONTENT_TYPE,
    RETRY_AFTER_SECONDS,
    install_exception_handlers,
    problem_for,
    problem_response,
)
from thalovant.fastapi.health import health_router
from thalovant.fastapi.lifespan import DEFAULT_CLIENT, ThalovantService, thalovant_lifespan
from thalovant.fastapi.streaming import reply_items, sse_reply, websocket_reply
from thalovant.fastapi.tracing import parse_traceparent, trace_id_from_headers

__all__ = [
    "DEFAULT_CLIENT",
    "PROBLEM_CONTENT_TYPE",
    "REQUEST_ID_HEADER",
    "RETRY_AFTER_SECONDS",
    "ClientDep",
    "ScopeDep",
    "ThalovantRequestScope",
    "ThalovantService",
    "client_dependency",
    "get_client",
    "get_service",
    "health_router",
    "install_exception_handlers",
    "parse_traceparent",
    "problem_for",
    "problem_response",
    "reply_items",
    "request_scope",
    "scope_of",
    "sse_reply",
    "thalovant_lifespan",
    "trace_id_from_headers",
    "websocket_reply",
]

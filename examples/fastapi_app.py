"""A small FastAPI service on one shared Thalovant client (needs ``thalovant[fastapi]``).

Run it with ``uvicorn examples.fastapi_app:app --workers 2``. The identity comes from
``$THALOVANT_IDENTITY_FILE`` (else the ``THALOVANT_*`` variables); TLS is verified against
the CA named by ``SSL_CERT_FILE`` (or ``REQUESTS_CA_BUNDLE``). Every worker loads the same
identity file, so all share its key folder: the hub pins one client key per access key.

Routes:

* ``POST /ask`` ``{"text": ..., "timeout": seconds?}`` -> ``{"text", "request_id", "trace_id"}``
* ``POST /conversation`` ``{"text": ...}``: one conversation per session cookie
  (``thalovant_session``), so the hub remembers across requests (and workers)
* ``GET /stream?text=...``: Server-Sent Events, one ``speak`` per sentence, then ``reply``
* ``WS /ws``: each text frame is an utterance; its reply streams back as JSON frames
* ``GET /health/live``, ``GET /health/ready``

Errors are problem+json (504 timeout, 403 policy denied, 422 not understood, 503 hub
unavailable with ``Retry-After``); a caller's ``traceparent`` or ``X-Request-ID`` reaches the
hub as the request's ``trace_id``.
"""

from __future__ import annotations

import os
import secrets

from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from thalovant.fastapi import (
    REQUEST_ID_HEADER,
    ClientDep,
    ScopeDep,
    get_service,
    health_router,
    install_exception_handlers,
    scope_of,
    sse_reply,
    thalovant_lifespan,
    websocket_reply,
)

ASK_TIMEOUT = float(os.environ.get("THALOVANT_ASK_TIMEOUT", "12"))
CLOSE_TIMEOUT = float(os.environ.get("THALOVANT_CLOSE_TIMEOUT", "5"))
SESSION_COOKIE = "thalovant_session"

app = FastAPI(title="thalovant example", lifespan=thalovant_lifespan(close_timeout=CLOSE_TIMEOUT))
install_exception_handlers(app)
app.include_router(health_router())


class Ask(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    timeout: float | None = Field(default=None, gt=0, le=60)


@app.post("/ask")
async def ask(
    body: Ask,
    response: Response,
    client: ClientDep,
    scope: ScopeDep,
) -> dict[str, str | None]:
    reply = await client.ask(body.text, timeout=body.timeout or ASK_TIMEOUT, **scope.ask_kwargs())
    response.headers[REQUEST_ID_HEADER] = scope.trace_id
    return {"text": reply.text, "request_id": reply.request_id, "trace_id": scope.trace_id}


@app.post("/conversation")
async def conversation(
    body: Ask,
    request: Request,
    response: Response,
    client: ClientDep,
    scope: ScopeDep,
) -> dict[str, str | None]:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not 0 < len(session_id) <= 64 or not session_id.isascii():
        session_id = f"web-{secrets.token_hex(16)}"  # a new visitor, or a cookie we did not set
    turn = client.conversation(session_id=session_id)
    reply = await turn.ask(body.text, timeout=body.timeout or ASK_TIMEOUT, **scope.ask_kwargs())
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax")
    return {"text": reply.text, "session_id": session_id}


@app.get("/stream")
async def stream(
    text: str,
    client: ClientDep,
    scope: ScopeDep,
) -> Response:
    return sse_reply(client, text, scope, timeout=ASK_TIMEOUT)


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    client = get_service(websocket).client()
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await websocket_reply(websocket, client, text, scope_of(websocket), timeout=ASK_TIMEOUT)
    except WebSocketDisconnect:
        return

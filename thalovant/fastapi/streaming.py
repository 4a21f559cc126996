"""Server-Sent Events and WebSocket bridges: one reply's speech, item by item, as it arrives.

Both drive ``client.ask_stream(text, ...)`` (an async iterator of ``ThalovantEvent`` that is
also an async context manager, with ``.reply`` after the end; the same typed errors as
``ask``, docs/architecture.md: the data flow of ``ask``) and send:

* ``speak`` ``{"text": ...}`` for each speech event, the moment it arrives;
* ``display`` ``{"name": ..., "data": ...}`` for each other display event;
* ``reply`` ``{"text", "utterances", "request_id", "session_id", "trace_id"}`` once, last;
* or ``error`` with the problem document of :mod:`thalovant.fastapi.errors` instead of the
  reply when the ask fails (the HTTP status is already sent by then).

The SSE bridge is ``EventSourceResponse`` of sse-starlette; the WebSocket bridge sends JSON
text frames ``{"event": ..., "data": ...}`` and leaves the socket open for the caller.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.websockets import WebSocket

from thalovant.client.client import AsyncThalovantClient
from thalovant.client.conversation import AsyncThalovantConversation
from thalovant.errors import ThalovantError
from thalovant.fastapi.dependencies import REQUEST_ID_HEADER, ThalovantRequestScope
from thalovant.fastapi.errors import problem_for
from thalovant.models.types import ThalovantEvent

__all__ = ["Asker", "reply_items", "sse_reply", "websocket_reply"]


Asker = AsyncThalovantClient | AsyncThalovantConversation
"""What a bridge asks through: the client, or one conversation of it."""


def _item(event: ThalovantEvent) -> tuple[str, dict[str, Any]]:
    if event.is_speech:
        return "speak", {"text": event.text}
    return "display", {"name": event.name, "data": event.data}


async def reply_items(
    asker: Asker,
    text: str,
    scope: ThalovantRequestScope | None = None,
    **ask_kwargs: Any,
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The ``(event, data)`` items of one streamed reply, errors included as ``error``.

    Args:
        asker: An ``AsyncThalovantClient`` or ``AsyncThalovantConversation``.
        text: The utterance.
        scope: The request's scope: its trace id goes into the context and request id.
        **ask_kwargs: Further ``ask_stream`` keywords (``timeout``, ``lang``, ...).

    Yields:
        ``("speak" | "display", data)`` as events arrive, then ``("reply", data)`` or
        ``("error", problem)``.
    """
    kwargs = dict(ask_kwargs)
    if scope is not None:
        base = kwargs.pop("context", None)
        kwargs.update(scope.ask_kwargs(base))
    trace_id = scope.trace_id if scope is not None else None
    try:
        async with asker.ask_stream(text, **kwargs) as stream:
            async for event in stream:
                yield _item(event)
            reply = stream.reply
    except ThalovantError as exc:
        problem, _headers = problem_for(exc)
        if trace_id is not None:
            problem["trace_id"] = trace_id
        yield "error", problem
        return
    yield (
        "reply",
        {
            "text": reply.text if reply else "",
            "utterances": list(reply.utterances) if reply else [],
            "request_id": reply.request_id if reply else None,
            "session_id": reply.session_id if reply else None,
            "trace_id": trace_id,
        },
    )


def sse_reply(
    asker: Asker, text: str, scope: ThalovantRequestScope | None = None, **ask_kwargs: Any
) -> EventSourceResponse:
    """An SSE response streaming one reply (see the module docstring for the events).

    Args:
        asker: An ``AsyncThalovantClient`` or ``AsyncThalovantConversation``.
        text: The utterance.
        scope: The request's scope (trace id into the context, ``X-Request-ID`` header).
        **ask_kwargs: Further ``ask_stream`` keywords.

    Returns:
        The response; the ask starts when the server starts sending it.
    """

    async def events() -> AsyncIterator[dict[str, str]]:
        async for name, data in reply_items(asker, text, scope, **ask_kwargs):
            yield {"event": name, "data": json.dumps(data)}

    headers = {REQUEST_ID_HEADER: scope.trace_id} if scope is not None else None
    return EventSourceResponse(events(), headers=headers, ping=15)


async def websocket_reply(
    websocket: WebSocket,
    asker: Asker,
    text: str,
    scope: ThalovantRequestScope | None = None,
    **ask_kwargs: Any,
) -> None:
    """Stream one reply over an accepted WebSocket as JSON text frames.

    Args:
        websocket: The accepted WebSocket (left open).
        asker: An ``AsyncThalovantClient`` or ``AsyncThalovantConversation``.
        text: The utterance.
        scope: The connection's scope.
        **ask_kwargs: Further ``ask_stream`` keywords.

    The last frame is ``reply`` or ``error``.
    """
    async for name, data in reply_items(asker, text, scope, **ask_kwargs):
        await websocket.send_json({"event": name, "data": data})

"""``answer_home_requests`` for both clients: the blocking one and the async one.

With a :class:`~thalovant.sync.client.ThalovantClient` the handler runs in a thread of its
own per request; when it overruns ``timeout`` the hub gets the ``timeout`` answer at once
and the handler's late result is dropped. With an ``AsyncThalovantClient`` this is
:func:`thalovant.client.home.answer_home_requests`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from thalovant.client.client import AsyncThalovantClient
from thalovant.client.home import (
    HOME_REQUEST,
    HOME_RESPONSE,
    HomeAnswer,
    HomeRequest,
    coerce_answer,
    home_response,
)
from thalovant.client.home import Handler as Handler
from thalovant.client.home import answer_home_requests as answer_async
from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent
from thalovant.sync.client import ThalovantClient

__all__ = ["answer_home_requests"]

logger = logging.getLogger("thalovant.home")


def answer_home_requests(
    client: ThalovantClient | AsyncThalovantClient, handler: Handler, *, timeout: float = 9.0
) -> Callable[[], None]:
    """Answer every ``thalovant.home.request`` the hub sends with ``handler``.

    Args:
        client: A ``ThalovantClient`` or an ``AsyncThalovantClient`` (call it on its loop).
        handler: A function of one :class:`~thalovant.client.home.HomeRequest` returning a
            :class:`~thalovant.client.home.HomeAnswer` or the speech text (with the async
            client it may be async).
        timeout: Seconds for each call of the handler (the hub waits 10).

    Returns:
        The unsubscribe callable (also a subscription with ``close()``).

    Raises:
        ThalovantRuntimeError: ``client`` is neither client.
    """
    if isinstance(client, AsyncThalovantClient):
        return answer_async(client, handler, timeout=timeout)
    if not isinstance(client, ThalovantClient):
        raise ThalovantRuntimeError("answer_home_requests() needs a Thalovant client")
    blocking = client

    def on_request(event: ThalovantEvent) -> None:
        try:
            request = HomeRequest.from_event(event)
        except ThalovantRuntimeError as exc:
            logger.warning("ignoring a malformed home request: %s", exc)
            return
        answer = _run(handler, request, timeout)
        try:
            blocking.reply(event, HOME_RESPONSE, home_response(request, answer))
        except ThalovantError as exc:
            logger.warning("could not answer home request %s: %s", request.request_id, exc)

    return client.on(HOME_REQUEST, on_request)


def _run(handler: Handler, request: HomeRequest, timeout: float) -> HomeAnswer:
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["result"] = handler(request)
        except Exception:
            logger.exception("the home-request handler raised")
            box["failed"] = True
        finally:
            done.set()

    threading.Thread(target=work, name="thalovant-home-handler", daemon=True).start()
    if not done.wait(timeout):
        return HomeAnswer("", "error", "timeout", conversation_id=request.conversation_id)
    if box.get("failed"):
        return HomeAnswer("", "error", "failed_to_handle", conversation_id=request.conversation_id)
    return coerce_answer(box.get("result"), request)

"""The Home Assistant link, client side: answer the hub's ``thalovant.home.request``.

The hub sends ``thalovant.home.request`` ``{request_id, utterance, lang, conversation_id}``
and waits 10 s for one ``thalovant.home.response`` ``{request_id, speech, response_type,
continue_conversation, error_code?, conversation_id?}``, sent as an OVOS reply (source and
destination swapped). The handler gets 9 s; the SDK always answers: ``failed_to_handle``
when the handler raises, ``timeout`` when it does not answer in time, ``unknown`` for an
answer it cannot send. ``speech`` is sent as plain text (markup stripped in linear time).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.events import HOME_REQUEST, HOME_RESPONSE
from thalovant.models.markup import strip_ssml
from thalovant.models.types import ThalovantEvent

if TYPE_CHECKING:
    from thalovant.bus.subscribers import Subscription
    from thalovant.client.client import AsyncThalovantClient

__all__ = [
    "HOME_ERROR_CODES",
    "HOME_REQUEST",
    "HOME_RESPONSE",
    "HOME_RESPONSE_TYPES",
    "HomeAnswer",
    "HomeRequest",
    "answer_home_request",
    "answer_home_requests",
    "coerce_answer",
    "home_response",
]

logger = logging.getLogger("thalovant.home")

HOME_RESPONSE_TYPES = ("action_done", "query_answer", "error")
HOME_ERROR_CODES = (
    "no_intent_match",
    "no_valid_targets",
    "failed_to_handle",
    "unknown",
    "timeout",
    "agent_unavailable",
)
#: The longest ``speech`` sent (the hub speaks it; a longer one is cut).
MAX_SPEECH_CHARS = 4000


@dataclass(frozen=True)
class HomeRequest:
    """One ``thalovant.home.request``."""

    request_id: str
    utterance: str
    lang: str | None = None
    conversation_id: str | None = None
    event: Any = None

    @classmethod
    def from_event(cls, event: ThalovantEvent | Any) -> HomeRequest:
        """Read a request from its event (a ``ThalovantEvent`` or a raw bus message).

        Args:
            event: The ``thalovant.home.request`` event.

        Returns:
            The request.

        Raises:
            ThalovantRuntimeError: No ``request_id`` or ``utterance`` text in its data.
        """
        data = event.get("data") if isinstance(event, Mapping) else getattr(event, "data", None)
        data = data if isinstance(data, Mapping) else {}
        request_id, utterance = data.get("request_id"), data.get("utterance")
        if not isinstance(request_id, str) or not request_id.strip():
            raise ThalovantRuntimeError("a home request needs a request_id")
        if not isinstance(utterance, str):
            raise ThalovantRuntimeError("a home request needs an utterance")
        lang, conversation = data.get("lang"), data.get("conversation_id")
        return cls(
            request_id,
            utterance,
            lang if isinstance(lang, str) else None,
            conversation if isinstance(conversation, str) else None,
            event,
        )


@dataclass(frozen=True)
class HomeAnswer:
    """What a handler answers: ``speech`` (plain text), ``response_type`` (``action_done``,
    ``query_answer`` or ``error`` with an ``error_code``)."""

    speech: str = ""
    response_type: str = "action_done"
    error_code: str | None = None
    continue_conversation: bool = False
    conversation_id: str | None = None


HomeResult = HomeAnswer | str | None
Handler = Callable[[HomeRequest], HomeResult | Awaitable[HomeResult]]
"""A plain or async function of one :class:`HomeRequest`, returning a :class:`HomeAnswer`
or the speech text."""


def _error(code: str, request: HomeRequest) -> HomeAnswer:
    return HomeAnswer("", "error", code, conversation_id=request.conversation_id)


def coerce_answer(result: object, request: HomeRequest) -> HomeAnswer:
    """The answer to send for a handler's ``result`` (``unknown`` when it is unusable).

    Args:
        result: A :class:`HomeAnswer` or the speech text.
        request: The request answered.

    Returns:
        A valid answer.
    """
    if isinstance(result, str):
        return HomeAnswer(result, conversation_id=request.conversation_id)
    if not isinstance(result, HomeAnswer):
        return _error("unknown", request)
    if result.response_type not in HOME_RESPONSE_TYPES or not isinstance(result.speech, str):
        return _error("unknown", request)
    if result.response_type == "error" and result.error_code not in HOME_ERROR_CODES:
        return _error("unknown", request)
    return result


def home_response(request: HomeRequest, answer: HomeAnswer) -> dict[str, Any]:
    """The ``thalovant.home.response`` data for ``answer``.

    Args:
        request: The request answered.
        answer: A valid answer (see :func:`coerce_answer`).

    Returns:
        ``{request_id, speech, response_type, continue_conversation[, error_code]
        [, conversation_id]}``.
    """
    data: dict[str, Any] = {
        "request_id": request.request_id,
        "speech": strip_ssml(answer.speech)[:MAX_SPEECH_CHARS],
        "response_type": answer.response_type,
        "continue_conversation": bool(answer.continue_conversation),
    }
    if answer.response_type == "error":
        data["error_code"] = answer.error_code
    conversation = answer.conversation_id or request.conversation_id
    if conversation:
        data["conversation_id"] = conversation
    return data


async def _call(handler: Handler, request: HomeRequest) -> object:
    if inspect.iscoroutinefunction(handler):
        return await handler(request)
    result = await anyio.to_thread.run_sync(handler, request, abandon_on_cancel=True)
    return await result if inspect.isawaitable(result) else result


async def answer_home_request(
    client: AsyncThalovantClient,
    event: ThalovantEvent,
    handler: Handler,
    timeout: float = 9.0,  # noqa: ASYNC109 (the handler's budget, the official name)
) -> None:
    """Answer one home request: run ``handler`` (a plain one in a worker thread) within
    ``timeout`` and reply, whatever happens.

    Args:
        client: The connected client.
        event: The ``thalovant.home.request`` event.
        handler: The handler.
        timeout: Seconds for the handler (the hub waits 10).
    """
    try:
        request = HomeRequest.from_event(event)
    except ThalovantRuntimeError as exc:
        logger.warning("ignoring a malformed home request: %s", exc)
        return
    answer = _error("timeout", request)
    with anyio.move_on_after(timeout):
        try:
            answer = coerce_answer(await _call(handler, request), request)
        except Exception:
            logger.exception("the home-request handler raised")
            answer = _error("failed_to_handle", request)
    try:
        await client.reply(event, HOME_RESPONSE, home_response(request, answer))
    except ThalovantError as exc:
        logger.warning("could not answer home request %s: %s", request.request_id, exc)


def answer_home_requests(
    client: AsyncThalovantClient, handler: Handler, *, timeout: float = 9.0
) -> Subscription:
    """Answer every ``thalovant.home.request`` the hub sends with ``handler``.

    Args:
        client: The client (connected now or later; the subscription survives redials).
        handler: A plain or async function of one :class:`HomeRequest`, returning a
            :class:`HomeAnswer` or the speech text.
        timeout: Seconds for each call of the handler.

    Returns:
        The subscription; calling it (or ``close()``) stops answering.
    """

    async def on_request(event: ThalovantEvent) -> None:
        await answer_home_request(client, event, handler, timeout)

    return client.on(HOME_REQUEST, on_request)

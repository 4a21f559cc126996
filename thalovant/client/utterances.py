"""The utterance methods of ``AsyncThalovantClient``: ``ask``, ``query`` and the
fire-and-forget ``send_utterance``/``send_action``/``send_code``.

A mixin: :class:`~thalovant.client.client.AsyncThalovantClient` inherits these methods, which
hand over to its :class:`~thalovant.client.asking.Asker` (publication through
``ClientRuntime.publish``, collection by request id; docs/protocol.md §3.5, §3.6, §4 and
docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from thalovant.client.asking import Asker
from thalovant.client.inputs import action_input, code_input
from thalovant.client.outgoing import require_text
from thalovant.client.runtime import ClientRuntime
from thalovant.client.streaming import AsyncThalovantReplyStream, stream_options
from thalovant.models.types import ThalovantReply

__all__ = ["UtteranceMethods"]


class UtteranceMethods:
    """``ask``, ``query`` and ``send_*`` of the async client (set up by its ``__init__``)."""

    _runtime: ClientRuntime
    _asker: Asker

    async def ask(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
        stt_lang: str | None = None,
        pipeline: Iterable[str] | None = None,
        location: Mapping[str, Any] | None = None,
    ) -> ThalovantReply:
        """Send an utterance and collect the hub's reply (docs/protocol.md §3.5).

        One deadline covers connecting, sending and collecting; the request is never resent
        once it reached the connection.

        Args:
            text: The utterance (stripped; must not be blank).
            timeout: Seconds for the whole ask.
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id of the turn (default: the conversation's or connection's).
            request_id: Correlation id (default ``thalovant-request-<hex>``).
            stt_lang: ``context.stt_lang``.
            pipeline: Intent stages, sent as ``context.session.pipeline``.
            location: ``context.location`` (see ``build_location``).

        Returns:
            The collected reply.

        Raises:
            ThalovantPolicyDeniedError: The hub refused the message type.
            ThalovantUnansweredError: No intent matched and nothing was said.
            ThalovantTimeoutError: No speech before the deadline.
            ThalovantConnectionError: The link dropped or the client closed.
            ThalovantRuntimeError: Invalid arguments, or a duplicate request id in flight.
        """
        self._runtime.check_loop()
        return await self._asker.ask(
            require_text(text).strip(),
            timeout=timeout,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
            stt_lang=stt_lang,
            pipeline=pipeline,
            location=location,
        )

    def ask_stream(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
        stt_lang: str | None = None,
        pipeline: Iterable[str] | None = None,
        location: Mapping[str, Any] | None = None,
    ) -> AsyncThalovantReplyStream:
        """``ask``, streamed: each speech and display event of the request as it arrives
        (docs/protocol.md §3.5; :mod:`thalovant.client.streaming`)::

            async with client.ask_stream("tell me a story") as stream:
                async for event in stream:
                    print(event.text)
            print(stream.reply.text)

        The ask is published on ``async with`` entry or the first ``__anext__``; iteration
        ends when the request completes (the completion rules of ``ask``), and then
        ``stream.reply`` holds the final reply.

        Args:
            text: The utterance (stripped; must not be blank).
            timeout: Seconds for the whole stream, counted from this call.
            lang: Language of the utterance.
            context: Caller context (deep-copied now, never modified).
            session_id: Session id of the turn (default: the conversation's or connection's).
            request_id: Correlation id (default ``thalovant-request-<hex>``).
            stt_lang: ``context.stt_lang``.
            pipeline: Intent stages, sent as ``context.session.pipeline``.
            location: ``context.location`` (see ``build_location``).

        Returns:
            The stream (async iterator of ``ThalovantEvent``, async context manager). Iterating
            raises the errors of ``ask``: ThalovantPolicyDeniedError, ThalovantUnansweredError,
            ThalovantTimeoutError, ThalovantConnectionError; and ThalovantRuntimeError when
            the consumer let more than ``STREAM_MAX_BUFFERED`` events wait.

        Raises:
            ThalovantRuntimeError: Invalid arguments, or called from another event loop.
        """
        self._runtime.check_loop()
        return AsyncThalovantReplyStream(
            self._asker,
            require_text(text).strip(),
            timeout=timeout,
            options=stream_options(
                lang=lang,
                context=context,
                session_id=session_id,
                request_id=request_id,
                stt_lang=stt_lang,
                pipeline=pipeline,
                location=location,
            ),
        )

    async def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """A direct HiveMind ``query`` (docs/protocol.md §3.6), complete on
        ``hive.query.complete``.

        Args:
            text: The utterance (stripped; must not be blank).
            timeout: Seconds for the whole query.
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id (default a new ``thalovant-session-<hex>``).
            request_id: Correlation id (default ``thalovant-request-<hex>``).
            query_id: Query id (default the request id).

        Returns:
            The collected reply.

        Raises:
            ThalovantTimeoutError: ``hive.query.complete`` did not come in time.
            ThalovantConnectionError: The link dropped or the client closed.
            ThalovantRuntimeError: Invalid arguments.
        """
        self._runtime.check_loop()
        return await self._asker.query(
            require_text(text).strip(),
            timeout=timeout,
            lang=lang,
            context=context,
            session_id=session_id,
            query_id=query_id,
            request_id=request_id,
        )

    async def send_utterance(
        self,
        text: str,
        lang: str = "en-us",
        *,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send an utterance without waiting for a reply (docs/protocol.md §4).

        Args:
            text: The utterance (must not be blank).
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id of the turn.
            request_id: Correlation id (default ``thalovant-request-<hex>``).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: Invalid arguments.
        """
        self._runtime.check_loop()
        return await self._asker.send_untracked(
            require_text(text),
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )

    async def send_action(
        self,
        action: str | None = None,
        /,
        payload: Mapping[str, Any] | str | None = None,
        *,
        title: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send a UI action (docs/protocol.md §4). Both
        ``send_action("/choose", payload={"id": "42"}, title=...)`` and the reference form
        ``send_action('/choose{"id":"42"}', title=...)`` send the same utterance text.

        Args:
            action: The action, or (without ``payload``) the whole action payload string.
            payload: A mapping or JSON string appended to ``action``; without ``action``,
                the whole action payload string (the official ``payload=`` form).
            title: ``context.input.title``.
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id of the turn.
            request_id: Correlation id (default ``thalovant-request-<hex>``).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: Invalid arguments (e.g. a payload that is not JSON).
        """
        self._runtime.check_loop()
        text, given = action_input(action, payload, title)
        return await self._asker.send_untracked(
            text,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
            input=given,
        )

    async def send_code(
        self,
        value: str,
        kind: str = "code",
        label: str | None = None,
        *,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send exact input: a scan, a serial number, a PIN (docs/protocol.md §4).

        Args:
            value: The exact value (also the utterance).
            kind: ``input.kind``.
            label: ``input.label``.
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id of the turn.
            request_id: Correlation id (default ``thalovant-request-<hex>``).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: Invalid arguments.
        """
        self._runtime.check_loop()
        given = code_input(value, kind, label)
        return await self._asker.send_untracked(
            value,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
            input=given,
            data_input=True,
        )

"""The blocking utterance methods of ``ThalovantClient``: ``ask``, ``query`` and
``send_utterance``/``send_action``/``send_code``.

A mixin of :class:`~thalovant.sync.client.ThalovantClient`: each method is one call of its
async twin (:mod:`thalovant.client.utterances`) through the client's loop thread
(docs/protocol.md §3.5, §3.6, §4; docs/architecture.md, the blocking facade).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from thalovant.client.client import AsyncThalovantClient
from thalovant.models.types import ThalovantReply
from thalovant.sync.bridges import ThalovantReplyStream
from thalovant.sync.portal import LoopThread

__all__ = ["UtteranceMethods"]


class UtteranceMethods:
    """``ask``, ``query`` and ``send_*`` of the blocking client."""

    _async: AsyncThalovantClient
    _loop: LoopThread

    def ask(
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
        """Send an utterance and collect the hub's reply (``AsyncThalovantClient.ask``).

        Args:
            text: The utterance (stripped; must not be blank).
            timeout: Seconds for the whole ask.
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id of the turn.
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
            ThalovantRuntimeError: Invalid arguments, or the client is closed.
        """
        return self._loop.call(
            self._async.ask,
            text,
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
    ) -> ThalovantReplyStream:
        """``ask``, streamed (``AsyncThalovantClient.ask_stream``): a plain iterator of the
        request's speech and display events as they arrive, then ``stream.reply``::

            with client.ask_stream("tell me a story") as stream:
                for event in stream:
                    print(event.text)

        Args:
            text: The utterance (stripped; must not be blank).
            timeout: Seconds for the whole stream, counted from this call.
            lang: Language of the utterance.
            context: Caller context (deep-copied now, never modified).
            session_id: Session id of the turn.
            request_id: Correlation id (default ``thalovant-request-<hex>``).
            stt_lang: ``context.stt_lang``.
            pipeline: Intent stages, sent as ``context.session.pipeline``.
            location: ``context.location`` (see ``build_location``).

        Returns:
            The stream; stepping it raises the errors of ``ask``.

        Raises:
            ThalovantRuntimeError: Invalid arguments, or the client is closed.
        """
        inner = self._loop.call_sync(
            self._async.ask_stream,
            text,
            timeout=timeout,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
            stt_lang=stt_lang,
            pipeline=pipeline,
            location=location,
        )
        return ThalovantReplyStream(self._loop, inner)

    def query(
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
        """A direct HiveMind ``query`` (``AsyncThalovantClient.query``).

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
        """
        return self._loop.call(
            self._async.query,
            text,
            timeout=timeout,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
            query_id=query_id,
        )

    def send_utterance(
        self,
        text: str,
        lang: str = "en-us",
        *,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send an utterance without waiting for a reply
        (``AsyncThalovantClient.send_utterance``).

        Args:
            text: The utterance (must not be blank).
            lang: Language of the utterance.
            context: Caller context (deep-copied, never modified).
            session_id: Session id of the turn.
            request_id: Correlation id (default ``thalovant-request-<hex>``).

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent.
        """
        return self._loop.call(
            self._async.send_utterance,
            text,
            lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )

    def send_action(
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
        """Send a UI action (``AsyncThalovantClient.send_action``).

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
            ThalovantConnectionError: Not sent.
            ThalovantRuntimeError: Invalid arguments.
        """
        return self._loop.call(
            self._async.send_action,
            action,
            payload,
            title=title,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )

    def send_code(
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
        """Send exact input: a scan, a serial number, a PIN
        (``AsyncThalovantClient.send_code``).

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
            ThalovantConnectionError: Not sent.
            ThalovantRuntimeError: Invalid arguments.
        """
        return self._loop.call(
            self._async.send_code,
            value,
            kind,
            label,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )

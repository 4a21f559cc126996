"""Sans-I/O collection of the reply to one ``ask`` or ``query``.

Nothing here sleeps, awaits or reads a clock: the caller feeds events with the current time
(``now``, any monotonic float), asks :meth:`AskCollector.next_deadline` when to give up
waiting, and calls ``finish(now)`` for the outcome. The async glue lives in
:mod:`thalovant.bus.requests` (:class:`~thalovant.bus.requests.CollectorSink`); the conversation
carry a handled event feeds is :mod:`thalovant.client.carry`.

Completion rules of :class:`AskCollector` (docs/protocol.md §3.5, improved as docs/architecture.md
describes):

* ``ovos.utterance.handled`` completes the reply at once when speech arrived before it, or
  when it follows an intent miss (``complete_intent_failure`` / ``ovos.intent.unmatched``).
  Handled with nothing before it opens the empty window (speech may trail it).
* ``hive.policy.denied`` / ``hive.query.timeout`` complete at once (hard failure).
* The settle window is only the fallback for hubs that never send ``handled``: with
  ``hub_sends_handled=False`` the first speech opens ``settle_seconds`` and every later
  (non-duplicate) speech slides it, so a slow multi-sentence skill is not cut mid-reply. With
  ``hub_sends_handled=True`` speech opens no window: the collector waits for ``handled``,
  bounded by the caller's overall deadline.
* An intent miss without speech opens the empty window (``empty_wait_seconds``); later speech
  recovers it. Windows other than the sliding settle window are never extended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from thalovant.client.carry import carry_fields, is_empty
from thalovant.errors import (
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
)
from thalovant.events import (
    EVENT_AUDIO_QUEUE,
    EVENT_INTENT_FAILURE,
    EVENT_INTENT_UNMATCHED,
    EVENT_POLICY_DENIED,
    EVENT_QUERY_COMPLETE,
    EVENT_QUERY_TIMEOUT,
    EVENT_UTTERANCE_HANDLED,
    SPEAK_EVENTS,
)
from thalovant.models.types import ThalovantEvent, ThalovantReply
from thalovant.protocol.query import unwrap_query

__all__ = [
    "MAX_CLIP_HEX_CHARS",
    "MAX_REPLY_MEDIA_HEX_CHARS",
    "AskCollector",
    "QueryCollector",
]

#: A ``mycroft.audio.queue`` clip is kept only up to this much hex (4 MiB of audio) ...
MAX_CLIP_HEX_CHARS = 8 * 1024 * 1024
#: ... and while the reply's clips stay within this much hex (16 MiB of audio).
MAX_REPLY_MEDIA_HEX_CHARS = 32 * 1024 * 1024

_SOFT_FAILURES = frozenset({EVENT_INTENT_FAILURE, EVENT_INTENT_UNMATCHED})
_HARD_FAILURES = frozenset({EVENT_POLICY_DENIED, EVENT_QUERY_TIMEOUT})
_HEX = frozenset("0123456789abcdefABCDEF")
_NO_SPEECH = "hub did not emit a speak reply"


def _is_clip(value: object) -> TypeGuard[str]:
    """A non-empty, even-length hex string within the per-clip cap (length checked first)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_CLIP_HEX_CHARS
        and len(value) % 2 == 0
        and _HEX.issuperset(value)
    )


class _ReplyState:
    """What both collectors accumulate: speech, media, failures, session ids, carry."""

    def __init__(self, request_id: str, session_id: str | None, utterance: str | None) -> None:
        self.request_id = request_id
        self.request_session_id = session_id
        self.utterance = utterance
        self.fragments: list[str] = []
        self.events: list[ThalovantEvent] = []
        self.session_ids: list[str] = []
        self.media_hex = 0
        self.dropped_media = 0
        self.soft: ThalovantEvent | None = None
        self.hard: ThalovantEvent | None = None
        self.carry: dict[str, Any] | None = None

    def _collect(self, event: ThalovantEvent) -> None:
        self.events.append(event)
        sid = event.session_id
        if sid is not None and sid not in self.session_ids:
            self.session_ids.append(sid)

    def add(self, event: ThalovantEvent) -> str:
        """Take one event in; returns what it was: speech, duplicate, handled, soft, hard,
        media, dropped or other."""
        name = event.name
        if name == EVENT_AUDIO_QUEUE:
            clip = event.data.get("binary_data")
            if _is_clip(clip) and self.media_hex + len(clip) <= MAX_REPLY_MEDIA_HEX_CHARS:
                self.media_hex += len(clip)
                self._collect(event)
                return "media"
            self.dropped_media += 1
            return "dropped"
        self._collect(event)
        if name in SPEAK_EVENTS:
            text = event.text
            if not text:
                return "other"
            if self.fragments and self.fragments[-1] == text:
                return "duplicate"
            self.fragments.append(text)
            self.soft = None
            return "speech"
        if name == EVENT_UTTERANCE_HANDLED:
            self.carry = carry_fields(event)
            return "handled"
        if name in _HARD_FAILURES:
            if self.hard is None:
                self.hard = event
            return "hard"
        if name in _SOFT_FAILURES:
            if not self.fragments and self.soft is None:
                self.soft = event
            return "soft"
        return "other"

    def outcome(self) -> ThalovantReply:
        """The reply, or the typed error when there is no speech."""
        if not self.fragments:
            failure = self.hard or self.soft
            if failure is None:
                raise ThalovantTimeoutError(_NO_SPEECH)
            data = failure.data
            if failure.name == EVENT_POLICY_DENIED:
                raise ThalovantPolicyDeniedError.from_data(data)
            if failure.name in _SOFT_FAILURES:
                said = failure.text or self.utterance
                raise ThalovantUnansweredError(said or "")
            detail = next(
                (str(data[k]) for k in ("reason", "error", "code") if not is_empty(data.get(k))),
                failure.name,
            )
            raise ThalovantRuntimeError(f"hub failed the request: {detail[:200]}")
        return ThalovantReply(
            text=" ".join(self.fragments),
            utterances=tuple(self.fragments),
            handled=self.hard is None,
            session_id=self.session_ids[0] if self.session_ids else self.request_session_id,
            request_id=self.request_id,
            events=tuple(self.events),
            failure_event=self.hard,
            dropped_media=self.dropped_media,
            raw_messages=tuple(e.to_message() for e in self.events),
        )


class AskCollector:
    """Collects the events of one ``ask`` (routed to it by request id) into a reply.

    ``utterance`` (the asked text) is only used for ``ThalovantUnansweredError.said`` when the
    miss event does not echo it. After completion, ``feed`` still records the conversation
    carry of a late ``ovos.utterance.handled`` (the carry grace period) but changes nothing
    else.

    Args:
        request_id: The ask's request id (other requests' events are ignored).
        session_id: The session id the ask was sent with.
        utterance: The asked text.
        settle_seconds: Settle window after speech (hubs not known to send ``handled``).
        empty_wait_seconds: Wait for speech after an intent miss or a bare ``handled``.
        hub_sends_handled: This hub is known to send ``ovos.utterance.handled``.
    """

    def __init__(
        self,
        request_id: str,
        *,
        session_id: str | None = None,
        utterance: str | None = None,
        settle_seconds: float = 0.25,
        empty_wait_seconds: float = 5.0,
        hub_sends_handled: bool = False,
    ) -> None:
        self.request_id = request_id
        self.settle_seconds = settle_seconds
        self.empty_wait_seconds = empty_wait_seconds
        self.hub_sends_handled = hub_sends_handled
        self._state = _ReplyState(request_id, session_id, utterance)
        self._settle_at: float | None = None
        self._empty_at: float | None = None
        self._done_at: float | None = None
        self._handled_seen = False
        self.last_kind: str | None = None
        """What the last fed event was to the reply (``speech``, ``duplicate``, ``media``,
        ...); None when it was ignored (another request's, or after completion)."""

    @property
    def done(self) -> bool:
        """True once collection is complete (by an event or a passed window)."""
        return self._done_at is not None

    @property
    def handled_seen(self) -> bool:
        """True when the hub sent ``ovos.utterance.handled`` for this request."""
        return self._handled_seen

    @property
    def carry(self) -> dict[str, Any] | None:
        """Conversation fields of the last handled event; None if none arrived yet."""
        return self._state.carry

    @property
    def session_ids(self) -> tuple[str, ...]:
        """Distinct session ids seen on collected events, in order."""
        return tuple(self._state.session_ids)

    def next_deadline(self) -> float | None:
        """When collection ends by itself; None means: wait for the overall deadline."""
        if self._done_at is not None:
            return self._done_at
        return self._settle_at if self._state.fragments else self._empty_at

    def poll(self, now: float) -> bool:
        """Mark the collection complete if its own deadline has passed.

        Args:
            now: The current time (any monotonic clock).

        Returns:
            True when complete.
        """
        deadline = self.next_deadline()
        if self._done_at is None and deadline is not None and now >= deadline:
            self._done_at = now
        return self._done_at is not None

    def _complete(self, now: float) -> bool:
        self._done_at = now
        return True

    def feed(self, event: ThalovantEvent, now: float) -> bool:
        """Take one event in (another request's event is ignored).

        Args:
            event: The event, routed here by request id.
            now: The current time (any monotonic clock).

        Returns:
            True when collection is complete.
        """
        rid = event.request_id
        self.last_kind = None
        if rid is not None and rid != self.request_id:
            return self.done
        if self.poll(now):
            if event.name == EVENT_UTTERANCE_HANDLED:
                self._handled_seen = True
                self._state.carry = carry_fields(event)
            return True
        state = self._state
        kind = self.last_kind = state.add(event)
        if kind == "speech":
            self._empty_at = None
            if self._handled_seen or not self.hub_sends_handled:
                self._settle_at = now + self.settle_seconds
        elif kind == "handled":
            self._handled_seen = True
            if state.fragments or state.soft is not None:
                return self._complete(now)
            if self._empty_at is None:
                self._empty_at = now + self.empty_wait_seconds
        elif kind == "hard":
            return self._complete(now)
        elif kind == "soft" and not state.fragments:
            if self._handled_seen:
                return self._complete(now)
            if self._empty_at is None:
                self._empty_at = now + self.empty_wait_seconds
        return False

    def finish(self, now: float) -> ThalovantReply:
        """End collection.

        Args:
            now: The current time (any monotonic clock).

        Returns:
            The reply.

        Raises:
            ThalovantPolicyDeniedError: The hub refused the message type.
            ThalovantUnansweredError: No intent matched and nothing was said.
            ThalovantTimeoutError: No speech and no failure.
            ThalovantRuntimeError: Another failure event without speech.
        """
        if self._done_at is None:
            self._done_at = now
        return self._state.outcome()


class QueryCollector:
    """Collects the answer of one direct HiveMind ``query`` (docs/protocol.md §3.6).

    Hive ``query``/``cascade`` frames whose ``metadata.query_id`` (or ``queryId``) matches are
    unwrapped to their bus message. ``hive.query.complete`` or a hard failure completes; intent
    misses stay provisional until then. Finishing before completion raises
    :class:`ThalovantTimeoutError`.

    Args:
        query_id: The query id (other queries' frames are ignored).
        session_id: The session id the query was sent with.
        utterance: The asked text.
    """

    def __init__(
        self, query_id: str, *, session_id: str | None = None, utterance: str | None = None
    ) -> None:
        self.query_id = query_id
        self._state = _ReplyState(query_id, session_id, utterance)
        self._complete = False
        self._done = False

    @property
    def done(self) -> bool:
        """True once ``hive.query.complete`` or a hard failure arrived."""
        return self._done

    @property
    def carry(self) -> dict[str, Any] | None:
        """Conversation fields of the last handled event; None if none arrived."""
        return self._state.carry

    def next_deadline(self) -> float | None:
        """Always None: a query ends on completion or at the caller's deadline."""
        return None

    @staticmethod
    def unwrap(frame: Mapping[str, Any]) -> tuple[str | None, ThalovantEvent] | None:
        """Unwrap a hive ``query``/``cascade`` frame to its bus message.

        Args:
            frame: A decoded hive frame.

        Returns:
            ``(query_id, event)``; None for other frames or undecodable payloads.
        """
        unwrapped = unwrap_query(frame)
        if unwrapped is None:
            return None
        qid, message = unwrapped
        return qid, ThalovantEvent.from_message(message)

    def feed_frame(self, frame: Mapping[str, Any], now: float) -> bool:
        """Take one hive frame in (another query's frames are ignored).

        Args:
            frame: A decoded hive ``query``/``cascade`` frame.
            now: The current time (any monotonic clock).

        Returns:
            True when complete.
        """
        unwrapped = self.unwrap(frame)
        if unwrapped is None or unwrapped[0] != self.query_id:
            return self._done
        return self.feed(unwrapped[1], now)

    def feed(self, event: ThalovantEvent, now: float) -> bool:
        """Take one already unwrapped event in.

        Args:
            event: The event.
            now: The current time (any monotonic clock).

        Returns:
            True when complete.
        """
        if self._done:
            if event.name == EVENT_UTTERANCE_HANDLED:
                self._state.carry = carry_fields(event)
            return True
        if event.name == EVENT_QUERY_COMPLETE:
            self._complete = self._done = True
        elif self._state.add(event) == "hard":
            self._done = True
        return self._done

    def finish(self, now: float) -> ThalovantReply:
        """End collection.

        Args:
            now: The current time (any monotonic clock).

        Returns:
            The reply.

        Raises:
            ThalovantTimeoutError: ``hive.query.complete`` had not arrived.
            ThalovantPolicyDeniedError: The hub refused the message type.
            ThalovantRuntimeError: Another failure event without speech.
        """
        if not self._done:
            self._done = True
            raise ThalovantTimeoutError(f"hub did not complete query {self.query_id!r} in time")
        return self._state.outcome()

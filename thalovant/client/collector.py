"""Sans-I/O collection of the reply to one ``ask`` or ``query``, and the conversation carry.

Nothing here sleeps, awaits or reads a clock: the caller feeds events with the current time
(``now``, any monotonic float), asks :meth:`AskCollector.next_deadline` when to give up
waiting, and calls ``finish(now)`` for the outcome. The async glue lives in
:mod:`thalovant.bus.bus` (:class:`~thalovant.bus.bus.CollectorSink`).

Completion rules of :class:`AskCollector` (docs/protocol.md §3.5, improved as DESIGN.md asks):

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

import copy
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

import msgspec

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

__all__ = [
    "CONVERSATION_SESSION_FIELDS",
    "MAX_CLIP_HEX_CHARS",
    "MAX_CONVERSATION_ALIASES",
    "MAX_REMEMBERED_CONVERSATIONS",
    "MAX_REPLY_MEDIA_HEX_CHARS",
    "AskCollector",
    "ConversationCarry",
    "QueryCollector",
    "carry_fields",
]

#: Session fields carried from ``ovos.utterance.handled`` into the next turn (docs/protocol.md §6).
CONVERSATION_SESSION_FIELDS = (
    "converse_handlers",
    "active_handlers",
    "active_skills",
    "context",
    "utterance_states",
    "response_mode",
)
MAX_REMEMBERED_CONVERSATIONS = 32
MAX_CONVERSATION_ALIASES = 8
#: A ``mycroft.audio.queue`` clip is kept only up to this much hex (4 MiB of audio) ...
MAX_CLIP_HEX_CHARS = 8 * 1024 * 1024
#: ... and while the reply's clips stay within this much hex (16 MiB of audio).
MAX_REPLY_MEDIA_HEX_CHARS = 32 * 1024 * 1024

_SOFT_FAILURES = frozenset({EVENT_INTENT_FAILURE, EVENT_INTENT_UNMATCHED})
_HARD_FAILURES = frozenset({EVENT_POLICY_DENIED, EVENT_QUERY_TIMEOUT})
_HEX = frozenset("0123456789abcdefABCDEF")
_NO_SPEECH = "hub did not emit a speak reply"


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, (str, list, tuple, dict)) and not value)


def carry_fields(event: ThalovantEvent) -> dict[str, Any]:
    """The non-empty conversation fields of ``context.session`` of a handled event (copied)."""
    session = event.context.get("session")
    if not isinstance(session, Mapping):
        return {}
    return {
        key: copy.deepcopy(session[key])
        for key in CONVERSATION_SESSION_FIELDS
        if not _empty(session.get(key))
    }


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
                raise ThalovantUnansweredError(
                    f"no skill matched {said!r}" if said else "no skill matched", said=said
                )
            detail = next(
                (str(data[k]) for k in ("reason", "error", "code") if not _empty(data.get(k))),
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
        """Mark the collection complete if its own deadline has passed; True when complete."""
        deadline = self.next_deadline()
        if self._done_at is None and deadline is not None and now >= deadline:
            self._done_at = now
        return self._done_at is not None

    def _complete(self, now: float) -> bool:
        self._done_at = now
        return True

    def feed(self, event: ThalovantEvent, now: float) -> bool:
        """Take one event in; True when collection is complete."""
        rid = event.request_id
        if rid is not None and rid != self.request_id:
            return self.done
        if self.poll(now):
            if event.name == EVENT_UTTERANCE_HANDLED:
                self._handled_seen = True
                self._state.carry = carry_fields(event)
            return True
        state = self._state
        kind = state.add(event)
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
        """End collection and return the reply, or raise the typed outcome error."""
        if self._done_at is None:
            self._done_at = now
        return self._state.outcome()


class QueryCollector:
    """Collects the answer of one direct HiveMind ``query`` (docs/protocol.md §3.6).

    Hive ``query``/``cascade`` frames whose ``metadata.query_id`` (or ``queryId``) matches are
    unwrapped to their bus message. ``hive.query.complete`` or a hard failure completes; intent
    misses stay provisional until then. Finishing before completion raises
    :class:`ThalovantTimeoutError`.
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
        """``(query_id, event)`` of a hive ``query``/``cascade`` frame; None for other frames."""
        if frame.get("msg_type") not in ("query", "cascade"):
            return None
        meta = frame.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        qid = meta.get("query_id", meta.get("queryId"))
        payload: object = frame.get("payload")
        for _ in range(8):  # nested envelopes: query -> bus -> message
            if isinstance(payload, (str, bytes)):
                try:
                    payload = msgspec.json.decode(payload)
                except msgspec.DecodeError:
                    return None
            if isinstance(payload, Mapping) and "type" not in payload and "msg_type" in payload:
                payload = payload.get("payload")
                continue
            break
        if not isinstance(payload, Mapping) or not isinstance(payload.get("type"), str):
            return None
        return (str(qid) if qid is not None else None), ThalovantEvent.from_message(payload)

    def feed_frame(self, frame: Mapping[str, Any], now: float) -> bool:
        """Take one hive frame in (others' frames are ignored); True when complete."""
        unwrapped = self.unwrap(frame)
        if unwrapped is None or unwrapped[0] != self.query_id:
            return self._done
        return self.feed(unwrapped[1], now)

    def feed(self, event: ThalovantEvent, now: float) -> bool:
        """Take one already unwrapped event in; True when complete."""
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
        """The reply; raises the typed outcome error, or a timeout before completion."""
        if not self._done:
            self._done = True
            raise ThalovantTimeoutError(f"hub did not complete query {self.query_id!r} in time")
        return self._state.outcome()


class ConversationCarry:
    """Client-side conversation state per session (docs/protocol.md §6): an LRU of at most
    ``max_conversations`` conversations, each known under at most ``max_aliases`` ids (the
    session id the request used, the one the hub answered with, the one returned)."""

    def __init__(
        self,
        *,
        max_conversations: int = MAX_REMEMBERED_CONVERSATIONS,
        max_aliases: int = MAX_CONVERSATION_ALIASES,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_aliases = max_aliases
        self._serial = 0
        # conversation key -> (aliases, fields); OrderedDict order is LRU -> MRU
        self._conversations: OrderedDict[int, tuple[list[str], dict[str, Any]]] = OrderedDict()
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._conversations)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._index

    def get(self, session_id: str) -> dict[str, Any] | None:
        """A copy of the fields carried for ``session_id`` (does not touch the LRU order)."""
        key = self._index.get(session_id)
        return None if key is None else copy.deepcopy(self._conversations[key][1])

    def forget(self, session_id: str) -> None:
        """Drop the conversation ``session_id`` belongs to."""
        key = self._index.get(session_id)
        if key is not None:
            self._drop(key)

    def clear(self) -> None:
        """Forget everything."""
        self._conversations.clear()
        self._index.clear()

    def _drop(self, key: int) -> None:
        aliases, _ = self._conversations.pop(key)
        for alias in aliases:
            if self._index.get(alias) == key:
                del self._index[alias]

    def record(self, session_ids: Iterable[str | None], fields: Mapping[str, Any]) -> None:
        """Remember ``fields`` under every id in ``session_ids``; empty fields erase."""
        ids = list(dict.fromkeys(s for s in session_ids if isinstance(s, str) and s))
        if not ids:
            return
        keys = list(dict.fromkeys(self._index[s] for s in ids if s in self._index))
        carried = {k: copy.deepcopy(v) for k, v in fields.items() if not _empty(v)}
        if not carried:
            for key in keys:
                self._drop(key)
            return
        if keys:
            key, merged = keys[0], keys[1:]
            aliases = self._conversations[key][0]
            for other in merged:  # ids that named separate conversations now name one
                aliases.extend(self._conversations[other][0])
                self._drop(other)
        else:
            self._serial += 1
            key, aliases = self._serial, []
        aliases = [a for a in aliases if a not in ids] + ids
        for alias in aliases[: -self.max_aliases]:
            if self._index.get(alias) == key:
                del self._index[alias]
        aliases = aliases[-self.max_aliases :]
        for alias in aliases:
            self._index[alias] = key
        self._conversations[key] = (aliases, carried)
        self._conversations.move_to_end(key)
        while len(self._conversations) > self.max_conversations:
            self._drop(next(iter(self._conversations)))

    def apply(self, session_id: str | None, session_ctx: dict[str, Any]) -> None:
        """Copy carried fields the caller did not set (absent or None) into ``session_ctx``."""
        key = self._index.get(session_id) if session_id else None
        if key is None:
            return
        self._conversations.move_to_end(key)
        for field, value in self._conversations[key][1].items():
            if session_ctx.get(field) is None:
                session_ctx[field] = copy.deepcopy(value)

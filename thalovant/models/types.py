"""Public data types: bus events, normalised replies, display items and connection health.

Display items and :func:`strip_ssml` live in :mod:`thalovant.models.markup` (its docstring describes
the rich media shape the SDK parses) and are re-exported here.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from thalovant.errors import ThalovantRuntimeError
from thalovant.events import (
    EVENT_AUDIO_QUEUE,
    EVENT_POLICY_DENIED,
    FAILURE_EVENTS,
    SPEAK_EVENTS,
    THALOVANT_CLAIMED_META_KEY,
)
from thalovant.models.markup import (
    ThalovantDisplayItem,
    ThalovantDisplayItems,
    _collapse,
    _opt_text,
    parse_display_items,
    strip_ssml,
)
from thalovant.redact import scrub_text

__all__ = [
    "DEFAULT_AUDIO_MAX_BYTES",
    "ConnectionPhase",
    "ThalovantConnectionInfo",
    "ThalovantDisplayItem",
    "ThalovantDisplayItems",
    "ThalovantEvent",
    "ThalovantHealth",
    "ThalovantReply",
    "parse_display_items",
    "strip_ssml",
]

#: Default cap of :meth:`ThalovantEvent.audio_bytes` (decoded bytes).
DEFAULT_AUDIO_MAX_BYTES = 4 * 1024 * 1024

_ID_KEYS = ("request_id", "thalovant_request_id", "correlation_id")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ident(value: object) -> str | None:
    """A non-blank string id (ints accepted, bools not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


# ---------------------------------------------------------------------------------------------
# Events


class ThalovantEvent(msgspec.Struct, frozen=True):
    """One OVOS bus message received from the hub: ``name`` (the message ``type``), ``data``,
    ``context`` and the ``raw`` message."""

    name: str
    data: dict[str, Any] = {}
    context: dict[str, Any] = {}
    raw: dict[str, Any] | None = None

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> ThalovantEvent:
        """Build an event from a bus message.

        Args:
            message: ``{"type", "data", "context"}`` (kept whole as ``raw``).

        Returns:
            The event.
        """
        data, context = message.get("data"), message.get("context")
        return cls(
            name=str(message.get("type") or ""),
            data=dict(data) if isinstance(data, Mapping) else {},
            context=dict(context) if isinstance(context, Mapping) else {},
            raw=dict(message),
        )

    @property
    def _session(self) -> Mapping[str, Any]:
        return _mapping(self.context.get("session"))

    @property
    def text(self) -> str:
        """``data.utterance`` or ``data.text`` or the first of ``data.utterances``, collapsed."""
        for key in ("utterance", "text"):
            value = self.data.get(key)
            if isinstance(value, str) and value.strip():
                return _collapse(value)
        utterances = self.data.get("utterances")
        if isinstance(utterances, (list, tuple)) and utterances:
            first = utterances[0]
            if isinstance(first, str):
                return _collapse(first)
        return ""

    @property
    def display_text(self) -> str:
        """:attr:`text` with SSML stripped."""
        return strip_ssml(self.text)

    @property
    def utterances(self) -> tuple[str, ...]:
        """The strings of ``data.utterances``, else ``(text,)`` when there is text."""
        values = self.data.get("utterances")
        if isinstance(values, (list, tuple)):
            found = tuple(v for v in values if isinstance(v, str))
            if found:
                return found
        text = self.text
        return (text,) if text else ()

    @property
    def session_id(self) -> str | None:
        """``context.session.session_id`` or ``context.session_id``."""
        return _ident(self._session.get("session_id")) or _ident(self.context.get("session_id"))

    @property
    def site_id(self) -> str | None:
        """``context.session.site_id`` or ``context.site_id``."""
        return _ident(self._session.get("site_id")) or _ident(self.context.get("site_id"))

    @property
    def request_id(self) -> str | None:
        """The correlation id: context, then ``context.session``, then ``data``; within each,
        ``request_id``, ``thalovant_request_id``, ``correlation_id``."""
        for where in (self.context, self._session, self.data):
            for key in _ID_KEYS:
                found = _ident(where.get(key))
                if found is not None:
                    return found
        return None

    @property
    def lang(self) -> str | None:
        """``data.lang``, else ``context.lang``, else ``context.session.lang``."""
        for where in (self.data, self.context, self._session):
            found = _opt_text(where.get("lang"))
            if found:
                return found
        return None

    @property
    def is_audio(self) -> bool:
        """True for ``mycroft.audio.queue`` events."""
        return self.name == EVENT_AUDIO_QUEUE

    @property
    def has_audio(self) -> bool:
        """True when ``data.binary_data`` holds a non-empty string."""
        value = self.data.get("binary_data")
        return isinstance(value, str) and bool(value)

    def audio_bytes(self, max_bytes: int = DEFAULT_AUDIO_MAX_BYTES) -> bytes | None:
        """The hex-decoded ``data.binary_data``.

        Args:
            max_bytes: The largest clip accepted (checked before decoding).

        Returns:
            The clip, or None when the event carries none.

        Raises:
            ThalovantRuntimeError: The clip exceeds ``max_bytes`` or is not valid hex (a corrupt
                clip is a fault, not silence).
        """
        value = self.data.get("binary_data")
        if not isinstance(value, str) or not value:
            return None
        if (len(value) + 1) // 2 > max_bytes:
            raise ThalovantRuntimeError(f"audio clip exceeds {max_bytes} bytes")
        try:
            return binascii.unhexlify(value)
        except (binascii.Error, ValueError):
            raise ThalovantRuntimeError("audio clip is not valid hex") from None

    @property
    def is_policy_denied(self) -> bool:
        """True for ``hive.policy.denied``."""
        return self.name == EVENT_POLICY_DENIED

    @property
    def is_failure(self) -> bool:
        """True for intent misses, policy denials and hub query timeouts."""
        return self.name in FAILURE_EVENTS

    @property
    def is_speech(self) -> bool:
        """True for ``speak`` and ``ovos.utterance.speak``."""
        return self.name in SPEAK_EVENTS

    @property
    def rich_media(self) -> Any:
        """``data.rich_media_data``, ``data.rich_media`` or ``data.display`` (first present)."""
        for key in ("rich_media_data", "rich_media", "display"):
            value = self.data.get(key)
            if value is not None:
                return value
        return None

    def display_items(self, max_text_chars: int | None = None) -> ThalovantDisplayItems:
        """Parsed :attr:`rich_media`; without rich items, one text item of the display text.

        Args:
            max_text_chars: Cut each item's text to this length (None: no limit).

        Returns:
            The display items (a tuple that is also callable).
        """
        items = parse_display_items(self.rich_media)
        if not items and self.display_text:
            items = (ThalovantDisplayItem(kind="text", text=self.display_text),)
        return ThalovantDisplayItems(items)(max_text_chars)

    def matches_context(
        self,
        context: Mapping[str, Any] | None = None,
        *,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> bool:
        """The listener filter.

        When both request ids exist they must be equal; otherwise, when both session ids exist
        they must be equal; otherwise the event is accepted.

        Args:
            context: A context mapping to take ``request_id`` and the session id
                (``session.session_id`` or ``session_id``) from, where the arguments are None.
            session_id: The listener's session id.
            request_id: The listener's request id.

        Returns:
            True when the event belongs to the listener.

        Raises:
            ThalovantRuntimeError: ``context`` is not a mapping (a session id goes in
                ``session_id=``).
        """
        if context is not None:
            if not isinstance(context, Mapping):
                raise ThalovantRuntimeError(
                    "matches_context() takes a context mapping; pass a session id as session_id="
                )
            if request_id is None and isinstance(context.get("request_id"), str):
                request_id = context["request_id"]
            if session_id is None:
                session = context.get("session")
                sid = session.get("session_id") if isinstance(session, Mapping) else None
                sid = sid if sid is not None else context.get("session_id")
                session_id = sid if isinstance(sid, str) else None
        mine = self.request_id
        if request_id is not None and mine is not None:
            return mine == request_id
        theirs = self.session_id
        if session_id is not None and theirs is not None:
            return theirs == session_id
        return True

    def to_message(self) -> dict[str, Any]:
        """The raw bus message.

        Returns:
            ``raw``, or ``{"type", "data", "context"}`` rebuilt when there is none.
        """
        if self.raw is not None:
            return self.raw
        return {"type": self.name, "data": self.data, "context": self.context}

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            ``{"name", "data", "context"}`` (shallow copies).
        """
        return {"name": self.name, "data": dict(self.data), "context": dict(self.context)}


# ---------------------------------------------------------------------------------------------
# Replies


class ThalovantReply(msgspec.Struct, frozen=True):
    """The normalised answer of one ``ask`` or ``query``."""

    text: str = ""
    utterances: tuple[str, ...] = ()
    handled: bool = False
    session_id: str | None = None
    request_id: str | None = None
    raw_messages: tuple[dict[str, Any], ...] = ()
    events: tuple[ThalovantEvent, ...] = ()
    failure_event: ThalovantEvent | None = None
    dropped_media: int = 0

    @property
    def ok(self) -> bool:
        """Handled and no failure event."""
        return self.handled and self.failure_event is None

    @property
    def display_text(self) -> str:
        """:attr:`text` with SSML stripped."""
        return strip_ssml(self.text)

    @property
    def speech(self) -> str:
        """The speakable text (SSML and markup removed); the docs' name for display_text."""
        return self.display_text

    @property
    def _speech_events(self) -> tuple[ThalovantEvent, ...]:
        return tuple(e for e in self.events if e.is_speech)

    @property
    def display_items(self) -> ThalovantDisplayItems:
        """Rich items of the speak events, else one text item; also callable
        (``reply.display_items(max_text_chars=80)``)."""
        items: list[ThalovantDisplayItem] = []
        for event in self._speech_events:
            items.extend(parse_display_items(event.rich_media))
        if not items and self.display_text:
            items.append(ThalovantDisplayItem(kind="text", text=self.display_text))
        return ThalovantDisplayItems(items)

    @property
    def raw_event(self) -> dict[str, Any] | None:
        """The raw message of the last speak event, else of the failure event."""
        speech = self._speech_events
        chosen = speech[-1] if speech else self.failure_event
        if chosen is None:
            return None
        return chosen.to_message()

    @property
    def policy_denied(self) -> bool:
        """True when the hub's policy refused the request."""
        return self.failure_event is not None and self.failure_event.is_policy_denied

    def _context_ids(self, key: str) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for event in self.events:
            value = _opt_text(event.context.get(key))
            if value:
                seen.setdefault(value, None)
        return tuple(seen)

    @property
    def pipeline_ids(self) -> tuple[str, ...]:
        """Distinct ``context.pipeline_id`` values, in order of appearance."""
        return self._context_ids("pipeline_id")

    @property
    def skill_ids(self) -> tuple[str, ...]:
        """Distinct ``context.skill_id`` values, in order of appearance."""
        return self._context_ids("skill_id")

    @property
    def claimed(self) -> bool:
        """Advisory: False only when every pipeline stage id names a fallback; a speak with
        ``data.meta.thalovant_claimed == true`` forces True."""
        for event in self._speech_events:
            if _mapping(event.data.get("meta")).get(THALOVANT_CLAIMED_META_KEY) is True:
                return True
        ids = self.pipeline_ids
        return not (ids and all("fallback" in i.lower() for i in ids))

    @property
    def lang(self) -> str | None:
        """The language of the first speech (else of any event) that names one."""
        for event in (*self._speech_events, *self.events):
            if event.lang:
                return event.lang
        return None

    @property
    def media_events(self) -> tuple[ThalovantEvent, ...]:
        """Kept ``mycroft.audio.queue`` events, in order."""
        return tuple(e for e in self.events if e.is_audio)

    @property
    def has_audio(self) -> bool:
        """True when at least one media event was kept."""
        return any(e.has_audio for e in self.media_events)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary.

        Returns:
            Every field and derived value.
        """
        failure = self.failure_event
        return {
            "text": self.text,
            "speech": self.speech,
            "display_text": self.display_text,
            "utterances": list(self.utterances),
            "handled": self.handled,
            "ok": self.ok,
            "session_id": self.session_id,
            "request_id": self.request_id,
            "lang": self.lang,
            "claimed": self.claimed,
            "pipeline_ids": list(self.pipeline_ids),
            "skill_ids": list(self.skill_ids),
            "policy_denied": self.policy_denied,
            "has_audio": self.has_audio,
            "dropped_media": self.dropped_media,
            "display_items": [item.as_dict() for item in self.display_items],
            "failure_event": failure.as_dict() if failure is not None else None,
            "events": [event.as_dict() for event in self.events],
        }


# ---------------------------------------------------------------------------------------------
# Connection state


ConnectionPhase = Literal["idle", "connecting", "handshake", "ready", "closed", "error"]
_PHASES = frozenset({"idle", "connecting", "handshake", "ready", "closed", "error"})


class ThalovantConnectionInfo(msgspec.Struct, frozen=True):
    """Where a link is in its life and how long each step took (times as ISO 8601 UTC text,
    durations in milliseconds). ``last_error`` is scrubbed of URL queries and userinfo.

    ``socket_open_ms`` is the time until the carrier's socket was usable; our carriers open
    the socket, TLS and the upgrade in one step, so it equals ``transport_open_ms``.
    """

    phase: ConnectionPhase = "idle"
    started_at: str | None = None
    connected_at: str | None = None
    transport_open_ms: float | None = None
    socket_open_ms: float | None = None
    handshake_ms: float | None = None
    connect_ms: float | None = None
    last_error: str | None = None
    protocol: str | None = None
    pattern: str | None = None
    redials: int = 0
    """Times the link came back after a drop (long-run figure, kept across closes)."""
    refusals: int = 0
    """Credential refusals seen (long-run figure)."""
    uptime_seconds: float | None = None
    """Seconds the current link has been up (None while no link is up)."""

    def __post_init__(self) -> None:
        if self.phase not in _PHASES:
            raise ThalovantRuntimeError(f"unknown connection phase {self.phase!r}")
        if self.last_error is not None:
            msgspec.structs.force_setattr(self, "last_error", scrub_text(str(self.last_error)))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            Every field.
        """
        return {f: getattr(self, f) for f in self.__struct_fields__}


class ThalovantHealth(msgspec.Struct, frozen=True):
    """Result of ``healthcheck()``. ``last_error`` is scrubbed of URL queries and userinfo."""

    connected: bool = False
    handshake_complete: bool = False
    transport_alive: bool = False
    last_error: str | None = None
    connection: ThalovantConnectionInfo | None = None

    def __post_init__(self) -> None:
        if self.last_error is not None:
            msgspec.structs.force_setattr(self, "last_error", scrub_text(str(self.last_error)))

    @property
    def ok(self) -> bool:
        """Connected, handshake complete and the transport alive."""
        return self.connected and self.handshake_complete and self.transport_alive

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            Every field, and ``ok``.
        """
        return {
            "ok": self.ok,
            "connected": self.connected,
            "handshake_complete": self.handshake_complete,
            "transport_alive": self.transport_alive,
            "last_error": self.last_error,
            "connection": self.connection.as_dict() if self.connection is not None else None,
        }

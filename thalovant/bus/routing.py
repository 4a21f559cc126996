"""Inbound dispatch: what the link's reader does with each decrypted message (docs/protocol.md
§3.3).

* ``bus`` → "take in" (drop ``hivemind_verified_source_peer``, move ``destination`` to
  ``source``; the untouched context stays in ``event.raw`` for ``reply``) → :class:`EventBus`.
* ``broadcast`` nesting a ``bus`` envelope addressed to this site → as ``bus``.
* ``query`` / ``cascade`` → unwrapped (:func:`~thalovant.protocol.query.unwrap_query`) and
  routed by query id (``bus.deliver_query``).
* ``broadcast``, ``propagate``, ``escalate``, ``intercom``, ``rendezvous`` → hive subscribers.
* ``bin`` (WIRE-1 binary) → binary subscribers as :class:`ThalovantBinary`; a binary frame of
  another type is read as the JSON message it encodes.

Dispatch is synchronous and never blocks: every callback subscriber has its own bounded queue
and task (drop-oldest on overflow), and a raising handler is logged, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from anyio.abc import TaskGroup

from thalovant.bus.bus import EventBus
from thalovant.bus.subscribers import HandlerQueue
from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.envelope import HIVE_KINDS, BusMessage, HiveMessage
from thalovant.protocol.query import QUERY_KINDS, unwrap_query

__all__ = ["CallbackSubscription", "InboundDispatcher", "ThalovantBinary", "take_in"]

logger = logging.getLogger("thalovant.dispatch")

T = TypeVar("T")


class ThalovantBinary(msgspec.Struct, frozen=True):
    """A binary (``bin``) frame from the hub: ``kind`` (``raw_audio``, ``file``, ... or
    ``binary:<n>``), the raw ``data`` and the frame's ``metadata``."""

    kind: str
    data: bytes
    metadata: dict[str, Any] = {}

    @property
    def utterance(self) -> str | None:
        """``metadata.utterance``, if a string."""
        value = self.metadata.get("utterance")
        return value if isinstance(value, str) else None

    @property
    def lang(self) -> str | None:
        """``metadata.lang``, if a string."""
        value = self.metadata.get("lang")
        return value if isinstance(value, str) else None

    @property
    def file_name(self) -> str | None:
        """``metadata.file_name``, if a string."""
        value = self.metadata.get("file_name")
        return value if isinstance(value, str) else None


class CallbackSubscription(HandlerQueue[T]):
    """A hive or binary handler (sync or async) fed through its own bounded queue and task.

    ``errors``, ``delivered`` and ``dropped`` count what happened; :meth:`close` unsubscribes.

    Args:
        owner: The dispatcher that feeds it.
        key: ``hive:<kind>`` or ``bin``.
        handler: A sync or async callable taking one item.
        max_buffered: Items queued for the handler before the oldest is dropped.
    """

    def __init__(
        self,
        owner: InboundDispatcher,
        key: str,
        handler: Callable[[T], object],
        *,
        max_buffered: int = 256,
    ) -> None:
        super().__init__(owner, key, handler, max_buffered=max_buffered)

    @property
    def key(self) -> str:
        """``hive:<kind>`` or ``bin``."""
        return self.name

    _offer = HandlerQueue._put


class InboundDispatcher:
    """Routes decrypted hub messages to the bus and to hive/binary subscribers.

    Args:
        bus: The client's event bus.
        site_id: This client's site id (a ``broadcast`` of a ``bus`` message to it is read as
            ``bus``).
    """

    def __init__(self, bus: EventBus, site_id: str) -> None:
        self.bus = bus
        self.site_id = site_id
        self._subs: dict[str, dict[CallbackSubscription[Any], None]] = {}
        self._tg: TaskGroup | None = None

    # -- subscriptions ----------------------------------------------------------------------

    def on_hive(
        self, kind: str, handler: Callable[[HiveMessage], object]
    ) -> CallbackSubscription[HiveMessage]:
        """Call ``handler`` with every hive message of ``kind``.

        Args:
            kind: One of :data:`~thalovant.protocol.envelope.HIVE_KINDS`.
            handler: A sync or async callable taking the envelope.

        Returns:
            The subscription; close it to unsubscribe.

        Raises:
            ThalovantRuntimeError: ``kind`` is not a hive kind.
        """
        if kind not in HIVE_KINDS:
            raise ThalovantRuntimeError(
                f"on_hive supports {', '.join(sorted(HIVE_KINDS))}; not {kind!r}"
            )
        return self._add(CallbackSubscription(self, f"hive:{kind}", handler))

    def on_binary(
        self, handler: Callable[[ThalovantBinary], object]
    ) -> CallbackSubscription[ThalovantBinary]:
        """Call ``handler`` with every ``bin`` frame.

        Args:
            handler: A sync or async callable taking the :class:`ThalovantBinary`.

        Returns:
            The subscription; close it to unsubscribe.
        """
        return self._add(CallbackSubscription(self, "bin", handler))

    def _add(self, sub: CallbackSubscription[T]) -> CallbackSubscription[T]:
        self._subs.setdefault(sub.key, {})[sub] = None
        if self._tg is not None:
            sub._start(self._tg)
        return sub

    def _remove(self, sub: CallbackSubscription[Any]) -> None:
        group = self._subs.get(sub.key)
        if group is not None:
            group.pop(sub, None)

    def start(self, tg: TaskGroup) -> None:
        """Run handler tasks (those subscribed earlier start now).

        Args:
            tg: The client's task group.
        """
        self._tg = tg
        for group in self._subs.values():
            for sub in group:
                sub._start(tg)

    def close(self) -> None:
        """Stop every handler."""
        for group in list(self._subs.values()):
            for sub in list(group):
                sub._shutdown()
        self._subs.clear()

    def _fan_out(self, key: str, item: object) -> None:
        group = self._subs.get(key)
        if group:
            for sub in tuple(group):
                sub._offer(item)

    # -- dispatch ---------------------------------------------------------------------------

    def __call__(self, message: HiveMessage | BinaryFrame) -> None:
        """Dispatch one message; never raises for the hub's content."""
        if isinstance(message, BinaryFrame):
            if message.msg_type == "bin":
                binary = ThalovantBinary(
                    message.binary_kind or "binary", message.data or b"", message.metadata
                )
                self._fan_out("bin", binary)
                return
            message = HiveMessage(message.msg_type, message.payload or {}, message.metadata)
        kind = message.msg_type
        if kind == "bus":
            self._bus(message.payload)
        elif kind in QUERY_KINDS:
            payload = message.payload
            if isinstance(payload, (HiveMessage, BusMessage)):  # built locally, not decoded
                payload = msgspec.to_builtins(payload)
            frame = {"msg_type": kind, "metadata": message.metadata, "payload": payload}
            unwrapped = unwrap_query(frame)
            if unwrapped is not None and unwrapped[0] is not None:
                self.bus.deliver_query(unwrapped[0], ThalovantEvent.from_message(unwrapped[1]))
        elif kind in HIVE_KINDS:
            if kind == "broadcast" and self._broadcast_bus(message):
                return
            self._fan_out(f"hive:{kind}", message)

    def _broadcast_bus(self, message: HiveMessage) -> bool:
        inner = message.payload
        kind: Any
        target: Any
        payload: Any
        if isinstance(inner, HiveMessage):
            kind, target, payload = inner.msg_type, inner.target_site_id, inner.payload
        elif isinstance(inner, dict):
            kind, target = inner.get("msg_type"), inner.get("target_site_id")
            payload = inner.get("payload")
        else:
            return False
        target = message.target_site_id or target
        if kind != "bus" or target != self.site_id:
            return False
        self._bus(payload)
        return True

    def _bus(self, payload: object) -> None:
        if isinstance(payload, BusMessage):
            payload = {"type": payload.type, "data": payload.data, "context": payload.context}
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            logger.warning("dropped a bus message without a type")
            return
        self.bus.publish(take_in(payload))


def take_in(message: dict[str, Any]) -> ThalovantEvent:
    """The event for an inbound bus message (docs/protocol.md §3.3, "take in").

    Args:
        message: The OVOS message ``{"type", "data", "context"}`` as plain JSON values.

    Returns:
        The event: ``hivemind_verified_source_peer`` dropped, ``destination`` moved to
        ``source``; the untouched message stays in ``raw`` (for ``reply``).
    """
    context = message.get("context")
    taken = dict(context) if isinstance(context, dict) else {}
    taken.pop("hivemind_verified_source_peer", None)
    if "destination" in taken:
        taken["source"] = taken.pop("destination")
    data = message.get("data")
    return ThalovantEvent(
        name=message["type"],
        data=data if isinstance(data, dict) else {},
        context=taken,
        raw=message,
    )

"""The blocking raw sending methods of ``ThalovantClient``: ``emit``, ``reply``, the mesh
frames and ``send_binary``.

A mixin of :class:`~thalovant.sync.client.ThalovantClient`: each method is one call of its
async twin (:mod:`thalovant.client.sending`) through the client's loop thread
(docs/protocol.md §4; docs/architecture.md, the blocking facade).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thalovant.client.client import AsyncThalovantClient
from thalovant.models.types import ThalovantEvent
from thalovant.sync.portal import LoopThread

__all__ = ["SendingMethods"]


class SendingMethods:
    """``emit``, ``reply``, mesh frames and ``send_binary`` of the blocking client."""

    _async: AsyncThalovantClient
    _loop: LoopThread

    def emit(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a raw bus message (``AsyncThalovantClient.emit``).

        Args:
            event_type: The bus message type.
            data: Its data (deep-copied).
            context: Its context (deep-copied), stamped where keys are absent.

        Raises:
            ThalovantConnectionError: Not sent.
        """
        self._loop.call(self._async.emit, event_type, data, context)

    def reply(
        self,
        event: ThalovantEvent,
        msg_type: str | None = None,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        event_type: str | None = None,
    ) -> None:
        """Answer ``event``, its context with source and destination swapped
        (``AsyncThalovantClient.reply``).

        Args:
            event: The event answered.
            msg_type: The reply's bus message type.
            data: The reply's data (deep-copied).
            context: Keys overlaid on the swapped context.
            event_type: Another name for ``msg_type`` (give one of them).

        Raises:
            ThalovantConnectionError: Not sent.
        """
        self._loop.call(self._async.reply, event, msg_type, data, context, event_type=event_type)

    def propagate(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``propagate`` frame nesting a stamped bus message.

        Args:
            event_type: The nested bus message type.
            data: Its data (deep-copied).
            context: Its context (deep-copied, stamped).

        Raises:
            ThalovantConnectionError: Not sent.
        """
        self._loop.call(self._async.propagate, event_type, data, context)

    def escalate(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send an ``escalate`` frame nesting a stamped bus message.

        Args:
            event_type: The nested bus message type.
            data: Its data (deep-copied).
            context: Its context (deep-copied, stamped).

        Raises:
            ThalovantConnectionError: Not sent.
        """
        self._loop.call(self._async.escalate, event_type, data, context)

    def broadcast(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``broadcast`` frame (admin clients only).

        Args:
            event_type: The nested bus message type.
            data: Its data (deep-copied).
            context: Its context (deep-copied, stamped).

        Raises:
            ThalovantConnectionError: Not sent.
        """
        self._loop.call(self._async.broadcast, event_type, data, context)

    def send_binary(
        self,
        data: bytes | bytearray | memoryview,
        *,
        kind: str | int = "raw_audio",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a WIRE-1 ``bin`` frame (``AsyncThalovantClient.send_binary``).

        Args:
            data: The payload, at most ``MAX_BINARY_BYTES``.
            kind: The binary type (``raw_audio``, ``file``, ... or its number).
            metadata: The frame's metadata.

        Raises:
            ThalovantConnectionError: Not sent.
            ThalovantRuntimeError: The payload is too large.
        """
        self._loop.call(self._async.send_binary, data, kind=kind, metadata=metadata)

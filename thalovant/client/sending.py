"""The raw sending methods of ``AsyncThalovantClient``: ``emit``, ``reply``, the mesh frames
(``propagate``/``escalate``/``broadcast``) and ``send_binary``.

A mixin: :class:`~thalovant.client.client.AsyncThalovantClient` inherits these methods. Each
message is built by :mod:`thalovant.client.outgoing` for the link it goes out on (the
connection's session id is stamped per attempt) and published through
``ClientRuntime.publish`` within one send deadline (docs/protocol.md §4, docs/architecture.md).
Nothing here is correlated or collected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import anyio

from thalovant.client.options import DEFAULT_CONNECT_TIMEOUT, MAX_BINARY_BYTES, ClientOptions
from thalovant.client.outgoing import (
    RequestStamp,
    build_emit,
    build_mesh,
    build_reply,
    require_text,
)
from thalovant.client.runtime import ClientRuntime
from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.envelope import HiveMessage

__all__ = ["SendingMethods", "reply_type"]


def reply_type(msg_type: str | None, event_type: str | None) -> str:
    """The reply's message type, given as ``msg_type`` or as ``event_type``.

    Args:
        msg_type: The official name of the argument.
        event_type: Its other name (the one ``emit`` uses).

    Returns:
        The type.

    Raises:
        ThalovantRuntimeError: Neither given, or two different ones.
    """
    if msg_type is not None and event_type is not None and msg_type != event_type:
        raise ThalovantRuntimeError("give msg_type or event_type, not two different types")
    name = msg_type if msg_type is not None else event_type
    if name is None:
        raise ThalovantRuntimeError("reply() needs msg_type (or event_type)")
    return name


class SendingMethods:
    """``emit``, ``reply``, mesh frames and ``send_binary`` of the async client."""

    _runtime: ClientRuntime
    _stamp: RequestStamp
    options: ClientOptions

    def _send_deadline(self) -> float:
        return anyio.current_time() + DEFAULT_CONNECT_TIMEOUT + self.options.send_timeout

    async def _send_built(self, msg_type: str, build: Callable[[str], HiveMessage]) -> None:
        """Send ``build(connection_session_id)`` on the current link (built per attempt)."""
        self._runtime.check_loop()
        require_text(msg_type, "message type")
        await self._runtime.publish(
            self._send_deadline(), lambda link: link.send(build(link.session_id))
        )

    async def emit(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a raw bus message: identity metadata and runtime stamping, no correlation.

        Args:
            event_type: The bus message type.
            data: Its data (deep-copied).
            context: Its context (deep-copied), stamped where keys are absent.

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: A blank type or an invalid mapping.
        """
        await self._send_built(
            event_type, partial(build_emit, self._stamp, event_type, data, context)
        )

    async def reply(
        self,
        event: ThalovantEvent,
        msg_type: str | None = None,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        *,
        event_type: str | None = None,
    ) -> None:
        """Answer ``event``: its wire context, source and destination swapped, overlaid by
        ``context`` (docs/protocol.md §4).

        Args:
            event: The event answered.
            msg_type: The reply's bus message type.
            data: The reply's data (deep-copied).
            context: Keys overlaid on the swapped context.
            event_type: Another name for ``msg_type`` (give one of them).

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: A blank type or an invalid mapping.
        """
        name = reply_type(msg_type, event_type)
        stamp = self._stamp
        await self._send_built(name, partial(build_reply, stamp, event, name, data, context))

    async def _mesh(
        self, kind: str, type: str, data: Mapping[str, Any] | None, ctx: Mapping[str, Any] | None
    ) -> None:
        await self._send_built(type, partial(build_mesh, self._stamp, kind, type, data, ctx))

    async def propagate(
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
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: A blank type or an invalid mapping.
        """
        await self._mesh("propagate", event_type, data, context)

    async def escalate(
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
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: A blank type or an invalid mapping.
        """
        await self._mesh("escalate", event_type, data, context)

    async def broadcast(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``broadcast`` frame nesting a stamped bus message (admin clients only: a
        hub disconnects any other client that sends one).

        Args:
            event_type: The nested bus message type.
            data: Its data (deep-copied).
            context: Its context (deep-copied, stamped).

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: A blank type or an invalid mapping.
        """
        await self._mesh("broadcast", event_type, data, context)

    async def send_binary(
        self,
        data: bytes | bytearray | memoryview,
        *,
        kind: str | int = "raw_audio",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a WIRE-1 ``bin`` frame (docs/protocol.md §2.5, §4).

        Args:
            data: The payload, at most :data:`~thalovant.client.options.MAX_BINARY_BYTES`.
            kind: The binary type (``raw_audio``, ``file``, ... or its number).
            metadata: The frame's metadata (e.g. ``file_name``).

        Raises:
            ThalovantConnectionError: Not sent (no connection within the send deadline).
            ThalovantRuntimeError: The payload is too large.
        """
        self._runtime.check_loop()
        payload = bytes(data)
        if len(payload) > MAX_BINARY_BYTES:
            raise ThalovantRuntimeError(f"binary payload exceeds {MAX_BINARY_BYTES} bytes")
        meta = dict(metadata) if metadata else None
        await self._runtime.publish(
            self._send_deadline(),
            lambda link: link.send_binary(payload, kind=kind, metadata=meta),
        )

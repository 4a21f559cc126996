"""``AsyncThalovantClient``: the asyncio-native client of one Thalovant hub.

One client owns one connection (a :class:`~thalovant.link.link.Link`, redialed by a
:class:`~thalovant.link.supervisor.Supervisor`) and one :class:`~thalovant.bus.bus.EventBus`. A task
group, started by the first ``connect`` (or any call that needs the hub) and stopped by
``close``, runs the supervisor (dial, reader, redial) and every callback handler. Requests
are built by :mod:`thalovant.client.outgoing`; replies are collected by request id.

Rules the client keeps:

* In-flight requests fail at once with ThalovantConnectionError when the link drops or the
  client closes; a request that reached the carrier is never sent again. Before publication a
  request may (re)connect within its own deadline (``reconnect_attempts``).
* Subscriptions (``on``, ``listen``, ``on_hive``, ``on_binary``) live on the client, so they
  survive redials; ``close`` retires them.
* The client is bound to the event loop it is first used on; use from another loop raises
  ThalovantRuntimeError. ``close`` is bounded (close timeout, then abort).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.bus.bus import EventBus, Handler, Predicate, Subscription
from thalovant.bus.routing import CallbackSubscription, ThalovantBinary
from thalovant.carriers import check_carrier_available
from thalovant.client.asking import CARRY_GRACE_SECONDS, Asker
from thalovant.client.listen import EventListener
from thalovant.client.outgoing import (
    RequestStamp,
    action_input,
    build_emit,
    build_mesh,
    build_reply,
    code_input,
    filter_ids,
    require_text,
)
from thalovant.client.runtime import ClientOptions, ClientRuntime
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.supervisor import Backoff
from thalovant.models.types import (
    ThalovantConnectionInfo,
    ThalovantEvent,
    ThalovantHealth,
    ThalovantReply,
)
from thalovant.protocol.envelope import HiveMessage
from thalovant.protocol.framing import MAX_MESSAGE_BYTES
from thalovant.redact import redact_url

if TYPE_CHECKING:
    import ssl

    from thalovant.client.conversation import AsyncThalovantConversation

__all__ = [
    "CARRY_GRACE_SECONDS",
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "MAX_BINARY_BYTES",
    "AsyncThalovantClient",
    "Backoff",
    "ThalovantBinary",
    "ThalovantConnectTimeoutError",
]

logger = logging.getLogger("thalovant.client")

#: ``connect()``'s single deadline when none is given (prior attempt + open + handshake).
DEFAULT_CONNECT_TIMEOUT = 25.0
#: ``close()``'s deadline when none is given; then the connection is aborted.
DEFAULT_CLOSE_TIMEOUT = 5.0
#: Largest ``send_binary`` payload (the hub's reassembly cap, less room for the header).
MAX_BINARY_BYTES = MAX_MESSAGE_BYTES - 64 * 1024


class AsyncThalovantClient:
    """Asyncio-native client of one Thalovant hub (HiveMind v3). See the module docstring.

    ``protocol`` is chosen now by ``identity.select_protocol`` (an unusable one raises
    ThalovantUnsupportedProtocolError at once). ``reconnect_backoff`` may be replaced before
    connecting (e.g. ``Backoff(initial=0, floor=0)`` in tests).
    """

    def __init__(
        self,
        identity: ThalovantIdentity,
        *,
        protocol: str | None = None,
        useragent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 4.0,
        handshake_timeout: float = 20.0,
        send_timeout: float = 8.0,
        reply_settle_seconds: float = 0.25,
        empty_reply_wait_seconds: float = 5.0,
        auto_reconnect: bool = True,
        reconnect_attempts: int = 1,
        noise_state_dir: str | os.PathLike[str] | None = None,
        self_signed: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        max_buffered_events: int = 256,
    ) -> None:
        if not isinstance(identity, ThalovantIdentity):
            raise ThalovantRuntimeError("identity must be a ThalovantIdentity")
        if reply_settle_seconds < 0 or empty_reply_wait_seconds < 0:
            raise ThalovantRuntimeError("reply_settle_seconds/empty_reply_wait_seconds < 0")
        if isinstance(max_buffered_events, bool) or max_buffered_events < 1:
            raise ThalovantRuntimeError("max_buffered_events must be a positive integer")
        self.identity = identity
        self.protocol = identity.select_protocol(protocol)
        check_carrier_available(self.protocol)
        self.options = ClientOptions(
            protocol=self.protocol,
            useragent=useragent,
            connect_timeout=connect_timeout,
            handshake_timeout=handshake_timeout,
            send_timeout=send_timeout,
            auto_reconnect=auto_reconnect,
            reconnect_attempts=reconnect_attempts,
            noise_state_dir=noise_state_dir,
            self_signed=self_signed,
            ssl_context=ssl_context,
        )
        """The connection options (read-only)."""
        self.max_buffered_events = max_buffered_events
        self._runtime = ClientRuntime(identity, self.options)
        self._stamp = RequestStamp(useragent, identity.site_id, identity.metadata)
        self._asker = Asker(
            self._runtime,
            self._stamp,
            settle_seconds=reply_settle_seconds,
            empty_wait_seconds=empty_reply_wait_seconds,
            send_budget=DEFAULT_CONNECT_TIMEOUT + send_timeout,
        )

    def __repr__(self) -> str:
        url = self.identity.endpoint_for(self.protocol) or ""
        return (
            f"<AsyncThalovantClient site_id={self.identity.site_id!r} protocol={self.protocol} "
            f"hub={redact_url(url)!r} state={self.state}>"
        )

    # -- construction helpers -------------------------------------------------------------

    @classmethod
    def from_identity_file(cls, path: str | os.PathLike[str], **opts: Any) -> AsyncThalovantClient:
        """A client for the identity JSON file at ``path``."""
        return cls(ThalovantIdentity.from_file(path), **opts)

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, profile: str | None = None, **opts: Any
    ) -> AsyncThalovantClient:
        """A client for a profile of the YAML config file."""
        return cls(ThalovantIdentity.from_config(path, profile=profile), **opts)

    @classmethod
    def from_env(cls, prefix: str = "THALOVANT_", **opts: Any) -> AsyncThalovantClient:
        """A client for the identity in ``<prefix>*`` environment variables."""
        return cls(ThalovantIdentity.from_env(prefix), **opts)

    # -- state ----------------------------------------------------------------------------

    @property
    def bus(self) -> EventBus:
        """The client's event bus (subscriptions and in-flight requests)."""
        return self._runtime.bus

    @property
    def reconnect_backoff(self) -> Backoff:
        """The redial backoff; replace it before connecting (e.g. no delays in tests)."""
        return self._runtime.backoff

    @reconnect_backoff.setter
    def reconnect_backoff(self, backoff: Backoff) -> None:
        self._runtime.backoff = backoff

    @property
    def state(self) -> str:
        """``idle``, ``connecting``, ``ready``, ``backoff`` (waiting to redial) or ``closed``."""
        sup = self._runtime.supervisor
        if sup is None:
            return "closed" if self._runtime.generation else "idle"
        return sup.state

    @property
    def is_connected(self) -> bool:
        """True while a link is ready."""
        return self._runtime.link is not None

    @property
    def session_id(self) -> str | None:
        """The current connection's session id (from its HELLO), if connected."""
        link = self._runtime.link
        return link.session_id if link is not None else None

    @property
    def redials(self) -> int:
        """How many times the link came back after a drop (since the last connect)."""
        sup = self._runtime.supervisor
        return sup.redials if sup is not None else 0

    def connection_info(self) -> ThalovantConnectionInfo:
        """Phase, timings, Noise pattern and the last error (scrubbed) of the connection."""
        return self._runtime.telemetry.info()

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Connect and authenticate (no-op when connected). One deadline (default 25 s)
        covers a prior attempt, the carrier and the handshake; raises
        ThalovantConnectionError (or a subclass) when not ready in time. The deadline is
        the one that counts: ``connect_timeout``/``handshake_timeout`` bound an attempt
        nobody waits for (a redial), and stretch to the deadline of a caller who waits
        longer (e.g. a hub busy deriving the PSKs of many first contacts)."""
        self._runtime.check_loop()
        budget = DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout
        await self._runtime.ready(anyio.current_time() + budget)

    async def connect_with_info(self, timeout: float | None = None) -> ThalovantConnectionInfo:
        """``connect`` and return :meth:`connection_info`."""
        await self.connect(timeout)
        return self.connection_info()

    async def connected(self) -> None:
        """Wait until the link is ready (e.g. while it redials after a drop). Raises
        ThalovantConnectionError when closed, or when nothing is connecting."""
        self._runtime.check_loop()
        sup = self._runtime.supervisor
        if sup is None:
            raise ThalovantConnectionError("not connected; call connect() first")
        await sup.connected()

    async def wait_closed(self) -> None:
        """Wait until the client is closed, or its link is down and not coming back."""
        self._runtime.check_loop()
        sup = self._runtime.supervisor
        if sup is not None:
            await sup.wait_down()

    async def healthcheck(self, timeout: float | None = None) -> ThalovantHealth:
        """Connect if needed and report whether the link is usable; a connection problem
        is reported in ``last_error``, not raised."""
        error: str | None = None
        try:
            await self.connect(timeout)
        except ThalovantConnectionError as exc:
            error = f"{type(exc).__name__}: {exc}"
        link = self._runtime.link
        return ThalovantHealth(
            connected=link is not None,
            handshake_complete=link is not None,
            transport_alive=link is not None and not link.dead,
            last_error=error or (None if link is not None else self.connection_info().last_error),
            connection=self.connection_info(),
        )

    async def close(self, timeout: float | None = None) -> None:
        """Close the connection and stop every handler; in-flight requests fail at once
        with ThalovantConnectionError. Bounded by ``timeout`` (default 5 s), then the
        connection is aborted. The client may connect again afterwards (subscriptions made
        before the close stay closed)."""
        self._runtime.check_loop()
        await self._runtime.close(DEFAULT_CLOSE_TIMEOUT if timeout is None else timeout)

    async def disconnect(self) -> None:
        """Same as :meth:`close`."""
        await self.close()

    async def aclose(self) -> None:
        """Same as :meth:`close`."""
        await self.close()

    async def __aenter__(self) -> AsyncThalovantClient:
        await self.connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _send_deadline(self) -> float:
        return anyio.current_time() + DEFAULT_CONNECT_TIMEOUT + self.options.send_timeout

    # -- requests -------------------------------------------------------------------------

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

        One deadline covers connecting, sending and collecting. Raises
        ThalovantPolicyDeniedError, ThalovantUnansweredError, ThalovantTimeoutError (no
        speech), or ThalovantConnectionError (the link dropped or the client closed; the
        request is never resent once it reached the connection).
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

    async def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """A direct HiveMind ``query`` (docs/protocol.md §3.6): completes on
        ``hive.query.complete``; the deadline passing first raises ThalovantTimeoutError."""
        self._runtime.check_loop()
        return await self._asker.query(
            require_text(text).strip(),
            timeout=timeout,
            lang=lang,
            context=context,
            session_id=session_id,
            query_id=query_id,
        )

    # -- fire and forget ------------------------------------------------------------------

    async def send_utterance(
        self,
        text: str,
        lang: str = "en-us",
        *,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send an utterance without waiting for a reply; returns its request id."""
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
        action: str,
        payload: Mapping[str, Any] | str | None = None,
        *,
        title: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send a UI action; returns its request id. Both
        ``send_action("/choose", payload={"id": "42"}, title=...)`` and the reference form
        ``send_action('/choose{"id":"42"}', title=...)`` work (same utterance text)."""
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
        """Send exact input (a scan, a serial number, a PIN); returns its request id."""
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

    async def _send_built(self, msg_type: str, build: Callable[[str], HiveMessage]) -> None:
        """Send ``build(connection_session_id)`` on the current link (built per attempt)."""
        self._runtime.check_loop()
        require_text(msg_type, "message type")
        await self._runtime.publish(
            self._send_deadline(), lambda link: link.send(build(link.session_id))
        )

    async def emit(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a raw bus message (identity metadata + runtime stamping, no correlation)."""
        await self._send_built(type, partial(build_emit, self._stamp, type, data, context))

    async def reply(
        self,
        event: ThalovantEvent,
        msg_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Answer ``event``: its wire context with source and destination swapped."""
        stamp = self._stamp
        await self._send_built(
            msg_type, partial(build_reply, stamp, event, msg_type, data, context)
        )

    async def _mesh(
        self, kind: str, type: str, data: Mapping[str, Any] | None, ctx: Mapping[str, Any] | None
    ) -> None:
        await self._send_built(type, partial(build_mesh, self._stamp, kind, type, data, ctx))

    async def propagate(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``propagate`` frame nesting a stamped bus message."""
        await self._mesh("propagate", type, data, context)

    async def escalate(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send an ``escalate`` frame nesting a stamped bus message."""
        await self._mesh("escalate", type, data, context)

    async def broadcast(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``broadcast`` frame (admin clients only: a hub disconnects others)."""
        await self._mesh("broadcast", type, data, context)

    async def send_binary(
        self,
        data: bytes | bytearray | memoryview,
        *,
        kind: str | int = "raw_audio",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a WIRE-1 ``bin`` frame (``raw_audio``, ``file``, ...) with ``metadata``."""
        self._runtime.check_loop()
        payload = bytes(data)
        if len(payload) > MAX_BINARY_BYTES:
            raise ThalovantRuntimeError(f"binary payload exceeds {MAX_BINARY_BYTES} bytes")
        meta = dict(metadata) if metadata else None
        await self._runtime.publish(
            self._send_deadline(),
            lambda link: link.send_binary(payload, kind=kind, metadata=meta),
        )

    # -- events ---------------------------------------------------------------------------

    def listen(
        self,
        event: str,
        *,
        timeout: float | None = None,
        max_events: int | None = None,
        max_buffered_events: int | None = None,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> EventListener:
        """An async iterator of ``event`` events. Subscribes now; ``timeout`` covers
        connecting and listening; ends quietly at the deadline or after ``max_events``.
        ``max_buffered_events`` defaults to the client's (256); overflowing it raises
        ThalovantRuntimeError and retires the listener."""
        self._runtime.check_loop()
        sid, rid = filter_ids(context, session_id, request_id)
        stream = self._runtime.open_bus().subscribe(
            event,
            max_buffered=max_buffered_events or self.max_buffered_events,
            session_id=sid,
            request_id=rid,
            predicate=predicate,
        )
        return EventListener(
            stream,
            connect=self._runtime.ready,
            timeout=timeout,
            connect_budget=DEFAULT_CONNECT_TIMEOUT,
            max_events=max_events,
        )

    async def wait_for_event(
        self,
        event: str,
        *,
        timeout: float = 12.0,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> ThalovantEvent:
        """The first matching ``event``; ThalovantTimeoutError when none comes in time."""
        listener = self.listen(
            event,
            timeout=timeout,
            max_events=1,
            predicate=predicate,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )
        async with listener:
            async for found in listener:
                return found
        raise ThalovantTimeoutError(f"no {event!r} event within {timeout:g} s")

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Subscription:
        """Call ``handler`` (sync or async, in its own task) for every matching ``event``
        (``"*"``: all). Survives reconnects; a raising handler is logged, nothing else."""
        self._runtime.check_loop()
        sid, rid = filter_ids(context, session_id, request_id)
        return self._runtime.open_bus().on(
            event,
            handler,
            session_id=sid,
            request_id=rid,
            predicate=predicate,
            max_buffered=self.max_buffered_events,
        )

    def on_hive(
        self, kind: str, handler: Callable[[HiveMessage], object]
    ) -> CallbackSubscription[HiveMessage]:
        """Call ``handler`` for hive messages of ``kind`` (broadcast, propagate, escalate,
        intercom, rendezvous)."""
        self._runtime.check_loop()
        self._runtime.open_bus()
        return self._runtime.inbound.on_hive(kind, handler)

    def on_binary(
        self, handler: Callable[[ThalovantBinary], object]
    ) -> CallbackSubscription[ThalovantBinary]:
        """Call ``handler`` for every binary (``bin``) frame from the hub."""
        self._runtime.check_loop()
        self._runtime.open_bus()
        return self._runtime.inbound.on_binary(handler)

    def conversation(
        self,
        *,
        session_id: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
    ) -> AsyncThalovantConversation:
        """A conversation: a stable session id (default ``thalovant-session-<hex>``), a
        language and a base context for every turn. Sends nothing by itself."""
        from thalovant.client.conversation import AsyncThalovantConversation

        return AsyncThalovantConversation(self, session_id=session_id, lang=lang, context=context)

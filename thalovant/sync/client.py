"""The blocking facade: :class:`ThalovantClient` and :class:`ThalovantConversation`.

Each wraps its async twin one-to-one (same methods, same parameters and defaults; a test keeps
them identical) and adds no logic of its own: every method is one call through the client's
:class:`~thalovant.sync.portal.LoopThread`, an anyio blocking portal running one event loop in one
daemon thread (``thalovant-client``) per client::

    with ThalovantClient(identity, protocol="wss") as client:   # connects
        print(client.ask("Tell me a short clean joke.").text)
                                                                # closed, thread stopped
Lifecycle:

* The loop thread starts with the first call (``with`` connects on enter, as documented;
  methods also work without ``with`` and connect lazily).
* ``close()`` or leaving the ``with`` block closes the connection and stops the thread for
  good: the client cannot be used afterwards (the async client is bound to its loop). Use
  ``disconnect()`` to close only the connection and ``connect()`` again later.
* A client dropped without ``close()`` is closed by a ``weakref.finalize`` when garbage
  collected (not while one of its own handlers references it), and at interpreter exit by an
  ``atexit`` hook with a bounded timeout.

Threads and loops:

* Any number of threads may call one client at once; each call is its own task on the loop.
* ``listen`` returns a plain iterator (one loop hop per event); ``break`` out of it, or
  ``close()`` it, and the subscription ends.
* Handlers registered with ``on``/``on_hive``/``on_binary`` run on the client's handler thread
  (``thalovant-handlers``), one at a time in arrival order, never on the loop: they may call
  the client (``client.emit`` during another thread's ``ask``). They must be plain functions.
  A ``predicate`` runs on the loop and must not call the client.
* Calling the client from its own loop thread raises ThalovantRuntimeError; calling it from
  a thread running another event loop (FastAPI ``async def``, Jupyter) works but blocks that
  loop, and logs one warning per client: use :class:`~thalovant.client.client.AsyncThalovantClient`
  there. A client started before ``os.fork()`` raises a clear error in the child.
* Ctrl-C while a call blocks cancels the inner async call and raises KeyboardInterrupt.

Why not ``portal.wrap_async_context_manager``: it keeps one portal task alive for the whole
``with`` block and blocks ``__enter__`` on a future that Ctrl-C cannot cancel. The async
client's ``__aenter__``/``__aexit__`` are ``connect``/``close``, which may run in different
tasks, so two plain calls do the same with the guards above.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.client.client import AsyncThalovantClient
from thalovant.sync.bridges import HandlerBridge, SyncIterator, SyncSubscription
from thalovant.sync.conversation import ThalovantConversation
from thalovant.sync.portal import LoopThread

if TYPE_CHECKING:
    import ssl

    from thalovant.bus.bus import Handler, Predicate
    from thalovant.bus.routing import ThalovantBinary
    from thalovant.client.runtime import ClientOptions
    from thalovant.identity.model import ThalovantIdentity
    from thalovant.link.supervisor import Backoff
    from thalovant.models.types import (
        ThalovantConnectionInfo,
        ThalovantEvent,
        ThalovantHealth,
        ThalovantReply,
    )
    from thalovant.protocol.envelope import HiveMessage

__all__ = ["SyncIterator", "SyncSubscription", "ThalovantClient", "ThalovantConversation"]


class ThalovantClient:
    """Blocking client of one Thalovant hub: :class:`AsyncThalovantClient` on a private
    event-loop thread (see the module docstring). Same constructor arguments."""

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
        self._setup(
            AsyncThalovantClient(
                identity,
                protocol=protocol,
                useragent=useragent,
                connect_timeout=connect_timeout,
                handshake_timeout=handshake_timeout,
                send_timeout=send_timeout,
                reply_settle_seconds=reply_settle_seconds,
                empty_reply_wait_seconds=empty_reply_wait_seconds,
                auto_reconnect=auto_reconnect,
                reconnect_attempts=reconnect_attempts,
                noise_state_dir=noise_state_dir,
                self_signed=self_signed,
                ssl_context=ssl_context,
                max_buffered_events=max_buffered_events,
            )
        )

    def _setup(self, client: AsyncThalovantClient) -> None:
        self._async = client
        self._loop = LoopThread(type(self).__name__, client.close)
        # Holds the loop (and through it the async client), never this facade.
        self._finalizer = weakref.finalize(self, self._loop.shutdown)
        self._finalizer.atexit = False  # the atexit hook of thalovant._portal covers exit

    @classmethod
    def _wrap(cls, client: AsyncThalovantClient) -> ThalovantClient:
        self = cls.__new__(cls)
        self._setup(client)
        return self

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncThalovantClient", type(self).__name__, 1)

    # -- construction helpers -------------------------------------------------------------

    @classmethod
    def from_identity_file(cls, path: str | os.PathLike[str], **opts: Any) -> ThalovantClient:
        """A client for the identity JSON file at ``path``."""
        return cls._wrap(AsyncThalovantClient.from_identity_file(path, **opts))

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, profile: str | None = None, **opts: Any
    ) -> ThalovantClient:
        """A client for a profile of the YAML config file."""
        return cls._wrap(AsyncThalovantClient.from_config(path, profile=profile, **opts))

    @classmethod
    def from_env(cls, prefix: str = "THALOVANT_", **opts: Any) -> ThalovantClient:
        """A client for the identity in ``<prefix>*`` environment variables."""
        return cls._wrap(AsyncThalovantClient.from_env(prefix, **opts))

    # -- state (snapshot reads, no loop hop) ----------------------------------------------

    @property
    def identity(self) -> ThalovantIdentity:
        """The client's identity."""
        return self._async.identity

    @property
    def protocol(self) -> str:
        """The carrier chosen at construction (``wss``, ``https`` or ``mqtt``)."""
        return self._async.protocol

    @property
    def options(self) -> ClientOptions:
        """The connection options (read-only)."""
        return self._async.options

    @property
    def max_buffered_events(self) -> int:
        """Default buffer of each subscription."""
        return self._async.max_buffered_events

    @property
    def reconnect_backoff(self) -> Backoff:
        """The redial backoff; replace it before connecting."""
        return self._async.reconnect_backoff

    @reconnect_backoff.setter
    def reconnect_backoff(self, backoff: Backoff) -> None:
        self._async.reconnect_backoff = backoff

    @property
    def state(self) -> str:
        """``idle``, ``connecting``, ``ready``, ``backoff`` or ``closed``."""
        return self._async.state

    @property
    def is_connected(self) -> bool:
        """True while a link is ready."""
        return self._async.is_connected

    @property
    def session_id(self) -> str | None:
        """The current connection's session id, if connected."""
        return self._async.session_id

    @property
    def redials(self) -> int:
        """How many times the link came back after a drop."""
        return self._async.redials

    def connection_info(self) -> ThalovantConnectionInfo:
        """Phase, timings, Noise pattern and the last error (scrubbed) of the connection."""
        return self._loop.call_sync(self._async.connection_info)

    # -- lifecycle ------------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> None:
        """Connect and authenticate (no-op when connected); see the async ``connect``."""
        self._loop.call(self._async.connect, timeout)

    def connect_with_info(self, timeout: float | None = None) -> ThalovantConnectionInfo:
        """``connect`` and return :meth:`connection_info`."""
        return self._loop.call(self._async.connect_with_info, timeout)

    def connected(self) -> None:
        """Block until the link is ready (e.g. while it redials after a drop)."""
        self._loop.call(self._async.connected)

    def wait_closed(self) -> None:
        """Block until the client is closed, or its link is down and not coming back."""
        self._loop.call(self._async.wait_closed)

    def healthcheck(self, timeout: float | None = None) -> ThalovantHealth:
        """Connect if needed and report whether the link is usable."""
        return self._loop.call(self._async.healthcheck, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Close the connection (bounded by ``timeout``, default 5 s) and stop the client's
        threads; the client cannot be used afterwards. Idempotent."""
        self._loop.finish(self._async.close, timeout)

    def disconnect(self) -> None:
        """Close the connection but keep the client's thread: ``connect()`` works again."""
        self._loop.call(self._async.disconnect)

    def __enter__(self) -> ThalovantClient:
        self._loop.call(self._async.__aenter__)
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._loop.finish(self._async.__aexit__, et, e, tb)

    # -- requests -------------------------------------------------------------------------

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
        """Send an utterance and collect the hub's reply; see the async ``ask``."""
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

    def query(
        self,
        text: str,
        *,
        timeout: float = 12.0,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        query_id: str | None = None,
    ) -> ThalovantReply:
        """A direct HiveMind ``query``; see the async ``query``."""
        return self._loop.call(
            self._async.query,
            text,
            timeout=timeout,
            lang=lang,
            context=context,
            session_id=session_id,
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
        """Send an utterance without waiting for a reply; returns its request id."""
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
        action: str,
        payload: Mapping[str, Any] | str | None = None,
        *,
        title: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Send a UI action; returns its request id."""
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
        """Send exact input (a scan, a serial number, a PIN); returns its request id."""
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

    def emit(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a raw bus message."""
        self._loop.call(self._async.emit, type, data, context)

    def reply(
        self,
        event: ThalovantEvent,
        msg_type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Answer ``event`` (its context with source and destination swapped)."""
        self._loop.call(self._async.reply, event, msg_type, data, context)

    def propagate(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``propagate`` frame nesting a stamped bus message."""
        self._loop.call(self._async.propagate, type, data, context)

    def escalate(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send an ``escalate`` frame nesting a stamped bus message."""
        self._loop.call(self._async.escalate, type, data, context)

    def broadcast(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a ``broadcast`` frame (admin clients only)."""
        self._loop.call(self._async.broadcast, type, data, context)

    def send_binary(
        self,
        data: bytes | bytearray | memoryview,
        *,
        kind: str | int = "raw_audio",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Send a WIRE-1 ``bin`` frame with ``metadata``."""
        self._loop.call(self._async.send_binary, data, kind=kind, metadata=metadata)

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
    ) -> SyncIterator[ThalovantEvent]:
        """A plain iterator of ``event`` events (subscribed now); ends quietly at
        ``timeout`` or after ``max_events``. Also a context manager."""
        listener = self._loop.call_sync(
            self._async.listen,
            event,
            timeout=timeout,
            max_events=max_events,
            max_buffered_events=max_buffered_events,
            predicate=predicate,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )
        return SyncIterator(self._loop, listener)

    def wait_for_event(
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
        return self._loop.call(
            self._async.wait_for_event,
            event,
            timeout=timeout,
            predicate=predicate,
            context=context,
            session_id=session_id,
            request_id=request_id,
        )

    def on(
        self,
        event: str,
        handler: Handler,
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        predicate: Predicate | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> SyncSubscription:
        """Call ``handler`` on the handler thread for every matching ``event``."""
        bridge = HandlerBridge(handler, self._loop.handlers, event)
        inner = self._loop.call_sync(
            self._async.on,
            event,
            bridge,
            session_id=session_id,
            request_id=request_id,
            predicate=predicate,
            context=context,
        )
        return SyncSubscription(self._loop, inner, bridge)

    def on_hive(self, kind: str, handler: Callable[[HiveMessage], object]) -> SyncSubscription:
        """Call ``handler`` on the handler thread for hive messages of ``kind``."""
        bridge = HandlerBridge(handler, self._loop.handlers, f"hive:{kind}")
        inner = self._loop.call_sync(self._async.on_hive, kind, bridge)
        return SyncSubscription(self._loop, inner, bridge)

    def on_binary(self, handler: Callable[[ThalovantBinary], object]) -> SyncSubscription:
        """Call ``handler`` on the handler thread for every binary frame."""
        bridge = HandlerBridge(handler, self._loop.handlers, "bin")
        inner = self._loop.call_sync(self._async.on_binary, bridge)
        return SyncSubscription(self._loop, inner, bridge)

    def conversation(
        self,
        *,
        session_id: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
    ) -> ThalovantConversation:
        """A conversation (stable session id, language, base context); sends nothing."""
        return ThalovantConversation(self, session_id=session_id, lang=lang, context=context)

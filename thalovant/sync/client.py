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

The method families live in mixins that mirror the async ones: :mod:`thalovant.sync.status`,
:mod:`thalovant.sync.utterances`, :mod:`thalovant.sync.sending` and
:mod:`thalovant.sync.subscribing`; this module keeps construction, lifecycle and conversations
(docs/architecture.md, the blocking facade).
"""

from __future__ import annotations

import os
import ssl
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.client.client import AsyncThalovantClient
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.types import ThalovantConnectionInfo, ThalovantHealth
from thalovant.sync.bridges import SyncIterator, SyncSubscription
from thalovant.sync.conversation import ThalovantConversation
from thalovant.sync.doctor import DoctorMethods
from thalovant.sync.intents import IntentMethods
from thalovant.sync.portal import LoopThread
from thalovant.sync.sending import SendingMethods
from thalovant.sync.status import StatusMethods
from thalovant.sync.subscribing import SubscribingMethods
from thalovant.sync.utterances import UtteranceMethods

__all__ = ["SyncIterator", "SyncSubscription", "ThalovantClient", "ThalovantConversation"]


class ThalovantClient(
    StatusMethods,
    UtteranceMethods,
    SendingMethods,
    SubscribingMethods,
    IntentMethods,
    DoctorMethods,
):
    """Blocking client of one Thalovant hub: ``AsyncThalovantClient`` on a private
    event-loop thread (see the module docstring).

    Args:
        identity: The client's identity (docs/protocol.md §1).
        protocol: ``wss``, ``https`` or ``mqtt``; default the identity's preference.
        useragent: Stamped as ``source``/``platform`` of every message.
        connect_timeout: Seconds to open the carrier, per attempt.
        handshake_timeout: Seconds for the Noise handshake, per attempt.
        send_timeout: Seconds to write one message.
        reply_settle_seconds: Settle window after the first speech of an ``ask``.
        empty_reply_wait_seconds: Wait for speech after an intent miss.
        auto_reconnect: Redial after a drop.
        reconnect_attempts: Reconnects a request may make before its publication.
        noise_state_dir: Folder of the pinned hub keys (docs/protocol.md §1.7).
        self_signed: Accept a self-signed TLS certificate (no verification).
        ssl_context: TLS context to use instead of the default.
        max_buffered_events: Default buffer of each subscription.

    Raises:
        ThalovantUnsupportedProtocolError: ``protocol`` is not usable with this identity.
        ThalovantRuntimeError: An invalid argument.
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
        self._finalizer.atexit = False  # the atexit hook of thalovant.sync.process covers exit

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
        """A client for the identity JSON file at ``path``.

        Args:
            path: The identity file.
            **opts: Keyword arguments of the constructor.

        Returns:
            The client (not connected).

        Raises:
            ThalovantIdentityError: The file is missing or invalid.
        """
        return cls._wrap(AsyncThalovantClient.from_identity_file(path, **opts))

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, profile: str | None = None, **opts: Any
    ) -> ThalovantClient:
        """A client for a profile of the YAML config file.

        Args:
            path: The config file (default ``~/.config/thalovant/config.yaml``, XDG aware).
            profile: The profile (default the file's default profile).
            **opts: Keyword arguments of the constructor.

        Returns:
            The client (not connected).

        Raises:
            ThalovantIdentityError: The file or profile is missing or invalid.
        """
        return cls._wrap(AsyncThalovantClient.from_config(path, profile=profile, **opts))

    @classmethod
    def from_env(cls, prefix: str = "THALOVANT_", **opts: Any) -> ThalovantClient:
        """A client for the identity in ``<prefix>*`` environment variables.

        Args:
            prefix: The variables' prefix.
            **opts: Keyword arguments of the constructor.

        Returns:
            The client (not connected).

        Raises:
            ThalovantIdentityError: The variables are missing or invalid.
        """
        return cls._wrap(AsyncThalovantClient.from_env(prefix, **opts))

    # -- lifecycle ------------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> None:
        """Connect and authenticate (no-op when connected; ``AsyncThalovantClient.connect``).

        Args:
            timeout: Seconds (default 25).

        Raises:
            ThalovantConnectTimeoutError: Not ready in time.
            ThalovantHubRefusedError: The hub refused this identity.
            ThalovantHubKeyChangedError: The hub's key differs from the pinned one.
            ThalovantConnectionError: Any other connection failure.
            ThalovantRuntimeError: The client is closed, or called from its own loop thread.
        """
        self._loop.call(self._async.connect, timeout)

    def connect_with_info(self, timeout: float | None = None) -> ThalovantConnectionInfo:
        """:meth:`connect`, then :meth:`connection_info`.

        Args:
            timeout: Seconds (default 25).

        Returns:
            The connection's telemetry.

        Raises:
            ThalovantConnectionError: As :meth:`connect`.
        """
        return self._loop.call(self._async.connect_with_info, timeout)

    def connected(self) -> None:
        """Block until the link is ready (e.g. while it redials after a drop).

        Raises:
            ThalovantConnectionError: The client closed, or nothing is connecting.
        """
        self._loop.call(self._async.connected)

    def wait_closed(self) -> None:
        """Block until the client is closed, or its link is down and not coming back."""
        self._loop.call(self._async.wait_closed)

    def healthcheck(self, timeout: float | None = None) -> ThalovantHealth:
        """Connect if needed and report whether the link is usable.

        Args:
            timeout: Seconds for connecting (default 25).

        Returns:
            The health report; a connection problem is in ``last_error``, not raised.
        """
        return self._loop.call(self._async.healthcheck, timeout)

    def close(self, timeout: float | None = None) -> None:
        """Close the connection and stop the client's threads; the client cannot be used
        afterwards. Idempotent.

        Args:
            timeout: Seconds before the connection is aborted (default 5).
        """
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

    # -- conversations --------------------------------------------------------------------

    def conversation(
        self,
        *,
        session_id: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
    ) -> ThalovantConversation:
        """A conversation: a stable session id, a language and a base context for every
        turn (docs/protocol.md §6). Sends nothing by itself.

        Args:
            session_id: The session id (default ``thalovant-session-<hex>``).
            lang: The default language of every turn.
            context: The base context merged under every turn's.

        Returns:
            The conversation.

        Raises:
            ThalovantRuntimeError: A blank ``session_id``.
        """
        return ThalovantConversation(self, session_id=session_id, lang=lang, context=context)

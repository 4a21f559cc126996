"""``AsyncThalovantClient``: the asyncio-native client of one Thalovant hub.

One client owns one connection (a :class:`~thalovant.link.link.Link`, redialed by a
:class:`~thalovant.link.supervisor.Supervisor`) and one :class:`~thalovant.bus.bus.EventBus`. A task
group, started by the first ``connect`` (or any call that needs the hub) and stopped by
``close``, runs the supervisor (dial, reader, redial) and every callback handler. Requests
are built by :mod:`thalovant.client.outgoing`; replies are collected by request id.

The public methods come in families, each in its own module and inherited here:
:mod:`thalovant.client.status` (state and telemetry), :mod:`thalovant.client.utterances`
(``ask``, ``query``, ``send_utterance``/``action``/``code``), :mod:`thalovant.client.sending`
(``emit``, ``reply``, mesh frames, ``send_binary``) and :mod:`thalovant.client.subscribing`
(``listen``, ``wait_for_event``, ``on``, ``on_hive``, ``on_binary``). This module keeps
construction, lifecycle and conversations.
See docs/architecture.md for the layers and docs/protocol.md §3-§6 for the wire effects.

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

import os
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import anyio

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.carriers import CarrierFactory, check_carrier_available
from thalovant.client.asking import Asker
from thalovant.client.conversation import AsyncThalovantConversation
from thalovant.client.doctor import DoctorMethods
from thalovant.client.intents import IntentMethods
from thalovant.client.keeping import KeepingMethods
from thalovant.client.options import DEFAULT_CLOSE_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, ClientOptions
from thalovant.client.outgoing import RequestStamp
from thalovant.client.runtime import ClientRuntime
from thalovant.client.sending import SendingMethods
from thalovant.client.status import StatusMethods
from thalovant.client.subscribing import SubscribingMethods
from thalovant.client.utterances import UtteranceMethods
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.types import ThalovantConnectionInfo, ThalovantHealth
from thalovant.redact import redact_url

__all__ = ["AsyncThalovantClient"]


class AsyncThalovantClient(
    StatusMethods,
    UtteranceMethods,
    SendingMethods,
    SubscribingMethods,
    IntentMethods,
    DoctorMethods,
    KeepingMethods,
):
    """Asyncio-native client of one Thalovant hub (HiveMind v3). See the module docstring.

    ``reconnect_backoff`` may be replaced before connecting (e.g. ``Backoff(initial=0,
    floor=0)`` in tests). Nothing connects until the first call that needs the hub.

    Args:
        identity: The client's identity (docs/protocol.md §1).
        protocol: ``wss``, ``https`` or ``mqtt``; default the identity's preference
            (``identity.select_protocol``, docs/protocol.md §1.5).
        useragent: Stamped as ``source``/``platform`` of every message.
        connect_timeout: Seconds to open the carrier, per attempt.
        handshake_timeout: Seconds for the Noise handshake, per attempt.
        send_timeout: Seconds to write one message.
        reply_settle_seconds: Settle window after the first speech of an ``ask``.
        empty_reply_wait_seconds: Wait for speech after an intent miss or a bare
            ``ovos.utterance.handled``.
        auto_reconnect: Redial after a drop.
        reconnect_attempts: Reconnects a request may make before its publication.
        noise_state_dir: Folder of the pinned hub keys (docs/protocol.md §1.7).
        self_signed: Accept a self-signed TLS certificate (no verification).
        ssl_context: TLS context to use instead of the default.
        max_buffered_events: Default buffer of each subscription.
        transport: A carrier face (``AsyncHiveMindWSSTransport()``, ...) or a caller's own
            transport; its ``protocol`` is the client's.
        session: A caller's ``aiohttp.ClientSession`` for the HTTPS carrier, used on this
            client's event loop and never closed here.

    Raises:
        ThalovantUnsupportedProtocolError: ``protocol`` is not usable with this identity.
        ThalovantRuntimeError: An invalid argument.
    """

    identity: ThalovantIdentity
    """The client's identity."""

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
        transport: CarrierFactory | None = None,
        session: Any = None,
    ) -> None:
        if not isinstance(identity, ThalovantIdentity):
            raise ThalovantRuntimeError("identity must be a ThalovantIdentity")
        if reply_settle_seconds < 0 or empty_reply_wait_seconds < 0:
            raise ThalovantRuntimeError("reply_settle_seconds/empty_reply_wait_seconds < 0")
        if isinstance(max_buffered_events, bool) or max_buffered_events < 1:
            raise ThalovantRuntimeError("max_buffered_events must be a positive integer")
        self.identity = identity
        if transport is not None:
            wanted = getattr(transport, "protocol", None)
            if not isinstance(wanted, str) or not callable(getattr(transport, "open", None)):
                raise ThalovantRuntimeError("transport needs a protocol name and an open()")
            if protocol is not None and protocol != wanted:
                raise ThalovantRuntimeError(f"protocol={protocol!r} but the transport is {wanted}")
            protocol = wanted
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
            transport=transport,
            session=session,
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
        """A client for the identity JSON file at ``path`` (docs/protocol.md §1.6).

        Args:
            path: The identity file.
            **opts: Keyword arguments of the constructor.

        Returns:
            The client (not connected).

        Raises:
            ThalovantIdentityError: The file is missing or invalid.
        """
        return cls(ThalovantIdentity.from_file(path), **opts)

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *, profile: str | None = None, **opts: Any
    ) -> AsyncThalovantClient:
        """A client for a profile of the YAML config file (docs/protocol.md §1.6).

        Args:
            path: The config file (default ``~/.config/thalovant/config.yaml``, XDG aware).
            profile: The profile (default the file's default profile).
            **opts: Keyword arguments of the constructor.

        Returns:
            The client (not connected).

        Raises:
            ThalovantIdentityError: The file or profile is missing or invalid.
        """
        return cls(ThalovantIdentity.from_config(path, profile=profile), **opts)

    @classmethod
    def from_env(cls, prefix: str = "THALOVANT_", **opts: Any) -> AsyncThalovantClient:
        """A client for the identity in ``<prefix>*`` environment variables.

        Args:
            prefix: The variables' prefix.
            **opts: Keyword arguments of the constructor.

        Returns:
            The client (not connected).

        Raises:
            ThalovantIdentityError: The variables are missing or invalid.
        """
        return cls(ThalovantIdentity.from_env(prefix), **opts)

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> None:
        """Connect and authenticate (no-op when connected).

        One deadline covers a prior attempt, the carrier and the handshake. It is the one
        that counts: ``connect_timeout``/``handshake_timeout`` bound an attempt nobody waits
        for (a redial), and stretch to the deadline of a caller who waits longer (e.g. a hub
        busy deriving the PSKs of many first contacts).

        Args:
            timeout: Seconds (default 25).

        Raises:
            ThalovantConnectTimeoutError: Not ready in time.
            ThalovantHubRefusedError: The hub refused this identity.
            ThalovantHubKeyChangedError: The hub's key differs from the pinned one.
            ThalovantConnectionError: Any other connection failure.
            ThalovantRuntimeError: Called from another event loop than the client's.
        """
        self._runtime.check_loop()
        budget = DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout
        await self._runtime.ready(anyio.current_time() + budget)

    async def connect_with_info(self, timeout: float | None = None) -> ThalovantConnectionInfo:
        """:meth:`connect`, then :meth:`connection_info`.

        Args:
            timeout: Seconds (default 25).

        Returns:
            The connection's telemetry.

        Raises:
            ThalovantConnectionError: As :meth:`connect`.
        """
        await self.connect(timeout)
        return self._runtime.telemetry.info()

    async def connected(self) -> None:
        """Wait until the link is ready (e.g. while it redials after a drop).

        Raises:
            ThalovantConnectionError: The client closed, or nothing is connecting.
        """
        self._runtime.check_loop()
        sup = self._runtime.supervisor
        if sup is None:
            raise ThalovantConnectionError("not connected; call connect() first")
        await sup.connected()

    async def wait_closed(self, timeout: float | None = None) -> None:
        """Wait until the client is closed, or its link is down and not coming back.

        Args:
            timeout: Seconds to wait (None: no bound).

        Raises:
            ThalovantTimeoutError: Still open after ``timeout``.
        """
        self._runtime.check_loop()
        sup = self._runtime.supervisor
        if sup is None:
            return
        if timeout is None:
            await sup.wait_down()
            return
        with anyio.move_on_after(timeout) as scope:
            await sup.wait_down()
        if scope.cancelled_caught:
            raise ThalovantTimeoutError(f"the client was still open after {timeout:g} s")

    async def healthcheck(self, timeout: float | None = None) -> ThalovantHealth:
        """Connect if needed and report whether the link is usable.

        Args:
            timeout: Seconds for connecting (default 25).

        Returns:
            The health report; a connection problem is in ``last_error``, not raised.
        """
        error: str | None = None
        try:
            await self.connect(timeout)
        except ThalovantConnectionError as exc:
            error = f"{type(exc).__name__}: {exc}"
        link = self._runtime.link
        info = self._runtime.telemetry.info()
        return ThalovantHealth(
            connected=link is not None,
            handshake_complete=link is not None,
            transport_alive=link is not None and not link.dead,
            last_error=error or (None if link is not None else info.last_error),
            connection=info,
        )

    async def close(self, timeout: float | None = None) -> None:
        """Close the connection and stop every handler; in-flight requests fail at once
        with ThalovantConnectionError. The client may connect again afterwards
        (subscriptions made before the close stay closed).

        Args:
            timeout: Seconds before the connection is aborted (default 5).
        """
        self._runtime.check_loop()
        await self._runtime.close(DEFAULT_CLOSE_TIMEOUT if timeout is None else timeout)

    async def disconnect(self, timeout: float | None = None) -> None:
        """Same as :meth:`close`.

        Args:
            timeout: Seconds before the connection is aborted (default 5).
        """
        await self.close(timeout)

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

    # -- conversations --------------------------------------------------------------------

    def conversation(
        self,
        *,
        session_id: str | None = None,
        lang: str = "en-us",
        context: Mapping[str, Any] | None = None,
    ) -> AsyncThalovantConversation:
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
        return AsyncThalovantConversation(self, session_id=session_id, lang=lang, context=context)

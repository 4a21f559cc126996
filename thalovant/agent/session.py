"""``AsyncHubSession``: one long-lived hub link, kept up for months.

A facade over one :class:`~thalovant.client.client.AsyncThalovantClient`: the session holds
the client's link with a :class:`~thalovant.link.policy.HubSessionPolicy`
(``client.keep``), so the client's supervisor is the only state machine and the only
reconnect loop: it redials on the policy's ladder, probes an idle link and drops it when the
hub went silent, rides out credential refusals for the grace period and then stops in the
terminal ``failed`` state, and asks the pin policy about a rotated hub key. Subscriptions made
with :meth:`AsyncHubSession.on` live on the client's bus, so they survive every redial.

Every change of state reaches :meth:`AsyncHubSession.on_state_change` callbacks as a
:class:`HubSessionState` (truthy exactly while the link is held, so official callbacks taking
a ``bool`` keep working) and :meth:`AsyncHubSession.wait_state` awaits one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from thalovant.agent.probing import ProbingMethods
from thalovant.agent.state import PHASES, HubSessionState
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.options import DEFAULT_CONNECT_TIMEOUT
from thalovant.client.runtime import OriginRoute
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.link.policy import HubSessionPolicy
from thalovant.link.supervisor import State

__all__ = ["AsyncHubSession", "HubSessionState"]

logger = logging.getLogger("thalovant.session")

StateCallback = Callable[[HubSessionState], Any]


class AsyncHubSession(ProbingMethods):
    """Keeps one hub link up (see the module docstring); :meth:`probe`, :meth:`probe_delay`,
    :attr:`retry_at` and :attr:`retry_wait` come from :mod:`thalovant.agent.probing`.

    Args:
        connect: Returns the session's client (called once, on first use; may be async). The
            client is never rebuilt: its supervisor redials.
        policy: How the link is kept (default :class:`HubSessionPolicy`).
        clock: The clock of :attr:`HubSessionState.since`.
        settle_seconds: Accepted for compatibility; the link's own refusal window decides
            when a new link counts as up.
        origin: Dial through a preferred (LAN) origin first
            (:class:`~thalovant.agent.origin.OriginPreference`).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]] | Callable[[], Any],
        *,
        policy: HubSessionPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        settle_seconds: float = 0.75,
        origin: OriginRoute | None = None,
    ) -> None:
        if not callable(connect):
            raise ThalovantRuntimeError("connect must be a callable returning the client")
        self._connect = connect
        self.policy = policy or HubSessionPolicy()
        self.settle_seconds = settle_seconds
        self.origin = origin
        self._clock = clock
        self._client: AsyncThalovantClient | None = None
        self._building: asyncio.Future[AsyncThalovantClient] | None = None
        self._callbacks: list[StateCallback] = []
        self._pending_on: list[tuple[str, Callable[[Any], Any], list[Any]]] = []
        self._subscriptions: list[Any] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._state = HubSessionState("idle", since=clock())
        self._changed: anyio.Event | None = None  # made on the loop (not at construction)
        self._closed = False
        self._remove_listener: Callable[[], None] | None = None

    @classmethod
    def for_identity(
        cls,
        identity: Any,
        *,
        session: Any = None,
        policy: HubSessionPolicy | None = None,
        settle_seconds: float = 0.75,
        origin: OriginRoute | None = None,
        **client_kwargs: Any,
    ) -> AsyncHubSession:
        """A session over a new client of ``identity``.

        Args:
            identity: A :class:`~thalovant.identity.model.ThalovantIdentity`.
            session: Accepted for compatibility (an aiohttp session of the official SDK);
                must be None.
            policy: How the link is kept.
            settle_seconds: See the class.
            origin: See the class.
            **client_kwargs: Keyword arguments of ``AsyncThalovantClient``.

        Returns:
            The session (not connected).

        Raises:
            ThalovantRuntimeError: A ``session`` was given.
        """
        if session is not None:
            raise ThalovantRuntimeError("a caller-supplied HTTP session is not supported")
        client = AsyncThalovantClient(identity, **client_kwargs)
        return cls(lambda: client, policy=policy, settle_seconds=settle_seconds, origin=origin)

    def __repr__(self) -> str:
        return f"<AsyncHubSession {self._state.phase}>"

    # -- state ----------------------------------------------------------------------------

    @property
    def client(self) -> AsyncThalovantClient | None:
        """The session's client (None before the first use)."""
        return self._client

    @property
    def state(self) -> HubSessionState:
        """The current state."""
        return self._state

    @property
    def held(self) -> bool:
        """True while the link is up."""
        return self._state.held

    @property
    def connected(self) -> bool:
        """True while the link is up (same as :attr:`held`)."""
        return self._client is not None and self._client.is_connected

    def on_state_change(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback`` with every new :class:`HubSessionState` (plain ones on the loop,
        so keep them short; async ones in a task of their own). A raising callback is logged.

        Args:
            callback: A plain or async function of one state (truthy while held).

        Returns:
            A function that removes the callback.
        """
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    async def wait_state(self, *phases: str, timeout: float = 30.0) -> HubSessionState:
        """Wait until the state's phase is one of ``phases`` (now or later).

        Args:
            *phases: Phase names (default ``"ready"``).
            timeout: Seconds to wait.

        Returns:
            The state reached.

        Raises:
            ThalovantTimeoutError: Not reached within ``timeout``.
            ThalovantRuntimeError: An unknown phase.
        """
        wanted = phases or ("ready",)
        if any(phase not in PHASES for phase in wanted):
            raise ThalovantRuntimeError(f"unknown phase in {wanted!r}; phases are {PHASES}")
        with anyio.move_on_after(timeout):
            while self._state.phase not in wanted:
                await self._next_change()
            return self._state
        raise ThalovantTimeoutError(
            f"the session did not reach {'/'.join(wanted)} within {timeout:g} s "
            f"(it is {self._state.phase})"
        )

    async def _next_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    # -- lifecycle ------------------------------------------------------------------------

    async def _ensure(self) -> AsyncThalovantClient:
        if self._closed:
            raise ThalovantConnectionError("the session is closed")
        if self._client is not None:
            return self._client
        if self._building is None:
            self._building = asyncio.get_running_loop().create_future()
            try:
                made = self._connect()
                if inspect.isawaitable(made):
                    made = await made
                if not isinstance(made, AsyncThalovantClient):
                    raise ThalovantRuntimeError("connect must return an AsyncThalovantClient")
            except BaseException as exc:
                building, self._building = self._building, None
                building.cancel()
                raise exc
            self._adopt(made)
            self._building.set_result(made)
        return await asyncio.shield(self._building)

    def _adopt(self, client: AsyncThalovantClient) -> None:
        client.keep(self.policy, origin=self.origin)
        self._remove_listener = client.on_link_state(self._on_link_state)
        self._client = client
        for event_name, handler, holder in self._pending_on:
            holder.append(client.on(event_name, handler))
            self._subscriptions.append(holder[-1])
        self._pending_on.clear()

    def _on_link_state(self, state: State) -> None:
        client = self._client
        error = client.last_error if client is not None else None
        self._set(HubSessionState(state, error=None if state == "ready" else error))

    def _set(self, state: HubSessionState) -> None:
        state = HubSessionState(state.phase, state.error, self._clock())
        self._state = state
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
        for callback in list(self._callbacks):
            try:
                result = callback(state)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception:
                logger.exception("a session state callback raised (state %s)", state.phase)

    def _callback_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a session state callback raised", exc_info=task.exception())

    async def connect(self, timeout: float | None = None) -> None:
        """Hold the link and wait until it is up. On a failure the session keeps redialing
        on its ladder in the background; only a terminal state ends that.

        Args:
            timeout: Seconds to wait (default 25).

        Raises:
            ThalovantConnectTimeoutError: Not up in time (the session keeps trying).
            ThalovantHubRefusedError: Refused past the grace period (terminal).
            ThalovantHubKeyChangedError: The hub key changed and the pin policy said no.
            ThalovantConnectionError: The session is closed, or another connection failure.
        """
        client = await self._ensure()
        await client.connect(DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout)

    async def run(self) -> None:
        """Hold the link until :meth:`close` (returns) or a terminal state (raises).

        Raises:
            ThalovantHubRefusedError: Refused past the grace period.
            ThalovantHubKeyChangedError: The hub key changed and the pin policy said no.
            ThalovantConnectionError: Another terminal failure.
        """
        client = await self._ensure()
        try:
            await client.connect(DEFAULT_CONNECT_TIMEOUT)
        except ThalovantError as exc:
            failure = client.link_failure
            if failure is not None:
                raise failure from None
            logger.info("not connected yet (%s); redialing on the ladder", exc)
        while not self._closed:
            failure = client.link_failure
            if failure is not None:
                raise failure
            if self._state.phase in ("idle", "closed") and not self._closed:
                # nothing is dialing (e.g. a caller's close of the client): ask again
                try:
                    await client.connect(DEFAULT_CONNECT_TIMEOUT)
                except ThalovantError as exc:
                    logger.info("reconnect failed (%s); redialing on the ladder", exc)
                continue
            await self._next_change()

    async def close(self, timeout: float | None = None) -> None:
        """Stop holding, retire the subscriptions and close the client (bounded).

        Args:
            timeout: Seconds before the connection is aborted (default 5).
        """
        self._closed = True
        for sub in self._subscriptions:
            sub.close()
        self._subscriptions.clear()
        client = self._client
        if client is not None:
            client.keep(None)
            await client.close(timeout)
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        for task in list(self._tasks):
            task.cancel()
        if self._state.phase != "closed":
            self._set(HubSessionState("closed"))

    async def __aenter__(self) -> AsyncHubSession:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- talking to the hub ---------------------------------------------------------------

    async def ask(self, text: str, **kwargs: Any) -> Any:
        """``client.ask`` (never replayed once published).

        Args:
            text: The utterance.
            **kwargs: Keyword arguments of ``AsyncThalovantClient.ask``.

        Returns:
            The ``ThalovantReply``.
        """
        return await (await self._ensure()).ask(text, **kwargs)

    async def emit(self, event_type: str, data: Any = None, context: Any = None) -> Any:
        """``client.emit`` (not retried after a dead socket).

        Args:
            event_type: The bus message type.
            data: Its data.
            context: Its context.

        Returns:
            What ``client.emit`` returns.
        """
        return await (await self._ensure()).emit(event_type, data, context)

    async def reply(self, event: Any, msg_type: str, data: Any = None, context: Any = None) -> Any:
        """``client.reply``.

        Args:
            event: The event replied to.
            msg_type: The reply's type.
            data: Its data.
            context: Extra context.

        Returns:
            What ``client.reply`` returns.
        """
        return await (await self._ensure()).reply(event, msg_type, data, context)

    def on(self, event_name: str, handler: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``handler`` for every ``event_name`` event, across every redial.

        Args:
            event_name: The event name (``"*"``: all).
            handler: A plain (run on the loop) or async function of one ``ThalovantEvent``.

        Returns:
            A function that ends the subscription.
        """
        holder: list[Any] = []
        if self._client is not None:
            holder.append(self._client.on(event_name, handler))
            self._subscriptions.append(holder[0])
        else:
            self._pending_on.append((event_name, handler, holder))

        def unsubscribe() -> None:
            for sub in holder:
                sub.close()
                if sub in self._subscriptions:
                    self._subscriptions.remove(sub)
            self._pending_on[:] = [p for p in self._pending_on if p[2] is not holder]

        return unsubscribe

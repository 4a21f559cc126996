"""``AsyncThalovantAgent``: decorators for hub events and ``run_forever``.

An agent is an :class:`~thalovant.agent.session.AsyncHubSession` with handlers::

    agent = AsyncThalovantAgent.from_identity_file("_identity.json")

    @agent.on_speak
    async def speak(event):
        print(event.data["utterance"])

    await agent.run_forever()        # until agent.stop(), SIGTERM or SIGINT

Driven by connection-state events: ``run_forever`` sleeps on the session's state and wakes
only when it changes (the official agent calls ``healthcheck()`` four times a second;
``poll_interval`` is accepted and unused). Handlers may be async (awaited on the loop) or
plain (run in a worker thread, off the loop); each subscription handles its events one at a
time in arrival order. A raising handler is logged with its event and never stops the agent.
The subscriptions live on the client's bus, so they survive every redial; ``run_forever``
closes them and the connection when it returns (within ``close_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

import anyio

from thalovant.agent.session import AsyncHubSession
from thalovant.bus.subscribers import Subscription
from thalovant.client.client import AsyncThalovantClient
from thalovant.client.conversation import AsyncThalovantConversation
from thalovant.client.runtime import OriginRoute
from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.events import EVENT_SPEAK
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.policy import HubSessionPolicy
from thalovant.models.types import ThalovantEvent

__all__ = ["AsyncThalovantAgent", "EventHandler"]

logger = logging.getLogger("thalovant.agent")

#: A handler: a plain or async function of one event.
EventHandler = Callable[[ThalovantEvent], Any]
H = TypeVar("H", bound=EventHandler)

#: Default bound of the final close of ``run_forever``.
DEFAULT_CLOSE_TIMEOUT = 5.0


def _describe(event: ThalovantEvent) -> str:
    rid = event.context.get("request_id") if isinstance(event.context, dict) else None
    return f"{event.name!r}" + (f" (request {rid})" if isinstance(rid, str) else "")


class AsyncThalovantAgent:
    """A long-running hub client with event handlers (see the module docstring).

    Args:
        identity: The client's identity.
        policy: How the link is kept (default :class:`HubSessionPolicy`).
        close_timeout: Seconds the final close may take.
        origin: Dial through a preferred (LAN) origin first (``OriginPreference``).
        **client_kwargs: Keyword arguments of ``AsyncThalovantClient``.
    """

    def __init__(
        self,
        identity: ThalovantIdentity,
        *,
        policy: HubSessionPolicy | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        origin: OriginRoute | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.client = AsyncThalovantClient(identity, **client_kwargs)
        """The agent's client (its link is held by :attr:`session`)."""
        self.session = AsyncHubSession(lambda: self.client, policy=policy, origin=origin)
        """The session holding the link."""
        self.close_timeout = close_timeout
        self._subscriptions: list[Subscription] = []
        self._stop: anyio.Event | None = None
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_identity_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> AsyncThalovantAgent:
        """An agent for the identity file at ``path``.

        Args:
            path: The identity JSON file.
            **kwargs: Keyword arguments of the constructor.

        Returns:
            The agent (not running).
        """
        return cls(ThalovantIdentity.from_file(path), **kwargs)

    @classmethod
    def from_env(cls, **kwargs: Any) -> AsyncThalovantAgent:
        """An agent for the identity in ``THALOVANT_*`` environment variables.

        Args:
            **kwargs: Keyword arguments of the constructor (``prefix=`` for another prefix).

        Returns:
            The agent (not running).
        """
        prefix = kwargs.pop("prefix", "THALOVANT_")
        return cls(ThalovantIdentity.from_env(prefix), **kwargs)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        profile: str | None = None,
        **kwargs: Any,
    ) -> AsyncThalovantAgent:
        """An agent for a profile of the YAML config file.

        Args:
            path: The config file (default the user's config file).
            profile: The profile (default the file's default).
            **kwargs: Keyword arguments of the constructor.

        Returns:
            The agent (not running).
        """
        return cls(ThalovantIdentity.from_config(path, profile=profile), **kwargs)

    def __repr__(self) -> str:
        return f"<AsyncThalovantAgent {self.session.state.phase}>"

    # -- handlers -------------------------------------------------------------------------

    def subscribe(self, event_name: str, handler: EventHandler) -> Subscription:
        """Call ``handler`` for every ``event_name`` event (see the module docstring).

        Args:
            event_name: The event name (``"*"``: all).
            handler: A plain or async function of one event.

        Returns:
            The subscription (``close()`` ends it).
        """
        if not callable(handler):
            raise ThalovantRuntimeError("handler must be callable")
        sub = self.client.on(event_name, self._guarded(event_name, handler))
        self._subscriptions.append(sub)
        return sub

    @overload
    def on(self, event_name: str, handler: None = None) -> Callable[[H], H]: ...
    @overload
    def on(self, event_name: str, handler: H) -> H: ...
    def on(self, event_name: str, handler: H | None = None) -> H | Callable[[H], H]:
        """Register ``handler`` for ``event_name``; without a handler, a decorator.

        Args:
            event_name: The event name (``"*"``: all).
            handler: A plain or async function of one event.

        Returns:
            The handler (or the decorator that registers it).
        """
        if handler is not None:
            self.subscribe(event_name, handler)
            return handler

        def register(fn: H) -> H:
            self.subscribe(event_name, fn)
            return fn

        return register

    @overload
    def on_speak(self, handler: None = None) -> Callable[[H], H]: ...
    @overload
    def on_speak(self, handler: H) -> H: ...
    def on_speak(self, handler: H | None = None) -> H | Callable[[H], H]:
        """:meth:`on` for ``speak`` events.

        Args:
            handler: A plain or async function of one event.

        Returns:
            The handler (or the decorator that registers it).
        """
        return self.on(EVENT_SPEAK, handler) if handler is not None else self.on(EVENT_SPEAK)

    def _guarded(self, event_name: str, handler: EventHandler) -> EventHandler:
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004 - an async __call__
        )
        name = getattr(handler, "__qualname__", type(handler).__name__)

        async def run(event: ThalovantEvent) -> None:
            try:
                if is_async:
                    await handler(event)
                else:
                    result = await anyio.to_thread.run_sync(handler, event)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                logger.exception(
                    "agent handler %s for %r raised on event %s; the agent goes on",
                    name,
                    event_name,
                    _describe(event),
                )

        return run

    # -- talking to the hub ---------------------------------------------------------------

    async def ask(self, text: str, **kwargs: Any) -> Any:
        """``client.ask``.

        Args:
            text: The utterance.
            **kwargs: Keyword arguments of ``AsyncThalovantClient.ask``.

        Returns:
            The ``ThalovantReply``.
        """
        return await self.session.ask(text, **kwargs)

    async def send_utterance(self, text: str, **kwargs: Any) -> Any:
        """``client.send_utterance``.

        Args:
            text: The utterance.
            **kwargs: Keyword arguments of ``AsyncThalovantClient.send_utterance``.

        Returns:
            The request id.
        """
        return await self.client.send_utterance(text, **kwargs)

    def conversation(self, **kwargs: Any) -> AsyncThalovantConversation:
        """``client.conversation``.

        Args:
            **kwargs: Keyword arguments of ``AsyncThalovantClient.conversation``.

        Returns:
            The conversation.
        """
        return self.client.conversation(**kwargs)

    # -- running --------------------------------------------------------------------------

    async def run_forever(self, *, poll_interval: float = 0.25) -> None:
        """Hold the link and handle events until :meth:`stop`, SIGTERM or SIGINT; then close
        the subscriptions and the connection (within ``close_timeout``).

        Args:
            poll_interval: Accepted for compatibility and unused: the agent sleeps on state
                changes instead of polling.

        Raises:
            ThalovantHubRefusedError: Refused past the policy's grace period (after closing).
            ThalovantHubKeyChangedError: The hub key changed and the pin policy said no.
        """
        self._loop = asyncio.get_running_loop()
        stop = self._stop = anyio.Event()
        if self._stop_requested:
            stop.set()
        failures: list[ThalovantError] = []
        try:
            with self._signals():
                async with anyio.create_task_group() as tg:

                    async def hold() -> None:
                        try:
                            await self.session.run()
                        except ThalovantError as exc:  # terminal: grace over, key refused
                            logger.error("the agent stops: %s", exc)
                            failures.append(exc)
                        finally:
                            stop.set()

                    tg.start_soon(hold)
                    await stop.wait()
                    tg.cancel_scope.cancel()
        finally:
            self._stop = None
            self._stop_requested = False
            with anyio.CancelScope(shield=True):
                await self.close()
        if failures:
            raise failures[0]

    def stop(self) -> None:
        """Make :meth:`run_forever` return (thread-safe; fine from a signal handler)."""
        loop = self._loop
        self._stop_requested = True
        stop = self._stop
        if stop is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop.set()
        else:
            loop.call_soon_threadsafe(stop.set)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT call :meth:`stop` while running in the main thread."""
        loop = self._loop
        installed: list[signal.Signals] = []
        if loop is not None and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(sig, self.stop)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
        try:
            yield
        finally:
            for sig in installed:
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close the subscriptions and the connection (bounded by ``close_timeout``)."""
        for sub in self._subscriptions:
            sub.close()
        self._subscriptions.clear()
        await self.session.close(self.close_timeout)

    async def __aenter__(self) -> AsyncThalovantAgent:
        await self.session.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

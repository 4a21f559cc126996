"""The blocking twins: :class:`ThalovantAgent` and :class:`HubSession`.

Each runs its async twin (:class:`~thalovant.agent.agent.AsyncThalovantAgent`,
:class:`~thalovant.agent.session.AsyncHubSession`) on a private event-loop thread
(:class:`~thalovant.sync.portal.LoopThread`, as ``ThalovantClient`` does) and adds no logic:
every method is one call onto that loop. Plain handlers and state callbacks run in worker
threads, never on the loop, so they may call back into the agent or session.
``ThalovantAgent.run_forever`` blocks the calling thread; SIGTERM and SIGINT (in the main
thread) and ``stop()`` from any thread make it return after a clean close.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import anyio

from thalovant.agent.agent import DEFAULT_CLOSE_TIMEOUT, AsyncThalovantAgent, EventHandler
from thalovant.agent.session import AsyncHubSession, HubSessionState
from thalovant.bus.subscribers import Subscription
from thalovant.client.client import AsyncThalovantClient
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.policy import HubSessionPolicy
from thalovant.sync.conversation import ThalovantConversation
from thalovant.sync.portal import LoopThread

__all__ = ["HubSession", "ThalovantAgent"]


def _off_loop(callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``callback`` as an async function that runs a plain one in a worker thread."""
    if inspect.iscoroutinefunction(callback):
        return callback

    async def run(item: Any) -> None:
        await anyio.to_thread.run_sync(callback, item)

    return run


class _ConversationHost:
    """What ``ThalovantConversation`` needs: a loop thread and an async client."""

    def __init__(self, loop: LoopThread, client: AsyncThalovantClient) -> None:
        self._loop = loop
        self._async = client


class ThalovantAgent:
    """Blocking twin of :class:`~thalovant.agent.agent.AsyncThalovantAgent`.

    Args:
        identity: The client's identity.
        policy: How the link is kept.
        close_timeout: Seconds the final close may take.
        **client_kwargs: Keyword arguments of ``AsyncThalovantClient``.
    """

    def __init__(
        self,
        identity: ThalovantIdentity,
        *,
        policy: HubSessionPolicy | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        **client_kwargs: Any,
    ) -> None:
        self._async = AsyncThalovantAgent(
            identity, policy=policy, close_timeout=close_timeout, **client_kwargs
        )
        self._loop = LoopThread(
            "ThalovantAgent",
            self._async.session.close,
            name="thalovant-agent",
            async_name="AsyncThalovantAgent",
        )

    @classmethod
    def from_identity_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> ThalovantAgent:
        """An agent for the identity file at ``path`` (see the async twin)."""
        return cls(ThalovantIdentity.from_file(path), **kwargs)

    @classmethod
    def from_env(cls, **kwargs: Any) -> ThalovantAgent:
        """An agent for the identity in ``THALOVANT_*`` environment variables."""
        prefix = kwargs.pop("prefix", "THALOVANT_")
        return cls(ThalovantIdentity.from_env(prefix), **kwargs)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        profile: str | None = None,
        **kwargs: Any,
    ) -> ThalovantAgent:
        """An agent for a profile of the YAML config file."""
        return cls(ThalovantIdentity.from_config(path, profile=profile), **kwargs)

    @property
    def session(self) -> AsyncHubSession:
        """The async session holding the link (loop-bound: read its ``state`` only)."""
        return self._async.session

    def subscribe(self, event_name: str, handler: EventHandler) -> Subscription:
        """See :meth:`AsyncThalovantAgent.subscribe` (plain handlers run off the loop)."""
        return self._loop.call_sync(self._async.subscribe, event_name, handler)

    def on(self, event_name: str, handler: EventHandler | None = None) -> Any:
        """See :meth:`AsyncThalovantAgent.on` (a decorator without ``handler``)."""
        if handler is not None:
            self.subscribe(event_name, handler)
            return handler

        def register(fn: EventHandler) -> EventHandler:
            self.subscribe(event_name, fn)
            return fn

        return register

    def on_speak(self, handler: EventHandler | None = None) -> Any:
        """See :meth:`AsyncThalovantAgent.on_speak`."""
        return self.on("speak", handler)

    def ask(self, text: str, **kwargs: Any) -> Any:
        """See :meth:`AsyncThalovantAgent.ask`."""
        return self._loop.call(self._async.ask, text, **kwargs)

    def send_utterance(self, text: str, **kwargs: Any) -> Any:
        """See :meth:`AsyncThalovantAgent.send_utterance`."""
        return self._loop.call(self._async.send_utterance, text, **kwargs)

    def conversation(self, **kwargs: Any) -> ThalovantConversation:
        """A blocking conversation on the agent's client."""
        return ThalovantConversation(_ConversationHost(self._loop, self._async.client), **kwargs)

    def run_forever(self, *, poll_interval: float = 0.25) -> None:
        """See :meth:`AsyncThalovantAgent.run_forever`; blocks this thread. In the main thread,
        SIGTERM and SIGINT call :meth:`stop` while it runs."""
        try:
            with self._signals():
                self._loop.call(self._async.run_forever, poll_interval=poll_interval)
        finally:
            self._loop.shutdown(self._async.close_timeout + 1.0, close=False)

    def stop(self) -> None:
        """Make :meth:`run_forever` return (thread-safe; fine from a signal handler)."""
        self._async.stop()

    def close(self) -> None:
        """Close the subscriptions and the connection, and stop the loop thread."""
        self._loop.finish(self._async.close)

    def __enter__(self) -> ThalovantAgent:
        self._loop.call(self._async.session.connect)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            self.stop()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


class HubSession:
    """Blocking twin of :class:`~thalovant.agent.session.AsyncHubSession`.

    Args:
        connect: Returns the session's ``AsyncThalovantClient`` (called once, on the
            session's loop thread).
        policy: How the link is kept.
        clock: The clock of :attr:`HubSessionState.since`.
        warm: Start holding the link at once, in the background.
        thread_name: The loop thread's name.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        policy: HubSessionPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        warm: bool = True,
        thread_name: str = "thalovant-hub-session",
    ) -> None:
        self._async = AsyncHubSession(connect, policy=policy, clock=clock)
        self._loop = LoopThread(
            "HubSession", self._async.close, name=thread_name, async_name="AsyncHubSession"
        )
        if warm:
            self.warm()

    @classmethod
    def for_identity(
        cls,
        identity: ThalovantIdentity,
        *,
        policy: HubSessionPolicy | None = None,
        warm: bool = True,
        **client_kwargs: Any,
    ) -> HubSession:
        """A session over a new client of ``identity`` (see the async twin)."""
        return cls(
            lambda: AsyncThalovantClient(identity, **client_kwargs), policy=policy, warm=warm
        )

    @property
    def state(self) -> HubSessionState:
        """The current state (truthy while held)."""
        return self._async.state

    @property
    def held(self) -> bool:
        """True while the link is up."""
        return self._async.held

    @property
    def policy(self) -> HubSessionPolicy:
        """How the link is kept."""
        return self._async.policy

    @property
    def retry_at(self) -> float | None:
        """See :attr:`AsyncHubSession.retry_at`."""
        return self._async.retry_at

    @property
    def retry_wait(self) -> float:
        """See :attr:`AsyncHubSession.retry_wait`."""
        return self._async.retry_wait

    def probe_delay(self) -> float:
        """See :meth:`AsyncHubSession.probe_delay`."""
        return self._async.probe_delay()

    def probe(self, timeout: float | None = None) -> bool:
        """See :meth:`AsyncHubSession.probe` (blocks until the check is done)."""
        return self._loop.call(self._async.probe, timeout)

    def warm(self) -> None:
        """Start holding the link in the background (the session's ``run``)."""
        self._loop.start()
        self._loop.submit(self._background)

    async def _background(self) -> None:
        with contextlib.suppress(Exception):  # a terminal state is in ``state``
            await self._async.run()

    def connect(self, timeout: float | None = None) -> None:
        """See :meth:`AsyncHubSession.connect`."""
        self._loop.call(self._async.connect, timeout)

    def run(self) -> None:
        """See :meth:`AsyncHubSession.run`; blocks until closed or terminal."""
        self._loop.call(self._async.run)

    def wait_state(self, *phases: str, timeout: float = 30.0) -> HubSessionState:
        """See :meth:`AsyncHubSession.wait_state`."""
        return self._loop.call(self._async.wait_state, *phases, timeout=timeout)

    def ask(self, text: str, **kwargs: Any) -> Any:
        """See :meth:`AsyncHubSession.ask`."""
        return self._loop.call(self._async.ask, text, **kwargs)

    def emit(self, event_type: str, data: Any = None, context: Any = None) -> Any:
        """See :meth:`AsyncHubSession.emit`."""
        return self._loop.call(self._async.emit, event_type, data, context)

    def reply(self, event: Any, msg_type: str, data: Any = None, context: Any = None) -> Any:
        """See :meth:`AsyncHubSession.reply`."""
        return self._loop.call(self._async.reply, event, msg_type, data, context)

    def on(self, event_name: str, handler: Callable[[Any], Any]) -> Callable[[], None]:
        """See :meth:`AsyncHubSession.on` (a plain handler runs in a worker thread)."""
        return self._loop.call_sync(self._async.on, event_name, _off_loop(handler))

    def on_state_change(self, callback: Callable[[HubSessionState], Any]) -> Callable[[], None]:
        """See :meth:`AsyncHubSession.on_state_change` (a plain callback runs in a worker
        thread)."""
        return self._loop.call_sync(self._async.on_state_change, _off_loop(callback))

    def close(self) -> None:
        """Close the session and stop its loop thread."""
        self._loop.finish(self._async.close)

    def __enter__(self) -> HubSession:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

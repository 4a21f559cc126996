"""The machinery behind one ``AsyncThalovantClient``: its task group, supervisor and bus.

:class:`ClientRuntime` starts lazily: the first call that needs the hub creates a host task
on the running loop that owns an anyio task group (so ``connect`` and ``close`` may run in
different tasks, as a blocking portal does). The group runs the
:class:`~thalovant.link.supervisor.Supervisor` (dial → reader → redial) and every callback handler.
:meth:`ClientRuntime.close` fails in-flight requests, closes the link (bounded, then abort),
retires the subscriptions and stops the group; a later call starts afresh.

:meth:`ClientRuntime.publish` is the only way a request reaches the hub: it reconnects before
publication only (a failed connect, or :class:`~thalovant.link.link.LinkDown`), at most
``reconnect_attempts`` times within the caller's deadline, and never resends after that.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import anyio
from anyio.abc import TaskGroup

from thalovant.bus.bus import EventBus
from thalovant.bus.routing import InboundDispatcher
from thalovant.carriers import CarrierOptions
from thalovant.carriers.tls import client_ssl_context
from thalovant.client.options import ClientOptions
from thalovant.client.repin import accept_hub_key
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantRuntimeError,
)
from thalovant.identity.keystore import NoiseKeyStore, legacy_noise_folder, resolve_noise_folder
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import (
    Backoff,
    ConnectionTelemetry,
    Link,
    LinkSettings,
    Supervisor,
    dial,
    pin_id_for,
)
from thalovant.link.link import LinkDown
from thalovant.link.policy import HubSessionPolicy
from thalovant.link.supervisor import StateListener
from thalovant.protocol.psk import default_psk_deriver

__all__ = ["ClientRuntime"]

logger = logging.getLogger("thalovant.client")

_WRONG_LOOP = (
    "AsyncThalovantClient is bound to the event loop it was first used on; "
    "create one client per loop"
)
_FORKED = (
    "AsyncThalovantClient was opened in the parent process (pid {parent}) and cannot be used "
    "in this forked child (pid {child}); open the client in the worker process, e.g. in the "
    "app's lifespan, not at import time (gunicorn --preload forks after importing the app)"
)
T = TypeVar("T")


class OriginRoute(Protocol):
    """What the runtime needs of an ``OriginPreference`` (thalovant.agent.origin): run one
    dial through a preferred address for ``host``, falling back to the public origin."""

    async def connect_async(
        self, build: Callable[[float | None], Awaitable[Link]], *, host: str
    ) -> Link:
        """Dial through the preferred origin first."""
        ...


# This process's pid, refreshed in a forked child (``os.getpid()`` is a system call; the
# check runs on every public call). docs/architecture.md, "Several workers".
_PROCESS = [os.getpid()]


def _after_fork_in_child() -> None:
    _PROCESS[0] = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ClientRuntime:
    """Task group, supervisor, bus and loop binding of one client (see the module docstring).

    Args:
        identity: The client's identity.
        options: The client's connection options.
    """

    def __init__(self, identity: ThalovantIdentity, options: ClientOptions) -> None:
        self.identity = identity
        self.options = options
        self.backoff = Backoff()
        self.telemetry = ConnectionTelemetry(options.protocol)
        self.bus = EventBus()
        self.inbound = InboundDispatcher(self.bus, identity.site_id)
        self.supervisor: Supervisor | None = None
        self.keep: HubSessionPolicy | None = None
        """The policy while a session or agent holds the link (``client.keep``)."""
        self.state_listeners: list[StateListener] = []
        self.origin: OriginRoute | None = None
        """Dial through a preferred (LAN) origin first (``client.keep(origin=...)``)."""
        self.task_group: TaskGroup | None = None
        self.generation = 0
        """Bumped by every close: work started before a close must not reopen the client."""
        self._settings: LinkSettings | None = None
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._pid: int | None = None
        """The process that bound the loop: a forked child may not use the client."""
        self._host: asyncio.Task[None] | None = None
        self._started: anyio.Event | None = None
        self._stop: anyio.Event | None = None

    # -- loop binding -----------------------------------------------------------------------

    def check_loop(self) -> None:
        """Bind to the running loop (and this process) on first use; refuse any other loop or
        process afterwards.

        Raises:
            ThalovantRuntimeError: Called from another event loop than the bound one, or in a
                forked child of the process that bound it (docs/architecture.md, "Several
                workers": the preload rule).
        """
        if self._pid is not None and self._pid != _PROCESS[0]:
            raise ThalovantRuntimeError(_FORKED.format(parent=self._pid, child=_PROCESS[0]))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a plain call outside any loop (e.g. on() at setup time)
        if self._loop is None:
            self._loop, self._pid = weakref.ref(loop), _PROCESS[0]
        elif self._loop() is not loop:
            raise ThalovantRuntimeError(_WRONG_LOOP)

    # -- state ------------------------------------------------------------------------------

    @property
    def link(self) -> Link | None:
        """The ready link, or None."""
        return self.supervisor.link if self.supervisor is not None else None

    def open_bus(self) -> EventBus:
        """The bus, replaced by a fresh one if a close retired it."""
        if self.bus.closed and self.supervisor is None:
            self.bus = EventBus()
            self.inbound = InboundDispatcher(self.bus, self.identity.site_id)
        return self.bus

    # -- start / stop -----------------------------------------------------------------------

    async def start(self) -> Supervisor:
        """Start the host task and task group (once); returns the supervisor."""
        if self.supervisor is None:
            bus = self.open_bus()
            sup = Supervisor(
                self._dial,
                self.inbound,
                telemetry=self.telemetry,
                on_lost=bus.fail_all,
                auto_reconnect=self.options.auto_reconnect,
                backoff=self.backoff,
                keep=self.keep,
                listeners=self.state_listeners,
            )
            started, stop = anyio.Event(), anyio.Event()
            self.supervisor, self._started, self._stop = sup, started, stop
            self._host = asyncio.get_running_loop().create_task(
                self._host_main(sup, bus, self.inbound, started, stop), name="thalovant-client"
            )
        sup = self.supervisor
        waiting = self._started
        if waiting is not None and not waiting.is_set():  # no checkpoint on the hot path
            await waiting.wait()
        return sup

    async def _host_main(
        self,
        sup: Supervisor,
        bus: EventBus,
        inbound: InboundDispatcher,
        started: anyio.Event,
        stop: anyio.Event,
    ) -> None:
        try:
            async with anyio.create_task_group() as tg:
                self.task_group = tg
                await bus.start(tg)
                inbound.start(tg)
                tg.start_soon(self._run_supervisor, sup, bus, name="thalovant-supervisor")
                started.set()
                await stop.wait()
                tg.cancel_scope.cancel()
        except Exception:  # pragma: no cover - a bug; callers are failed by the supervisor
            logger.exception("the client's task group failed")
        finally:
            if self.supervisor is sup:
                self.task_group = None
            started.set()

    @staticmethod
    async def _run_supervisor(sup: Supervisor, bus: EventBus) -> None:
        try:
            await sup.run()
        except Exception as exc:  # pragma: no cover - a bug: fail loudly, never hang callers
            logger.exception("the connection supervisor failed")
            error = ThalovantConnectionError(f"connection supervisor failed: {exc}")
            sup.close(error)
            bus.fail_all(error)

    async def close(self, timeout: float) -> None:
        """Fail in-flight requests, close the link, retire every subscription and stop the
        task group.

        Args:
            timeout: Seconds for closing the link (then abort) and for the host task.
        """
        sup, host, stop = self.supervisor, self._host, self._stop
        self.supervisor = self._host = self._stop = self._started = None
        self.task_group = None
        self.generation += 1
        error = ThalovantConnectionError("the client was closed")
        link = sup.close(error) if sup is not None else None
        self.bus.fail_all(error)
        self.bus.close()
        self.inbound.close()
        self.telemetry.phase = "closed"
        if link is not None:
            await link.aclose(timeout)
        if stop is not None:
            stop.set()
        if host is not None and not host.done():
            done, _ = await asyncio.wait({host}, timeout=timeout)
            if not done:
                host.cancel()

    def hold(self, policy: HubSessionPolicy | None, origin: OriginRoute | None = None) -> None:
        """Hold the link with ``policy`` (None: stop holding); see ``client.keep``."""
        self.keep = policy
        self.origin = origin
        if policy is not None:
            self.backoff = policy.backoff()
        sup = self.supervisor
        if sup is not None:
            sup.keep = policy
            sup.backoff = self.backoff

    # -- connecting -------------------------------------------------------------------------

    async def _dial(self, telemetry: ConnectionTelemetry) -> Link:
        if self._settings is None:
            self._settings = await anyio.to_thread.run_sync(self._make_settings)
        settings = self._settings
        sup = self.supervisor
        budget = (lambda: sup.attempt_deadline) if sup is not None else (lambda: None)
        origin = self.origin
        host = urlsplit(self.identity.endpoint_for(self.options.protocol) or "").hostname
        if origin is not None and host:
            return await origin.connect_async(
                lambda _: self._dial_pinned(settings, telemetry, budget), host=host
            )
        return await self._dial_pinned(settings, telemetry, budget)

    async def _dial_pinned(
        self,
        settings: LinkSettings,
        telemetry: ConnectionTelemetry,
        budget: Callable[[], float | None],
    ) -> Link:
        """One dial; a changed hub key goes to the pin policy, and a yes dials again."""
        try:
            return await dial(settings, telemetry, budget)
        except ThalovantHubKeyChangedError as exc:
            decide = self.keep.hub_key_policy if self.keep is not None else None
            if not await accept_hub_key(decide, settings, exc):
                raise
        return await dial(settings, telemetry, budget)

    def _make_settings(self) -> LinkSettings:
        # Blocking (CA bundle, folder creation): runs in a worker thread.
        opts, identity = self.options, self.identity
        context = opts.ssl_context or client_ssl_context(self_signed=opts.self_signed)
        source = identity.source_path
        folder = resolve_noise_folder(opts.noise_state_dir, source)
        legacy = legacy_noise_folder()
        migrate = opts.noise_state_dir is None and source is not None and folder != legacy
        return LinkSettings(
            identity=identity,
            protocol=opts.protocol,
            carrier=CarrierOptions(
                opts.useragent,
                opts.connect_timeout,
                context,
                http_session=opts.session,
                transport=opts.transport,
            ),
            handshake_timeout=opts.handshake_timeout,
            send_timeout=opts.send_timeout,
            key_store=NoiseKeyStore(folder),
            pin_id=pin_id_for(opts.protocol, identity),
            psk_deriver=default_psk_deriver,
            legacy_store=NoiseKeyStore(legacy) if migrate else None,
        )

    async def ready(self, deadline: float) -> Link:
        """The ready link, dialing if needed.

        Args:
            deadline: When to give up (``anyio.current_time`` clock).

        Returns:
            The ready link.

        Raises:
            ThalovantConnectionError: Not ready by ``deadline`` (or a subclass: refused, key
                changed, timed out).
        """
        sup = await self.start()
        return await sup.wait_ready(deadline)

    async def publish(self, deadline: float, send: Callable[[Link], Awaitable[T]]) -> T:
        """Run ``send`` on a ready link; reconnect before publication only (see the module
        docstring).

        Args:
            deadline: When to give up connecting (``anyio.current_time`` clock).
            send: Publishes on the link it is given; raises LinkDown when the link died first.

        Returns:
            What ``send`` returned.

        Raises:
            ThalovantConnectionError: No connection in time, the client closed, or the link
                died before publication on the last attempt.
        """
        generation = self.generation
        opts = self.options
        attempts = 1 + (opts.reconnect_attempts if opts.auto_reconnect else 0)
        for attempt in range(attempts):
            last = attempt + 1 >= attempts
            if self.generation != generation:
                raise ThalovantConnectionError("the client was closed")
            try:
                link = await self.ready(deadline)
            except (
                ThalovantConnectTimeoutError,
                ThalovantHubRefusedError,
                ThalovantHubKeyChangedError,
            ):
                raise
            except ThalovantConnectionError:
                if last or self.generation != generation:
                    raise
                continue
            try:
                return await send(link)
            except LinkDown as exc:
                if last or self.generation != generation:
                    raise ThalovantConnectionError(str(exc)) from exc
        raise AssertionError("unreachable")  # pragma: no cover

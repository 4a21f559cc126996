"""The lifespan helper: one shared ``AsyncThalovantClient`` per identity, opened at start-up
and closed at shutdown within a bounded time.

``FastAPI(lifespan=thalovant_lifespan(identity=...))`` opens the client(s) when the server
starts, keeps them on ``app.state.thalovant`` (a :class:`ThalovantService`) for every request,
and closes them when it stops. A server (uvicorn, gunicorn's uvicorn workers) waits for
in-flight requests before it runs the lifespan's shutdown, so a long ask would hold the exit
up: on SIGTERM/SIGINT the helper therefore starts closing the clients at once (after the
server's own handler ran). In-flight asks then fail with ``ThalovantConnectionError`` (an HTTP
503 through :func:`~thalovant.fastapi.errors.install_exception_handlers`), new ones are
refused the same way, and the server exits within ``close_timeout``
(docs/architecture.md: a drop fails every in-flight ask at once).

One client key per access key: the hub pins the first client key it sees for an access key,
so every worker of one service must share one key folder (the default: beside the identity
file, or the config file's folder). Workers that load the same identity file do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import FrameType
from typing import Any, Union

from fastapi import FastAPI

from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantConnectionError, ThalovantError, ThalovantRuntimeError
from thalovant.identity.model import ThalovantIdentity

__all__ = ["DEFAULT_CLIENT", "IdentitySource", "ThalovantService", "thalovant_lifespan"]

log = logging.getLogger("thalovant.fastapi")

DEFAULT_CLIENT = "default"
"""The name of the client made from ``identity=`` (or the environment)."""

IdentitySource = Union[ThalovantIdentity, str, "os.PathLike[str]"]
"""An identity, or the path of an identity file."""

UserLifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[Any]]
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ThalovantService:
    """The clients of one app, by name, and the shutdown state they share.

    Args:
        clients: The clients by name (not connected yet).
        close_timeout: Seconds each client gets to close.
    """

    def __init__(self, clients: Mapping[str, AsyncThalovantClient], close_timeout: float) -> None:
        if not clients:
            raise ThalovantRuntimeError("thalovant_lifespan needs at least one identity")
        self.clients = dict(clients)
        self.close_timeout = close_timeout
        self._closing: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        """Whether the shutdown began (new asks are refused)."""
        return self._closing is not None

    def client(self, name: str | None = None) -> AsyncThalovantClient:
        """The client called ``name``.

        Args:
            name: The client's name (``None``: the only one, or :data:`DEFAULT_CLIENT`).

        Returns:
            The shared client.

        Raises:
            ThalovantConnectionError: The service is shutting down.
            ThalovantRuntimeError: No client has that name.
        """
        if self.closing:
            raise ThalovantConnectionError("the service is shutting down")
        if name is None:
            if len(self.clients) == 1:
                return next(iter(self.clients.values()))
            name = DEFAULT_CLIENT
        try:
            return self.clients[name]
        except KeyError:
            raise ThalovantRuntimeError(f"no Thalovant client named {name!r}") from None

    async def connect_all(self, timeout: float) -> None:
        """Connect every client; a failure is logged, not raised (readiness reports it).

        Args:
            timeout: Seconds for each connection.
        """

        async def one(name: str, client: AsyncThalovantClient) -> None:
            try:
                await client.connect(timeout)
            except ThalovantError as exc:
                log.warning("thalovant client %r not connected at start-up: %s", name, exc)

        await asyncio.gather(*(one(n, c) for n, c in self.clients.items()))

    def begin_shutdown(self) -> asyncio.Task[None]:
        """Start closing every client (idempotent); in-flight asks fail at once.

        Returns:
            The task that closes them.
        """
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close_all())
        return self._closing

    async def _close_all(self) -> None:
        async def one(client: AsyncThalovantClient) -> None:
            try:
                await client.close(self.close_timeout)
            except ThalovantError as exc:  # close is bounded; report, never hang the exit
                log.warning("thalovant client did not close cleanly: %s", exc)

        await asyncio.gather(*(one(c) for c in self.clients.values()))

    async def aclose(self) -> None:
        """Close every client within ``close_timeout`` (plus a small margin)."""
        task = self.begin_shutdown()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), self.close_timeout + 1.0)


def _make_client(source: IdentitySource, options: Mapping[str, Any]) -> AsyncThalovantClient:
    if isinstance(source, ThalovantIdentity):
        return AsyncThalovantClient(source, **options)
    return AsyncThalovantClient.from_identity_file(source, **options)


def _build_clients(
    identity: IdentitySource | None,
    identities: Mapping[str, IdentitySource] | None,
    profiles: Sequence[str],
    config_path: str | os.PathLike[str] | None,
    options: Mapping[str, Any],
) -> dict[str, AsyncThalovantClient]:
    clients: dict[str, AsyncThalovantClient] = {}
    if identity is not None:
        clients[DEFAULT_CLIENT] = _make_client(identity, options)
    for name, source in (identities or {}).items():
        clients[name] = _make_client(source, options)
    for profile in profiles:
        clients[profile] = AsyncThalovantClient.from_config(config_path, profile=profile, **options)
    if not clients:
        path = os.environ.get("THALOVANT_IDENTITY_FILE")
        clients[DEFAULT_CLIENT] = (
            AsyncThalovantClient.from_identity_file(path, **options)
            if path
            else AsyncThalovantClient.from_env(**options)
        )
    return clients


def _chain_signals(service: ThalovantService) -> Callable[[], None]:
    """Begin the shutdown on SIGINT/SIGTERM after the server's own handler; undo function."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(sig: int, frame: FrameType | None) -> None:
        before = previous.get(sig)
        if callable(before):
            before(sig, frame)
        loop.call_soon_threadsafe(service.begin_shutdown)

    for sig in _SIGNALS:
        previous[sig] = signal.getsignal(sig)
        if previous[sig] in (signal.SIG_DFL, signal.SIG_IGN, None):
            continue  # no server handler to chain (a bare script): leave the default alone
        signal.signal(sig, handler)

    def undo() -> None:
        for sig, before in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, before)

    return undo


def thalovant_lifespan(
    identity: IdentitySource | None = None,
    *,
    identities: Mapping[str, IdentitySource] | None = None,
    profiles: Sequence[str] = (),
    config_path: str | os.PathLike[str] | None = None,
    client_options: Mapping[str, Any] | None = None,
    connect_on_startup: bool = True,
    connect_timeout: float = 25.0,
    close_timeout: float = 5.0,
    close_on_signal: bool = True,
    lifespan: UserLifespan | None = None,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that opens the Thalovant client(s) and closes them at shutdown.

    With none of ``identity``, ``identities`` and ``profiles``, the one client comes from
    ``$THALOVANT_IDENTITY_FILE``, else from the ``THALOVANT_*`` variables.

    Args:
        identity: The default client's identity or identity file (name :data:`DEFAULT_CLIENT`).
        identities: More clients, by name.
        profiles: Config-file profiles, one client each, named by profile.
        config_path: The config file of ``profiles`` (default: the standard location).
        client_options: Keyword arguments of every ``AsyncThalovantClient``.
        connect_on_startup: Connect before the first request (failures are logged and
            reported by the readiness endpoint, not raised).
        connect_timeout: Seconds for each start-up connection.
        close_timeout: Seconds each client gets to close at shutdown.
        close_on_signal: Begin closing on SIGINT/SIGTERM, so in-flight asks end with a
            typed error instead of holding the server's exit up.
        lifespan: The app's own lifespan, entered after the clients exist (so it may use
            them) and left before they close.

    Returns:
        The lifespan function for ``FastAPI(lifespan=...)``.

    Raises:
        ThalovantIdentityError: At start-up: an identity file, profile or variable is
            missing or invalid.
    """
    options = dict(client_options or {})

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        clients = _build_clients(identity, identities, profiles, config_path, options)
        service = ThalovantService(clients, close_timeout)
        app.state.thalovant = service
        undo = _chain_signals(service) if close_on_signal else (lambda: None)
        try:
            if connect_on_startup:
                await service.connect_all(connect_timeout)
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            undo()
            await service.aclose()

    return run

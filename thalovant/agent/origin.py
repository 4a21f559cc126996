"""Trying a LAN address for the hub's hostname first: ``OriginPreference``, ``preferred_origin``
and ``hub_hostname``.

A kiosk on the hub's own network should not hairpin through the public address. With
``AsyncHubSession.for_identity(identity, origin=OriginPreference("192.168.1.20"))`` every
dial of the session's link first resolves the hub's hostname to that address, within its own
short budget (``handshake_seconds``: carrier and handshake); when that fails (not a refusal)
it dials the public origin at once and leaves the LAN address alone for ``cooldown_seconds``.
Only name resolution changes: TLS still verifies the certificate for the hostname, and the
Noise pin is the same, so a LAN address can never stand in for another hub. The session's
dials go through :meth:`OriginPreference.connect_async`; :meth:`OriginPreference.connect` is the
official blocking form, for code that dials with a blocking ``build`` of its own.

:func:`preferred_origin` is the resolution override itself: a process-wide table consulted by
``socket.getaddrinfo`` (which asyncio, aiohttp, websockets and paho all resolve through) for
as long as the ``with`` block runs. Other code resolving the same hostname meanwhile gets the
same answer.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anyio

from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantRuntimeError,
)

__all__ = ["OriginPreference", "preferred_origin"]

logger = logging.getLogger("thalovant.origin")
T = TypeVar("T")

_LOCK = threading.Lock()
_OVERRIDES: dict[str, list[str]] = {}
_ORIGINAL = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode("idna", "replace")
    if isinstance(host, str):
        with _LOCK:
            stack = _OVERRIDES.get(host.lower().rstrip("."))
            address = stack[-1] if stack else None
        if address is not None:
            host = address
    return _ORIGINAL(host, *args, **kwargs)


@contextlib.contextmanager
def preferred_origin(host: str, address: str) -> Iterator[None]:
    """Resolve ``host`` to ``address`` while the block runs (process-wide; nests).

    Args:
        host: The hostname to override.
        address: The IP address (or another hostname) to resolve it to.

    Yields:
        Nothing.

    Raises:
        ThalovantRuntimeError: A blank host or address.
    """
    if not host or not address:
        raise ThalovantRuntimeError("preferred_origin needs a host and an address")
    key = host.lower().rstrip(".")
    with _LOCK:
        _OVERRIDES.setdefault(key, []).append(address)
        socket.getaddrinfo = _getaddrinfo
    try:
        yield
    finally:
        with _LOCK:
            stack = _OVERRIDES.get(key, [])
            if address in stack:
                stack.reverse()
                stack.remove(address)
                stack.reverse()
            if not stack:
                _OVERRIDES.pop(key, None)
            if not _OVERRIDES:
                socket.getaddrinfo = _ORIGINAL


class OriginPreference:
    """Dial the hub through a LAN address first (see the module docstring).

    Args:
        address: The hub's LAN address.
        handshake_seconds: The LAN attempt's whole budget (carrier and handshake).
        cooldown_seconds: How long a failed LAN address is left alone.
        clock: The clock of the cooldown.
    """

    def __init__(
        self,
        address: str,
        *,
        handshake_seconds: float = 1.5,
        cooldown_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(address, str) or not address.strip():
            raise ThalovantRuntimeError("OriginPreference needs an address")
        if handshake_seconds <= 0 or cooldown_seconds < 0:
            raise ThalovantRuntimeError("need handshake_seconds > 0 and cooldown_seconds >= 0")
        self.address = address.strip()
        self.handshake_seconds = handshake_seconds
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._failed_at: float | None = None
        self.lan_dials = 0
        """Dials that went through the LAN address."""
        self._closed = False

    def __repr__(self) -> str:
        return f"<OriginPreference {self.address} cooling_down={self.cooling_down}>"

    @property
    def cooling_down(self) -> bool:
        """True while a failed LAN address is left alone."""
        failed = self._failed_at
        return failed is not None and self._clock() - failed < self.cooldown_seconds

    def close(self) -> None:
        """Stop preferring the LAN address."""
        self._closed = True

    def _lan_usable(self) -> bool:
        return not self._closed and not self.cooling_down

    def _lan_failed(self, exc: BaseException) -> None:
        self._failed_at = self._clock()
        logger.info(
            "the LAN origin %s failed (%s); using the public one for %g s",
            self.address,
            type(exc).__name__,
            self.cooldown_seconds,
        )

    def connect(
        self,
        build: Callable[[float | None], T],
        *,
        host: str,
        connect_timeout: float | None = None,
        handshake_seconds: float | None = None,
    ) -> T:
        """Run the blocking ``build`` through the LAN address first, then through the public
        origin (the official, synchronous form; :meth:`connect_async` is the async one).

        Args:
            build: Dials once, given the attempt's budget in seconds, which it must keep:
                ``handshake_seconds`` for the LAN attempt, ``connect_timeout`` for the public
                one. It must not return an awaitable.
            host: The hub's hostname.
            connect_timeout: The public attempt's budget (None: ``build``'s own timeouts).
            handshake_seconds: The LAN attempt's budget (default the preference's).

        Returns:
            What ``build`` returned.

        Raises:
            ThalovantHubRefusedError: The hub refused the credentials (never retried here).
            ThalovantConnectionError: The public attempt failed too.
            ThalovantRuntimeError: ``build`` returned an awaitable (use :meth:`connect_async`).
        """
        if self._lan_usable():
            budget = handshake_seconds or self.handshake_seconds
            try:
                with preferred_origin(host, self.address):
                    result = _plain(build(budget))
                self.lan_dials += 1
                return result
            except (ThalovantHubRefusedError, ThalovantHubKeyChangedError):
                raise
            except (ThalovantConnectionError, TimeoutError, OSError) as exc:
                self._lan_failed(exc)
        return _plain(build(connect_timeout))

    async def connect_async(
        self,
        build: Callable[[float | None], Awaitable[T] | T],
        *,
        host: str,
        connect_timeout: float | None = None,
        handshake_seconds: float | None = None,
    ) -> T:
        """Run ``build`` (plain or async) through the LAN address first, then through the
        public origin; the LAN attempt is also cancelled when its budget is over.

        Args:
            build: Dials once, given the attempt's budget (as in :meth:`connect`).
            host: The hub's hostname.
            connect_timeout: The public attempt's budget (None: ``build``'s own timeouts).
            handshake_seconds: The LAN attempt's budget (default the preference's).

        Returns:
            What ``build`` returned.

        Raises:
            ThalovantHubRefusedError: The hub refused the credentials (never retried here).
            ThalovantConnectionError: The public attempt failed too.
        """
        if self._lan_usable():
            budget = handshake_seconds or self.handshake_seconds
            try:
                with preferred_origin(host, self.address), anyio.fail_after(budget):
                    result = build(budget)
                    if inspect.isawaitable(result):
                        result = await result
                self.lan_dials += 1
                return result
            except (ThalovantHubRefusedError, ThalovantHubKeyChangedError):
                raise
            except (ThalovantConnectionError, TimeoutError, OSError) as exc:
                self._lan_failed(exc)
        result = build(connect_timeout)
        if inspect.isawaitable(result):
            result = await result
        return result


def _plain(result: T) -> T:
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if callable(close):
            close()  # a coroutine never awaited: no "never awaited" warning
        raise ThalovantRuntimeError(
            "OriginPreference.connect needs a blocking build; await connect_async for an async one"
        )
    return result

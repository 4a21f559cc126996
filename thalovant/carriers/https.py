"""HTTPS polling carrier on aiohttp (the HiveMind HTTP plugin's endpoints).

The hub keeps a mailbox per client; the carrier POSTs frames to ``/send_message`` and polls
``/get_messages`` (cleartext handshake frames) or, once this side has sent its first Noise
message, ``/get_binary_messages``. Every request carries the ``authorization=`` token.

Unlike a fixed 10 Hz double poll, polling is adaptive (:class:`PollSchedule`): a poll goes
out at once after every send, stays fast while traffic flows, and backs off to
``idle_interval`` when the link is quiet. Sends never wait behind a poll: they use their own
request, and only sends are serialised among themselves (the link's writer does that).
"""

from __future__ import annotations

import base64
import binascii
import collections
import ssl
from typing import Any

import aiohttp
import anyio

from thalovant._redact import redact_url
from thalovant.errors import ThalovantConnectionError, ThalovantHubRefusedError

from .base import CarrierClosed, authorization_token

__all__ = ["REPLICA_COOKIE", "HTTPSCarrier", "PollSchedule", "ReplicaAffinity", "open_https"]

#: Cookie a replicated hub sets so later requests reach the same replica.
REPLICA_COOKIE = "hivemind_http_replica"


class ReplicaAffinity:
    """Holds the replica cookie across reconnects of one client (kept by the client)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: str | None = None


class PollSchedule:
    """When to poll next: at once after activity, fast while hot, backing off when idle."""

    def __init__(
        self,
        *,
        fast_interval: float = 0.02,
        idle_interval: float = 1.0,
        hot_seconds: float = 3.0,
    ) -> None:
        if not 0 < fast_interval <= idle_interval:
            raise ValueError("need 0 < fast_interval <= idle_interval")
        self.fast_interval = fast_interval
        self.idle_interval = idle_interval
        self.hot_seconds = hot_seconds
        self._last_activity = -float("inf")
        self._interval = fast_interval
        self._due_now = True

    def activity(self, now: float) -> None:
        """Something was sent or received: poll at once and stay fast."""
        self._last_activity = now
        self._interval = self.fast_interval
        self._due_now = True

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next poll (0 = poll now)."""
        if self._due_now:
            self._due_now = False
            return 0.0
        if now - self._last_activity < self.hot_seconds:
            return self.fast_interval
        delay = self._interval
        self._interval = min(self._interval * 2, self.idle_interval)
        return delay


class HTTPSCarrier:
    """One HTTP admission at a hub, moving frames by polling."""

    name = "https"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        *,
        token: str,
        user_agent: str,
        ssl_context: ssl.SSLContext | None,
        request_timeout: float,
        affinity: ReplicaAffinity,
        schedule: PollSchedule,
        owns_session: bool,
    ) -> None:
        self._session = session
        self._base = base.rstrip("/")
        self._shown = redact_url(base)
        self._params = {"authorization": token}
        self._headers = {"User-Agent": user_agent}
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._affinity = affinity
        self._schedule = schedule
        self._owns_session = owns_session
        self._inbox: collections.deque[str | bytes] = collections.deque()
        self._kick = anyio.Event()
        self._binary = False
        self._closed: CarrierClosed | None = None

    # -- requests -------------------------------------------------------------------------

    async def _request(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        if self._closed is not None:
            raise self._closed
        headers = dict(self._headers)
        if self._affinity.value:
            headers["Cookie"] = f"{REPLICA_COOKIE}={self._affinity.value}"
        try:
            async with self._session.request(
                method,
                self._base + path,
                params=self._params,
                data=form,
                headers=headers,
                ssl=self._ssl,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                cookie = response.cookies.get(REPLICA_COOKIE)
                if cookie is not None and cookie.value:
                    self._affinity.value = cookie.value
                if response.status in (401, 403):
                    raise ThalovantHubRefusedError(
                        f"hub refused the credentials at {self._shown} (HTTP {response.status})"
                    )
                if not 200 <= response.status < 300:
                    raise ThalovantConnectionError(
                        f"hub answered {method} {path} with HTTP {response.status}"
                    )
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ThalovantConnectionError(
                f"HTTP {method} {path} to {self._shown} failed: {type(exc).__name__}"
            ) from None
        if not isinstance(body, dict):
            raise ThalovantConnectionError(f"hub answered {path} with a non-object body")
        return body

    async def connect(self) -> None:
        """``POST /connect``: ask the hub for an admission."""
        try:
            body = await self._request("POST", "/connect")
        except ThalovantHubRefusedError as exc:
            raise CarrierClosed(str(exc), refused=True) from None
        status = body.get("status")
        if body.get("error") or status not in (None, "Connected"):
            raise ThalovantConnectionError(f"hub did not admit the connection ({status!r})")

    # -- the carrier interface ------------------------------------------------------------

    async def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            self._binary = True
            form = {"message": base64.b64encode(frame).decode("ascii"), "binary": "1"}
        else:
            form = {"message": frame}
        body = await self._guard(self._request("POST", "/send_message", form))
        if body.get("error"):
            raise ThalovantConnectionError(f"hub refused a message: {str(body['error'])[:100]}")
        self._schedule.activity(anyio.current_time())
        self._kick.set()

    async def receive(self) -> str | bytes:
        while not self._inbox:
            delay = self._schedule.next_delay(anyio.current_time())
            if delay > 0:
                with anyio.move_on_after(delay):
                    await self._kick.wait()
            self._kick = anyio.Event()
            frames = await self._guard(self._poll())
            if frames:
                self._schedule.activity(anyio.current_time())
                self._inbox.extend(frames)
        return self._inbox.popleft()

    async def _poll(self) -> list[str | bytes]:
        if self._binary:
            body = await self._request("GET", "/get_binary_messages")
            items = body.get("b64_messages") or []
            try:
                return [base64.b64decode(item, validate=True) for item in _strings(items)]
            except (binascii.Error, ValueError):
                raise ThalovantConnectionError("hub sent a malformed binary message") from None
        body = await self._request("GET", "/get_messages")
        return list(_strings(body.get("messages") or []))

    async def _guard(self, call: Any) -> Any:
        try:
            return await call
        except ThalovantHubRefusedError as exc:
            self._closed = CarrierClosed(str(exc), refused=True)
            raise self._closed from None
        except CarrierClosed:
            raise
        except ThalovantConnectionError as exc:
            self._closed = CarrierClosed(str(exc))
            raise self._closed from None

    async def aclose(self) -> None:
        if self._closed is None:
            try:
                with anyio.move_on_after(2.0):
                    await self._request("POST", "/disconnect")
            except ThalovantConnectionError:
                pass
            self._closed = CarrierClosed("carrier closed")
        if self._owns_session:
            await self._session.close()


def _strings(items: object) -> list[str]:
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ThalovantConnectionError("hub sent a malformed message list")
    return items


async def open_https(
    base: str,
    *,
    access_key: str,
    user_agent: str,
    ssl_context: ssl.SSLContext | None,
    request_timeout: float,
    affinity: ReplicaAffinity | None = None,
    schedule: PollSchedule | None = None,
    session: aiohttp.ClientSession | None = None,
) -> HTTPSCarrier:
    """Admit a connection at the hub's HTTPS base URL and return the carrier."""
    if not base.startswith("https://") and not _is_loopback_http(base):
        raise ThalovantConnectionError(
            f"the HTTPS carrier needs an https:// base URL, got {redact_url(base)}"
        )
    owns = session is None
    if session is None:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    carrier = HTTPSCarrier(
        session,
        base,
        token=authorization_token(user_agent, access_key),
        user_agent=user_agent,
        ssl_context=ssl_context,
        request_timeout=request_timeout,
        affinity=affinity or ReplicaAffinity(),
        schedule=schedule or PollSchedule(),
        owns_session=owns,
    )
    try:
        await carrier.connect()
    except BaseException:
        if owns:
            await session.close()
        raise
    return carrier


def _is_loopback_http(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")

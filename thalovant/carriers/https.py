"""HTTPS polling carrier on aiohttp (the HiveMind HTTP plugin's endpoints, docs/protocol.md §5.1).

The hub keeps two mailboxes per connection. The carrier POSTs frames to ``/send_message``
(form ``message``; base64 plus ``binary=1`` for Noise messages) and a background poller GETs
``/get_messages`` (cleartext handshake frames) until this side sends its first Noise message,
then only ``/get_binary_messages``. Every request carries the ``authorization=`` token and,
once the hub has set it, the ``hivemind_http_replica`` cookie, which is kept across reconnects
(:class:`~thalovant.carriers.polling.ReplicaAffinity`). Redirects are never followed.

Better than a fixed 10 Hz double poll: sends never wait behind a poll (they are separate
requests on their own pooled connection), a poll goes out at once after each send, and the
rate adapts (:class:`~thalovant.carriers.polling.PollSchedule`). Polled frames land in an
inbox that :meth:`HTTPSCarrier.receive` drains, so cancelling ``receive()`` loses nothing.

Errors: HTTP 401/403 is a credential refusal (``CarrierClosed(refused=True, code=1008)``, or
:class:`ThalovantHubRefusedError` from ``/connect``). The hub ending the session itself shows
over HTTP only as "no such session" on the next request: HiveMind's HTTP plugin answers
``POST /send_message`` with HTTP 409 and a poll with ``{"error": "Client is not connected"}``
(HTTP 200), without a close code or reason (docs/interop.md). The carrier then closes with
:data:`SESSION_GONE_CODE` (1005, "closed without a status", as a WebSocket close without a
code), so the link applies the refusal window of docs/protocol.md §2.6: during the handshake or
right after it that is a refusal (a re-keyed client, a hub key that no longer matches a KK attempt),
later a drop. Any other non-2xx answer, a redirect, a body that is not a JSON object or
carries a truthy ``error``, a timeout or a network error closes the carrier (a drop, no code).
Texts never include the URL query.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import logging
import re
import ssl
import urllib.parse
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import anyio
import yarl

from thalovant.carriers.base import SESSION_GONE_CODE, CarrierClosed, authorization_token
from thalovant.carriers.polling import REPLICA_COOKIE, PollSchedule, PollSettings, ReplicaAffinity
from thalovant.carriers.tls import trim_tls_read_buffer
from thalovant.errors import ThalovantConnectionError, ThalovantHubRefusedError
from thalovant.redact import redact_url, scrub_text


class _TrimmedConnector(aiohttp.TCPConnector):
    """Pooled connections with the TLS read buffer trimmed to 32 KiB (asyncio keeps 256 KiB
    per connection; see :func:`~thalovant.carriers.tls.trim_tls_read_buffer`)."""

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        trim_tls_read_buffer(transport)
        return transport, protocol


__all__ = ["MAX_INBOX_FRAMES", "REFUSAL_CODE", "SESSION_GONE_CODE", "HTTPSCarrier", "open_https"]

logger = logging.getLogger("thalovant.carriers.https")

#: The poller stops fetching while this many frames wait to be received.
MAX_INBOX_FRAMES = 256
#: Close code a 401/403 stands in for (the link's refusal codes include it).
REFUSAL_CODE = 1008
#: HTTP status HiveMind's HTTP plugin gives a request whose session it no longer has.
_SESSION_GONE_STATUS = 409
_NOT_CONNECTED = re.compile(r"\bnot connected\b", re.IGNORECASE)
_DISCONNECT_SECONDS = 2.0
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:=/]{1,256}")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


_FORM = "application/x-www-form-urlencoded"


def _quote_base64(data: bytes) -> bytes:
    """Form-encode base64 text: only ``+``, ``/`` and ``=`` need escaping (C-speed replaces,
    where ``urlencode`` quotes character by character)."""
    return data.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")


class HTTPSCarrier:
    """One admission at a hub's HTTPS endpoint, moving frames by adaptive polling.

    Args:
        base: The hub's HTTPS base URL.
        token: The carrier-level ``authorization`` token.
        user_agent: Sent as ``User-Agent``.
        ssl_context: TLS settings for ``https://`` (None: the default context).
        settings: Poll back-off bounds and the request timeout.
        affinity: The replica cookie, kept across the reconnects of one client.
    """

    name = "https"
    cleartext_hello = False

    def __init__(
        self,
        base: str,
        *,
        token: str,
        user_agent: str,
        ssl_context: ssl.SSLContext | None,
        settings: PollSettings,
        affinity: ReplicaAffinity,
    ) -> None:
        self._base = base.rstrip("/")
        self._shown = redact_url(self._base)
        self._params = {"authorization": token}
        self._urls: dict[str, yarl.URL] = {}  # path -> URL with its query, quoted once
        self._user_agent = user_agent
        self._ssl: ssl.SSLContext | bool = (
            ssl_context if ssl_context is not None and base.startswith("https://") else True
        )
        self._timeout = aiohttp.ClientTimeout(total=settings.request_timeout)
        self._affinity = affinity
        self._schedule = PollSchedule(settings)
        # A private session: no cookie jar (the replica cookie is handled by hand), room for
        # a poll, a send and a disconnect at once. The proxy is looked up once, not per
        # request (aiohttp's trust_env costs ~1 ms a request and would also send netrc
        # credentials to the hub).
        self._proxy = env_proxy(base)
        self._session = aiohttp.ClientSession(
            connector=_TrimmedConnector(limit_per_host=4),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._inbox: collections.deque[str | bytes] = collections.deque()
        self._arrived = anyio.Event()
        self._drained = anyio.Event()
        self._kick = anyio.Event()
        self._binary = False
        self._failure: CarrierClosed | None = None
        self._poller: asyncio.Task[None] | None = None
        self._poll_done = anyio.Event()
        self._closer: asyncio.Task[None] | None = None
        self._closed = False
        self.requests = 0
        """HTTP requests made so far (for measurements)."""

    def __repr__(self) -> str:
        return f"<HTTPSCarrier {self._shown} closed={self._closed}>"

    # -- requests -------------------------------------------------------------------------

    def _url(self, path: str) -> yarl.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = yarl.URL(self._base + path).with_query(self._params)
        return url

    async def _request(self, method: str, path: str, form: bytes | None = None) -> dict[str, Any]:
        """One request; returns the JSON object, raises :class:`CarrierClosed` otherwise.

        ``form`` is an ``application/x-www-form-urlencoded`` body, already encoded."""
        headers = {"User-Agent": self._user_agent}
        if form is not None:
            headers["Content-Type"] = _FORM
        if self._affinity.value:
            headers["Cookie"] = f"{REPLICA_COOKIE}={self._affinity.value}"
        where = f"{method} {path} at {self._shown}"
        self.requests += 1
        try:
            async with self._session.request(
                method,
                self._url(path),
                data=form,
                headers=headers,
                ssl=self._ssl,
                timeout=self._timeout,
                allow_redirects=False,
                proxy=self._proxy,
            ) as response:
                self._take_cookie(response)
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise CarrierClosed(f"{where} failed: {type(exc).__name__}") from None
        if status in (401, 403):
            raise CarrierClosed(
                f"hub refused the credentials at {self._shown} (HTTP {status})",
                code=REFUSAL_CODE,
                refused=True,
            )
        if status == _SESSION_GONE_STATUS:
            raise _session_gone(f"{where} (HTTP {status}{_hub_says(body)})")
        if 300 <= status < 400:
            raise CarrierClosed(f"hub redirected {where} (HTTP {status}); redirects are refused")
        if not 200 <= status < 300:
            raise CarrierClosed(f"hub answered {where} with HTTP {status}{_hub_says(body)}")
        if not isinstance(body, dict):
            raise CarrierClosed(f"hub answered {where} with a body that is not a JSON object")
        return body

    def _take_cookie(self, response: aiohttp.ClientResponse) -> None:
        morsel = response.cookies.get(REPLICA_COOKIE)
        if morsel is not None and _COOKIE_VALUE.fullmatch(morsel.value):
            self._affinity.value = morsel.value

    async def connect(self) -> None:
        """``POST /connect``; a refusal raises :class:`ThalovantHubRefusedError`."""
        try:
            body = await self._request("POST", "/connect")
        except CarrierClosed as exc:
            if exc.refused:
                raise ThalovantHubRefusedError(str(exc)) from None
            raise ThalovantConnectionError(str(exc)) from None
        status = body.get("status")
        if body.get("error") or status not in (None, "Connected"):
            raise ThalovantConnectionError(
                f"hub did not admit the connection at {self._shown}{_hub_says(body)}"
            )
        self._poller = asyncio.get_running_loop().create_task(self._poll_loop())

    # -- the carrier interface ------------------------------------------------------------

    async def send(self, frame: str | bytes) -> None:
        """POST one frame; never waits for a poll.

        Args:
            frame: ``str`` for cleartext JSON, ``bytes`` for one Noise message (sent base64).

        Raises:
            CarrierClosed: The carrier is closed, or the hub did not take the frame.
        """
        self._raise_if_closed()
        if isinstance(frame, bytes):
            self._binary = True  # from now on the hub only has Noise messages for us
            form = b"message=" + _quote_base64(base64.b64encode(frame)) + b"&binary=1"
        else:
            form = urllib.parse.urlencode({"message": frame}).encode("ascii")
        # Poll alongside the POST too: a hub that holds empty polls answers on it at once.
        self._schedule.sent(anyio.current_time())
        self._kick.set()
        try:
            body = await self._request("POST", "/send_message", form)
            if body.get("error"):
                raise CarrierClosed(f"hub did not take a message{_hub_says(body)}")
        except CarrierClosed as exc:
            self._fail(exc)
            raise
        self._schedule.sent(anyio.current_time())
        self._kick.set()

    async def receive(self) -> str | bytes:
        """The next frame; cancelling it loses nothing (frames wait in the inbox).

        Returns:
            ``str`` for a cleartext frame, ``bytes`` for a Noise message.

        Raises:
            CarrierClosed: The carrier is closed (polling failed, or the session is gone).
        """
        while not self._inbox:
            self._raise_if_closed()
            self._arrived = anyio.Event()
            await self._arrived.wait()
        frame = self._inbox.popleft()
        if len(self._inbox) < MAX_INBOX_FRAMES:
            self._drained.set()
        return frame

    async def probe(self) -> None:
        """One round trip with the hub: wait for a poll to complete (asking for one now).

        Raises:
            CarrierClosed: The carrier is closed.
        """
        self._raise_if_closed()
        done = self._poll_done
        self._kick.set()
        await done.wait()  # also set when the carrier fails
        self._raise_if_closed()

    async def aclose(self) -> None:
        """Stop polling, ``POST /disconnect`` (bounded), close the session. Idempotent."""
        if self._closed:
            if self._closer is not None:  # aborted: let the session finish closing
                with anyio.CancelScope(shield=True):
                    await asyncio.wait({self._closer}, timeout=_DISCONNECT_SECONDS)
            return
        self._closed = True
        was_up = self._failure is None and self._poller is not None
        self._fail(CarrierClosed("carrier closed"))
        await self._stop_poller()
        if was_up:
            with anyio.move_on_after(min(_DISCONNECT_SECONDS, self._timeout.total or 2.0)):
                try:
                    await self._request("POST", "/disconnect")
                except CarrierClosed as exc:
                    logger.debug("disconnect was not acknowledged: %s", exc)
        await self._session.close()

    def abort(self) -> None:
        """Drop at once: pending ``receive()`` raises, the session closes in the background."""
        self._fail(CarrierClosed("carrier aborted"))
        if self._poller is not None:
            self._poller.cancel()
        if not self._closed:
            self._closed = True
            self._closer = asyncio.get_running_loop().create_task(self._session.close())

    # -- polling --------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        schedule = self._schedule
        try:
            while True:
                delay = schedule.next_delay(anyio.current_time())
                if delay > 0:
                    with anyio.move_on_after(delay):
                        await self._kick.wait()
                self._kick = anyio.Event()
                while len(self._inbox) >= MAX_INBOX_FRAMES:  # the reader is behind: wait
                    self._drained = anyio.Event()
                    await self._drained.wait()
                frames = await self._poll_once()
                schedule.polled(anyio.current_time(), len(frames))
                done, self._poll_done = self._poll_done, anyio.Event()
                done.set()
                if frames:
                    self._inbox.extend(frames)
                    self._arrived.set()
        except CarrierClosed as exc:
            self._fail(exc)
        except Exception as exc:  # a bug must still end the link, not hang it
            logger.exception("the HTTPS poller failed")
            self._fail(CarrierClosed(f"the HTTPS poller failed: {type(exc).__name__}"))

    async def _poll_once(self) -> list[str | bytes]:
        if not self._binary:
            body = _polled(await self._request("GET", "/get_messages"), "/get_messages")
            return list(_strings(body.get("messages")))
        body = _polled(await self._request("GET", "/get_binary_messages"), "/get_binary_messages")
        items = body.get("b64_messages", body.get("messages"))
        try:
            return [base64.b64decode(item, validate=True) for item in _strings(items)]
        except (binascii.Error, ValueError):
            raise CarrierClosed("hub sent a Noise message that is not base64") from None

    async def _stop_poller(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None and not poller.done():
            poller.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait({poller}, timeout=_DISCONNECT_SECONDS)

    def _fail(self, exc: CarrierClosed) -> None:
        if self._failure is None:
            self._failure = exc
        self._arrived.set()
        self._poll_done.set()
        self._drained.set()

    def _raise_if_closed(self) -> None:
        if self._failure is not None:
            failure = self._failure
            raise CarrierClosed(str(failure), code=failure.code, refused=failure.refused)


def _session_gone(where: str) -> CarrierClosed:
    return CarrierClosed(f"the hub no longer has this session: {where}", code=SESSION_GONE_CODE)


def _polled(body: dict[str, Any], path: str) -> dict[str, Any]:
    """``body`` of a 2xx poll, or :class:`CarrierClosed` when it carries a truthy ``error``
    (``not connected``: the hub ended the session, see :data:`SESSION_GONE_CODE`)."""
    error = body.get("error")
    if not error:
        return body
    if isinstance(error, str) and _NOT_CONNECTED.search(error):
        raise _session_gone(f"GET {path}{_hub_says(body)}")
    raise CarrierClosed(f"hub answered GET {path} with an error{_hub_says(body)}")


def _strings(items: object) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise CarrierClosed("hub sent a malformed message list")
    return items


def _hub_says(body: object) -> str:
    """``: <hub's error text> (code N)`` from an error body, scrubbed and bounded."""
    if not isinstance(body, dict):
        return ""
    text = body.get("error") or body.get("status")
    out = f": {scrub_text(str(text))[:100]}" if text else ""
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        out += f" (code {code})"
    return out


def env_proxy(url: str) -> str | None:
    """The proxy for ``url`` from the environment, like the WebSocket carrier's ``proxy=True``.

    Args:
        url: The hub URL.

    Returns:
        The proxy URL from ``HTTPS_PROXY``/``HTTP_PROXY`` (honouring ``NO_PROXY``), or None
        (always for loopback).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in _LOOPBACK or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(parts.scheme.lower())


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is plain HTTP to loopback (allowed without TLS).

    Args:
        url: A base URL.

    Returns:
        True for ``http://`` URLs to localhost, 127.0.0.1 or [::1].
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and parts.hostname in _LOOPBACK


async def open_https(
    base: str,
    *,
    access_key: str,
    user_agent: str,
    ssl_context: ssl.SSLContext | None,
    settings: PollSettings | None = None,
    affinity: ReplicaAffinity | None = None,
) -> HTTPSCarrier:
    """Admit a connection at the hub's HTTPS base URL (``POST /connect``) and start polling.

    Args:
        base: The hub's HTTPS base URL (``https://`` required except on loopback).
        access_key: The identity's access key (for the ``authorization`` token).
        user_agent: The client's user agent.
        ssl_context: TLS settings (None: the default context).
        settings: Poll back-off bounds and the request timeout.
        affinity: The replica cookie to keep across reconnects.

    Returns:
        The open carrier.

    Raises:
        ThalovantHubRefusedError: The hub answered 401/403.
        ThalovantConnectionError: A bad base URL, or the hub could not be reached or did not
            admit the connection.
    """
    try:
        parts = urlsplit(base)
        scheme_ok = parts.scheme.lower() == "https" and bool(parts.hostname)
    except ValueError:
        scheme_ok = False
    if not scheme_ok and not is_loopback_http(base):
        raise ThalovantConnectionError(
            f"the HTTPS carrier needs an https:// base URL (http:// only on loopback), "
            f"got {redact_url(base)}"
        )
    carrier = HTTPSCarrier(
        base,
        token=authorization_token(user_agent, access_key),
        user_agent=user_agent,
        ssl_context=ssl_context,
        settings=settings or PollSettings(),
        affinity=affinity if affinity is not None else ReplicaAffinity(),
    )
    try:
        await carrier.connect()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await carrier.aclose()
        raise
    return carrier

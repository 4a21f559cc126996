"""HTTPS polling carrier on aiohttp (the HiveMind HTTP plugin's endpoints, docs/protocol.md §5.1).

The hub keeps two mailboxes per connection. The carrier POSTs frames to ``/send_message``
(form ``message``; base64 plus ``binary=1`` for Noise messages) and a background poller GETs
``/get_messages`` (cleartext handshake frames) until this side sends its first Noise message,
then only ``/get_binary_messages``. Every request carries the ``authorization=`` token and,
once the hub has set it, the ``hivemind_http_replica`` cookie, which is kept across reconnects
(:class:`~thalovant.carriers.polling.ReplicaAffinity`). Redirects are never followed.

A hub that names a batch size in ``/connect``'s answer (:data:`BATCH_KEY`, the local hub)
takes several ``message`` fields in one POST: frames sent while a POST is in flight go out
together on the next one, in order (HiveMind-core names none: one message per POST).

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
from thalovant.carriers.https_parts import (
    FORM,
    TrimmedConnector,
    env_proxy,
    hub_says,
    is_loopback_http,
    polled,
    quote_base64,
    session_gone,
    strings,
)
from thalovant.carriers.polling import REPLICA_COOKIE, PollSchedule, PollSettings, ReplicaAffinity
from thalovant.errors import ThalovantConnectionError, ThalovantHubRefusedError
from thalovant.redact import redact_url

__all__ = [
    "BATCH_KEY",
    "MAX_INBOX_FRAMES",
    "MAX_OUTBOX_FRAMES",
    "REFUSAL_CODE",
    "SESSION_GONE_CODE",
    "HTTPSCarrier",
    "open_https",
]

logger = logging.getLogger("thalovant.carriers.https")

#: The poller stops fetching while this many frames wait to be received.
MAX_INBOX_FRAMES = 256
#: ``send()`` waits while this many frames wait to be posted (hubs that take batches).
MAX_OUTBOX_FRAMES = 256
#: Key of ``/connect``'s answer naming how many messages one POST may carry (the local hub).
BATCH_KEY = "thalovant_batch"
_MAX_BATCH = 64
_MAX_BATCH_BYTES = 128 * 1024  # of form text per POST (hubs take 256 KiB)
#: Close code a 401/403 stands in for (the link's refusal codes include it).
REFUSAL_CODE = 1008
#: HTTP status HiveMind's HTTP plugin gives a request whose session it no longer has.
_SESSION_GONE_STATUS = 409
_DISCONNECT_SECONDS = 2.0
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:=/]{1,256}")


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
        session: aiohttp.ClientSession | None = None,
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
        # A caller's session (``session=``) is used as it is and never closed here.
        self._owns_session = session is None
        self._session = session or aiohttp.ClientSession(
            connector=TrimmedConnector(limit_per_host=4),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._inbox: collections.deque[str | bytes] = collections.deque()
        self._arrived = anyio.Event()
        self._drained = anyio.Event()
        self._kick = anyio.Event()
        self._binary = False
        # Hubs that name a batch size in /connect's answer take several messages per POST:
        # then send() queues (in order) and one sender task posts what queued meanwhile.
        self._batch = 1
        self._outbox: collections.deque[tuple[bytes, bool]] = collections.deque()
        self._queued = anyio.Event()
        self._room = anyio.Event()
        self._posting = False
        self._progress = anyio.Event()
        self._sender: asyncio.Task[None] | None = None
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
            headers["Content-Type"] = FORM
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
            raise session_gone(f"{where} (HTTP {status}{hub_says(body)})")
        if 300 <= status < 400:
            raise CarrierClosed(f"hub redirected {where} (HTTP {status}); redirects are refused")
        if not 200 <= status < 300:
            raise CarrierClosed(f"hub answered {where} with HTTP {status}{hub_says(body)}")
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
                f"hub did not admit the connection at {self._shown}{hub_says(body)}"
            )
        batch = body.get(BATCH_KEY)
        if isinstance(batch, int) and not isinstance(batch, bool) and batch > 1:
            self._batch = min(batch, _MAX_BATCH)
        self._poller = asyncio.get_running_loop().create_task(self._poll_loop())

    # -- the carrier interface ------------------------------------------------------------

    async def send(self, frame: str | bytes) -> None:
        """POST one frame; never waits for a poll.

        To a hub that takes batches (the local hub names one in ``/connect``'s answer) the
        frame is queued in order and this returns (waiting only while
        :data:`MAX_OUTBOX_FRAMES` are queued); a sender task posts the frames queued meanwhile
        in one request, and a failed POST closes the carrier. Otherwise it returns once the
        hub took the frame.

        Args:
            frame: ``str`` for cleartext JSON, ``bytes`` for one Noise message (sent base64).

        Raises:
            CarrierClosed: The carrier is closed, or the hub did not take the frame.
        """
        self._raise_if_closed()
        if isinstance(frame, bytes):
            self._binary = True  # from now on the hub only has Noise messages for us
            part = b"message=" + quote_base64(base64.b64encode(frame))
        else:
            part = urllib.parse.urlencode({"message": frame}).encode("ascii")
        binary = isinstance(frame, bytes)
        if self._batch > 1:
            await self._queue(part, binary)
            return
        try:
            await self._post([part], binary)
        except CarrierClosed as exc:
            self._fail(exc)
            raise

    async def _post(self, parts: list[bytes], binary: bool) -> None:
        form = b"&".join(parts) + (b"&binary=1" if binary else b"")
        # Poll alongside the POST too: a hub that holds empty polls answers on it at once.
        self._schedule.sent(anyio.current_time())
        self._kick.set()
        body = await self._request("POST", "/send_message", form)
        if body.get("error"):
            raise CarrierClosed(f"hub did not take a message{hub_says(body)}")
        self._schedule.sent(anyio.current_time())
        self._kick.set()

    async def _queue(self, part: bytes, binary: bool) -> None:
        """Queue a frame for the sender task (like a WebSocket send: the frame is on its way
        once this returns; a failed POST closes the carrier, which ``receive()`` reports)."""
        while len(self._outbox) >= MAX_OUTBOX_FRAMES:
            self._room = anyio.Event()
            await self._room.wait()
            self._raise_if_closed()
        self._outbox.append((part, binary))
        self._queued.set()
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_loop())

    async def _send_loop(self) -> None:
        outbox = self._outbox
        try:
            while True:
                while not outbox or self._failure is not None:
                    if self._failure is not None:
                        return  # nothing more reaches a closed carrier's hub
                    self._queued = anyio.Event()
                    await self._queued.wait()
                part, binary = outbox.popleft()
                parts, size = [part], len(part)
                while outbox and len(parts) < self._batch and outbox[0][1] == binary:
                    size += len(outbox[0][0])
                    if size > _MAX_BATCH_BYTES:
                        break
                    parts.append(outbox.popleft()[0])
                self._room.set()
                self._posting = True
                await self._post(parts, binary)
                self._posting = False
                self._progress.set()  # wakes aclose() waiting for the outbox to drain
        except CarrierClosed as exc:
            self._fail(exc)
        except Exception as exc:  # a bug must still end the link, not hang it
            logger.exception("the HTTPS sender failed")
            self._fail(CarrierClosed(f"the HTTPS sender failed: {type(exc).__name__}"))

    async def _flush(self) -> None:
        """Wait (bounded) until every queued frame was posted."""
        with anyio.move_on_after(_DISCONNECT_SECONDS):
            while (self._outbox or self._posting) and self._failure is None:
                self._progress = anyio.Event()
                await self._progress.wait()

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
        was_up = self._failure is None and self._poller is not None
        if was_up and self._sender is not None:
            await self._flush()  # what was sent reaches the hub before the goodbye
        self._closed = True
        self._fail(CarrierClosed("carrier closed"))
        await self._stop_poller()
        if was_up:
            with anyio.move_on_after(min(_DISCONNECT_SECONDS, self._timeout.total or 2.0)):
                try:
                    await self._request("POST", "/disconnect")
                except CarrierClosed as exc:
                    logger.debug("disconnect was not acknowledged: %s", exc)
        if self._owns_session:
            await self._session.close()

    def abort(self) -> None:
        """Drop at once: pending ``receive()`` raises, the session closes in the background."""
        self._fail(CarrierClosed("carrier aborted"))
        if self._poller is not None:
            self._poller.cancel()
        if self._sender is not None:
            self._sender.cancel()
        if not self._closed:
            self._closed = True
            if self._owns_session:
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
            body = polled(await self._request("GET", "/get_messages"), "/get_messages")
            return list(strings(body.get("messages")))
        body = polled(await self._request("GET", "/get_binary_messages"), "/get_binary_messages")
        items = body.get("b64_messages", body.get("messages"))
        try:
            return [base64.b64decode(item, validate=True) for item in strings(items)]
        except (binascii.Error, ValueError):
            raise CarrierClosed("hub sent a Noise message that is not base64") from None

    async def _stop_poller(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None and not sender.done():
            sender.cancel()
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
        self._room.set()
        self._queued.set()
        self._progress.set()

    def _raise_if_closed(self) -> None:
        if self._failure is not None:
            failure = self._failure
            raise CarrierClosed(str(failure), code=failure.code, refused=failure.refused)


async def open_https(
    base: str,
    *,
    access_key: str,
    user_agent: str,
    ssl_context: ssl.SSLContext | None,
    settings: PollSettings | None = None,
    affinity: ReplicaAffinity | None = None,
    session: aiohttp.ClientSession | None = None,
) -> HTTPSCarrier:
    """Admit a connection at the hub's HTTPS base URL (``POST /connect``) and start polling.

    Args:
        base: The hub's HTTPS base URL (``https://`` required except on loopback).
        access_key: The identity's access key (for the ``authorization`` token).
        user_agent: The client's user agent.
        ssl_context: TLS settings (None: the default context).
        settings: Poll back-off bounds and the request timeout.
        affinity: The replica cookie to keep across reconnects.
        session: A caller's aiohttp session to make the requests with (never closed here).

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
        session=session,
    )
    try:
        await carrier.connect()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await carrier.aclose()
        raise
    return carrier

"""HTTP plumbing of the control-plane client: URL rules, headers, one request, one answer.

:class:`ControlHTTP` owns the session, the token and the transport rules of docs/protocol.md §7:
``accept``/``user-agent``/``content-type``/``authorization: Bearer`` headers; no redirects
(3xx is an error); credentials only over ``https://`` or loopback ``http://``; no URL
userinfo; 2xx answers must be a JSON object (an empty body is ``{}``); every other answer is
mapped by :func:`thalovant.control.problems.api_error`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import aiohttp
import anyio
import msgspec
import stamina

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.control.problems import MISSING_TOKEN, api_error, unreachable_error
from thalovant.control.values import text_or_none
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantRuntimeError,
)
from thalovant.redact import redact_url

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_CONTROL_API_URL",
    "ControlHTTP",
    "SleepFunction",
    "path_segment",
    "query_params",
]

logger = logging.getLogger("thalovant.control")

#: The hosted control plane; other URLs are for local or self-hosted control planes.
DEFAULT_CONTROL_API_URL = "https://api.thalovant.com"

#: An ``anyio.sleep``-like coroutine function.
SleepFunction = Callable[[float], Awaitable[Any]]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_BODY = 16 * 1024 * 1024
_NO_ANSWER = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    asyncio.TimeoutError,
    TimeoutError,
)
_Self = TypeVar("_Self", bound="ControlHTTP")


class SendOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`ControlHTTP._send`, typed for :meth:`ControlHTTP._call`."""

    auth: bool
    credential: bool | None
    params: Mapping[str, str] | None
    body: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    device: bool
    device_interval: float | None
    connection_type: str | None
    secrets: Sequence[str | None]


def path_segment(value: object, what: str) -> str:
    """``value`` percent-encoded as one URL path segment, so an id can never escape its path.

    Args:
        value: The id (``/``, ``?`` and ``#`` are encoded too).
        what: What the id is, for the error message.

    Returns:
        The encoded segment.

    Raises:
        ThalovantAPIError: ``value`` is empty, ``.`` or ``..``.
    """
    text = text_or_none(value)
    if not text or text in (".", ".."):
        raise ThalovantAPIError(f"Thalovant API request could not be formed: {what} is empty")
    return quote(text, safe="")


def query_params(**params: object) -> dict[str, str]:
    """Query parameters without ``None``, blank or ``False`` values; ``True`` → ``"true"``."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value is False or (isinstance(value, str) and not value.strip()):
            continue
        out[key] = "true" if value is True else str(value)
    return out


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _normalize_base(api_url: str) -> str:
    text = str(api_url).strip()
    invalid = ThalovantAPIError(
        f"Invalid Thalovant API URL {redact_url(text)!r}: expected http(s)://host[/path]"
    )
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        raise invalid from None
    if "@" in parts.netloc:
        raise ThalovantAPIError(
            "Thalovant API URLs must not embed credentials (user:password@); "
            "pass access_token= instead"
        )
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise invalid
    if parts.query or parts.fragment:
        raise ThalovantAPIError("Thalovant API URLs must not carry a query or fragment")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[:-3].rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


class ControlHTTP:
    """Session, token and request plumbing shared by the control-plane client."""

    def __init__(
        self,
        api_url: str = DEFAULT_CONTROL_API_URL,
        *,
        access_token: str | None = None,
        timeout: float = 10.0,
        user_agent: str = DEFAULT_USER_AGENT,
        session: aiohttp.ClientSession | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sleep: SleepFunction | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._base = _normalize_base(api_url)
        self._origin = _origin(self._base)
        self._access_token = text_or_none(access_token)
        self._token_id: str | None = None
        self._timeout = float(timeout)
        self._user_agent = user_agent
        self._session = session
        self._owns_session = session is None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._ssl_context = ssl_context
        self._sleep: SleepFunction = sleep or anyio.sleep
        self._clock = clock or time.monotonic

    # ------------------------------------------------------------------ lifecycle, state

    @property
    def api_url(self) -> str:
        """The normalised API base URL (without ``/v1``)."""
        return self._base

    @property
    def access_token(self) -> str | None:
        """The bearer token used for private calls (set by the sign-in methods)."""
        return self._access_token

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        self._access_token = text_or_none(value)
        self._token_id = None

    @property
    def token_id(self) -> str | None:
        """The id of the token issued by the last sign-in, when the API named it."""
        return self._token_id

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session if this client opened it; a caller's session stays open.

        The client stays usable: a later call opens a fresh session.
        """
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_url={self._base!r}, "
            f"authenticated={self._access_token is not None})"
        )

    # -------------------------------------------------------------------------- transport

    def _http_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None:
            # trust_env: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and ~/.netrc) are honoured.
            self._session = aiohttp.ClientSession(trust_env=True)
            self._session_loop = loop
        elif self._owns_session and self._session_loop is not loop:
            # An aiohttp session is bound to its loop; using it elsewhere fails obscurely
            # ("Event loop is closed") or hangs.
            raise ThalovantRuntimeError(
                f"This {type(self).__name__} opened its HTTP session in another event loop; "
                "use one client per event loop, or aclose() it in its own loop first"
            )
        return self._session

    async def _call(
        self, method: str, target: str, *, retry: bool = False, **kw: Unpack[SendOptions]
    ) -> dict[str, Any]:
        """:meth:`_send`, retried on 429, 5xx and no answer when ``retry`` (idempotent calls).

        Retries use :mod:`stamina` (exponential backoff with jitter, at most
        :attr:`retry_attempts` tries within :attr:`retry_timeout` seconds); a 429 waits what
        its ``Retry-After`` says, and one asking for longer than :attr:`retry_wait_max` is not
        retried.
        """
        if not retry:
            return await self._send(method, target, **kw)
        async for attempt in stamina.retry_context(
            on=self._retry_hook,
            attempts=self.retry_attempts,
            timeout=self.retry_timeout,
            wait_initial=0.05,
            wait_max=self.retry_wait_max,
            wait_jitter=0.05,
            name=f"thalovant.control {method}",
        ):
            with attempt:
                return await self._send(method, target, **kw)
        raise AssertionError("unreachable: stamina raises once attempts run out")

    #: Tries of an idempotent call (the first one included).
    retry_attempts = 4
    #: Seconds all tries of one idempotent call may take.
    retry_timeout = 30.0
    #: Longest wait between two tries (also the longest ``Retry-After`` honoured).
    retry_wait_max = 5.0

    def _retry_hook(self, exc: BaseException) -> bool | float:
        if isinstance(exc, ThalovantAPIUnreachableError):
            return True
        if not isinstance(exc, ThalovantAPIError) or exc.status_code is None:
            return False
        if exc.status_code == 429:
            wait = exc.retry_after_seconds
            if wait is None:
                return True
            return float(wait) if wait <= self.retry_wait_max else False
        return exc.status_code >= 500

    async def _send(
        self,
        method: str,
        target: str,
        *,
        auth: bool = True,
        credential: bool | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        device: bool = False,
        device_interval: float | None = None,
        connection_type: str | None = None,
        secrets: Sequence[str | None] = (),
    ) -> dict[str, Any]:
        """One request; returns the JSON object of a 2xx answer or raises the mapped error."""
        url = target if "://" in target else self._base + target
        send: dict[str, str] = {"accept": "application/json", "user-agent": self._user_agent}
        if auth:
            if not self._access_token:
                raise ThalovantAuthError(
                    f"{MISSING_TOKEN}: sign in with login() or login_with_browser(), "
                    "or pass access_token="
                )
            send["authorization"] = f"Bearer {self._access_token}"
        parts = urlsplit(url)
        if "@" in parts.netloc:
            raise ThalovantAPIError("Thalovant API URLs must not embed credentials")
        host = (parts.hostname or "").lower()
        plain_ok = parts.scheme.lower() == "http" and host in _LOOPBACK
        carries = auth if credential is None else credential
        if carries and parts.scheme.lower() != "https" and not plain_ok:
            raise ThalovantAPIError(
                f"Refusing to send credentials to {redact_url(url)} without TLS: use "
                "https:// (plain http:// is allowed only for localhost, 127.0.0.1, ::1)"
            )
        data = None
        if body is not None:
            try:
                data = msgspec.json.encode(body)
            except (TypeError, ValueError, msgspec.EncodeError) as exc:
                raise ThalovantAPIError(
                    f"Thalovant API request could not be formed: {type(exc).__name__}"
                ) from None
            send["content-type"] = "application/json"
        send.update(headers or {})
        known = [s for s in (self._access_token, *secrets) if s]
        extra: dict[str, Any] = {} if self._ssl_context is None else {"ssl": self._ssl_context}
        try:
            async with self._http_session().request(
                method,
                url,
                params=params or None,
                data=data,
                headers=send,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                **extra,
            ) as response:
                status, answer_headers = response.status, response.headers
                raw = await _read_body(response)
        except ThalovantAPIError:
            raise
        except _NO_ANSWER as exc:
            raise unreachable_error(url, exc) from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise ThalovantAPIError(
                f"Thalovant API request could not be sent ({type(exc).__name__})"
            ) from None
        logger.debug("%s %s -> HTTP %s", method, redact_url(url), status)
        try:
            decoded = msgspec.json.decode(raw) if raw.strip() else {}
        except msgspec.DecodeError:
            decoded = None
        if 200 <= status < 300:
            if decoded is None:
                raise ThalovantAPIError(
                    f"Thalovant API answered HTTP {status} with a body that is not JSON",
                    status_code=status,
                )
            if not isinstance(decoded, dict):
                raise ThalovantAPIError(
                    f"Thalovant API answered HTTP {status} with JSON that is not an object",
                    status_code=status,
                )
            return decoded
        raise api_error(
            status,
            decoded if isinstance(decoded, dict) and decoded else None,
            answer_headers,
            device=device,
            device_interval=device_interval,
            connection_type=connection_type,
            secrets=known,
        )

    def _operation_url(self, op_id: str | None, link: str | None) -> str | None:
        """``links.self`` when it is on the API's own origin, else ``/v1/operations/{id}``."""
        if link:
            absolute = urljoin(self._base + "/", link)
            parts = urlsplit(absolute)
            if "@" not in parts.netloc and _origin(absolute) == self._origin:
                return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
            logger.warning("Not following operation link on another origin: %s", redact_url(link))
        if op_id:
            return f"{self._base}/v1/operations/{path_segment(op_id, 'operation id')}"
        return None


async def _read_body(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > _MAX_BODY:
            raise ThalovantAPIError(
                f"Thalovant API answer exceeds {_MAX_BODY // (1024 * 1024)} MiB",
                status_code=response.status,
            )
        chunks.append(chunk)
    return b"".join(chunks)

"""The blocking control-plane client: :class:`ThalovantControlPlane`.

It wraps :class:`~thalovant.control.client.AsyncThalovantControlPlane` one-to-one (same methods,
parameters and defaults; a test keeps them identical) on a private event-loop thread
(``thalovant-control-plane``), the machinery of the sync client
(:class:`~thalovant.sync.portal.LoopThread`)::

    with ThalovantControlPlane() as api:
        hubs = api.list_public_hubs(limit=12)["data"]
        api.login(email, password)
        result = api.create_client_identity(hubs[0]["id"], name="kiosk")

The ``iter_*`` methods return plain iterators (one loop hop per page item). ``close()`` (or
leaving ``with``) closes the HTTP session and stops the thread; the object cannot be used
afterwards. A dropped object is closed by the garbage collector or at interpreter exit.
There is no ``session=`` argument: an aiohttp session belongs to the event loop that made it,
and this loop is private. ``prompt`` callbacks of :meth:`login_with_browser` and the ``sleep``
function run on that loop and must not call this object.
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import anyio

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.http import DEFAULT_CONTROL_API_URL, SleepFunction
from thalovant.control.models import (
    BootstrapIdentityResult,
    DeviceAuthorization,
    DeviceLoginToken,
    OperationResource,
)
from thalovant.identity.model import DEFAULT_PROTOCOL_PREFERENCE
from thalovant.sync.bridges import SyncIterator
from thalovant.sync.portal import LoopThread

__all__ = ["ThalovantControlPlane"]

#: Name of the control plane's event-loop thread.
CONTROL_THREAD_NAME = "thalovant-control-plane"

Page = dict[str, Any]


class ThalovantControlPlane:
    """Blocking client of the Thalovant control plane: the async client on a private
    event-loop thread (see the module docstring). Same arguments except ``session``."""

    def __init__(
        self,
        api_url: str = DEFAULT_CONTROL_API_URL,
        *,
        access_token: str | None = None,
        timeout: float = 10.0,
        user_agent: str = DEFAULT_USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
        sleep: SleepFunction | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._async = AsyncThalovantControlPlane(
            api_url,
            access_token=access_token,
            timeout=timeout,
            user_agent=user_agent,
            ssl_context=ssl_context,
            sleep=sleep,
            clock=clock,
        )
        closer = _Closer(self._async)
        self._loop = LoopThread(
            type(self).__name__,
            closer,
            name=CONTROL_THREAD_NAME,
            async_name="AsyncThalovantControlPlane",
        )
        self._finalizer = weakref.finalize(self, self._loop.shutdown)
        self._finalizer.atexit = False  # the atexit hook of thalovant.sync.process covers exit

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncThalovantControlPlane", type(self).__name__, 1)

    # -- state ----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The normalised API base URL (without ``/v1``)."""
        return self._async.api_url

    @property
    def access_token(self) -> str | None:
        """The bearer token used for private calls (set by the sign-in methods)."""
        return self._async.access_token

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        self._async.access_token = value

    @property
    def token_id(self) -> str | None:
        """The id of the token issued by the last sign-in, when the API named it."""
        return self._async.token_id

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session and stop the thread; the object is unusable afterwards."""
        self._loop.finish(self._async.aclose)

    def __enter__(self) -> ThalovantControlPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.finish(self._async.__aexit__, exc_type, exc, tb)

    # -- discovery ------------------------------------------------------------------------

    def list_public_hubs(self, limit: int = 24, cursor: str | None = None) -> Page:
        """``GET /v1/public/hubs`` without a token."""
        return self._loop.call(self._async.list_public_hubs, limit, cursor)

    def get_public_hub(self, ref: str | Mapping[str, Any]) -> dict[str, Any]:
        """``GET /v1/public/hubs/{ref}`` (slug, id, hub URL or hub card)."""
        return self._loop.call(self._async.get_public_hub, ref)

    def list_hubs(
        self, limit: int = 100, cursor: str | None = None, owner_id: str | None = None
    ) -> Page:
        """``GET /v1/hubs``: the signed-in workspace's hubs."""
        return self._loop.call(self._async.list_hubs, limit, cursor, owner_id)

    def get_hub(self, hub_id: str) -> dict[str, Any]:
        """``GET /v1/hubs/{id}``."""
        return self._loop.call(self._async.get_hub, hub_id)

    def list_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        owner_id: str | None = None,
        include_spec: bool | None = None,
    ) -> Page:
        """``GET /v1/clients``, optionally filtered by hub or owner."""
        return self._loop.call(
            self._async.list_clients, hub_id, limit, cursor, owner_id, include_spec
        )

    def get_client(self, client_id: str) -> dict[str, Any]:
        """``GET /v1/clients/{id}``."""
        return self._loop.call(self._async.get_client, client_id)

    def iter_public_hubs(self, limit: int = 24) -> Iterator[dict[str, Any]]:
        """Every public hub, page by page (a plain iterator)."""
        return SyncIterator(self._loop, self._async.iter_public_hubs(limit))

    def iter_hubs(self, limit: int = 100, owner_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every hub of the workspace, page by page (a plain iterator)."""
        return SyncIterator(self._loop, self._async.iter_hubs(limit, owner_id))

    def iter_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        owner_id: str | None = None,
        include_spec: bool | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every client (optionally of one hub), page by page (a plain iterator)."""
        return SyncIterator(
            self._loop, self._async.iter_clients(hub_id, limit, owner_id, include_spec)
        )

    # -- sign-in --------------------------------------------------------------------------

    def login(
        self,
        email: str,
        password: str,
        scope: str | Sequence[str] | None = None,
        otp_code: str | None = None,
        recovery_code: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/auth/token``; stores the returned token."""
        return self._loop.call(self._async.login, email, password, scope, otp_code, recovery_code)

    def begin_device_login(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        client_id: str | None = None,
    ) -> DeviceAuthorization:
        """``POST /v1/auth/device/authorize``: start a browser sign-in."""
        return self._loop.call(self._async.begin_device_login, scopes, client_name, client_id)

    def poll_device_login(
        self, device_code: str | DeviceAuthorization, *, interval: float | None = None
    ) -> DeviceLoginToken:
        """``POST /v1/auth/device/token`` once; stores the token when approved."""
        return self._loop.call(self._async.poll_device_login, device_code, interval=interval)

    def login_with_browser(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        open_browser: bool = True,
        prompt: Callable[[str], Any] | None = None,
        timeout: float = 900.0,
    ) -> DeviceLoginToken:
        """Sign in through the browser (device flow) and store the token."""
        return self._loop.call(
            self._async.login_with_browser, scopes, client_name, open_browser, prompt, timeout
        )

    def revoke_api_token(self, token_id: str) -> None:
        """``DELETE /v1/auth/api-tokens/{id}``."""
        self._loop.call(self._async.revoke_api_token, token_id)

    def get_profile(self) -> dict[str, Any]:
        """``GET /v1/users/profile``, unwrapped."""
        return self._loop.call(self._async.get_profile)

    # -- client identities ----------------------------------------------------------------

    def create_client(
        self, payload: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/clients`` with an ``Idempotency-Key``."""
        return self._loop.call(self._async.create_client, payload, idempotency_key)

    def create_client_identity(
        self,
        hub: str | Mapping[str, Any],
        name: str | None = None,
        *,
        site_id: str | None = None,
        spec: Mapping[str, Any] | None = None,
        owner_id: str | None = None,
        active: bool = True,
        preferred_protocols: Sequence[str] = DEFAULT_PROTOCOL_PREFERENCE,
        idempotency_key: str | None = None,
        connection_type: str | None = None,
    ) -> BootstrapIdentityResult:
        """Create a client on ``hub`` and return its ready-to-save identity."""
        return self._loop.call(
            self._async.create_client_identity,
            hub,
            name,
            site_id=site_id,
            spec=spec,
            owner_id=owner_id,
            active=active,
            preferred_protocols=preferred_protocols,
            idempotency_key=idempotency_key,
            connection_type=connection_type,
        )

    def delete_client(self, client_id: str, etag: str | None = None) -> bool:
        """``DELETE /v1/clients/{id}`` (``If-Match``; one retry on 412); False if gone."""
        return self._loop.call(self._async.delete_client, client_id, etag)

    # -- operations -----------------------------------------------------------------------

    def get_operation(self, operation_id: str) -> OperationResource:
        """``GET /v1/operations/{id}``."""
        return self._loop.call(self._async.get_operation, operation_id)

    def wait_for_operation(
        self,
        operation: str | OperationResource | Mapping[str, Any],
        timeout: float = 120.0,
        interval: float = 2.0,
    ) -> OperationResource:
        """Poll an operation until it ends (rides out 429 and 5xx)."""
        return self._loop.call(self._async.wait_for_operation, operation, timeout, interval)

    def wait_for_admission(
        self,
        result: BootstrapIdentityResult | OperationResource | Mapping[str, Any] | str | None,
        timeout: float = 180.0,
        *,
        interval: float = 2.0,
    ) -> OperationResource | None:
        """Wait until a new client is admitted by its hub."""
        return self._loop.call(self._async.wait_for_admission, result, timeout, interval=interval)


class _Closer:
    """The loop thread's closer; holds the async client, never the facade."""

    def __init__(self, api: AsyncThalovantControlPlane) -> None:
        self._api = api

    async def __call__(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._api.aclose()

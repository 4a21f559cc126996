"""The blocking control-plane client: :class:`ThalovantControlPlane`.

It wraps :class:`~thalovant.control.client.AsyncThalovantControlPlane` one-to-one (same methods,
parameters and defaults; a test keeps them identical) on a private event-loop thread
(``thalovant-control-plane``), the machinery of the sync client
(:class:`~thalovant.sync.portal.LoopThread`)::

    with ThalovantControlPlane() as api:
        hubs = api.list_public_hubs(limit=12)["data"]
        api.login(email, password)
        result = api.create_client_identity(hubs[0]["id"], name="kiosk")

The method families live in mixins: :mod:`thalovant.sync.control_discovery`,
:mod:`thalovant.sync.control_signin`, :mod:`thalovant.sync.control_identities`,
:mod:`thalovant.sync.control_admin`, :mod:`thalovant.sync.control_groups` and
:mod:`thalovant.sync.control_memory`; this
module keeps construction, state and lifecycle (docs/protocol.md §7, docs/architecture.md).
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
from collections.abc import Callable
from types import TracebackType

import anyio

from thalovant._version import DEFAULT_USER_AGENT
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.http import DEFAULT_CONTROL_API_URL, SleepFunction
from thalovant.sync.control_admin import HubAdminMethods
from thalovant.sync.control_discovery import DiscoveryMethods
from thalovant.sync.control_groups import RuntimeGroupMethods
from thalovant.sync.control_identities import IdentityMethods
from thalovant.sync.control_memory import MemoryMethods
from thalovant.sync.control_signin import SignInMethods
from thalovant.sync.portal import LoopThread

__all__ = ["ThalovantControlPlane"]

#: Name of the control plane's event-loop thread.
CONTROL_THREAD_NAME = "thalovant-control-plane"


class ThalovantControlPlane(
    DiscoveryMethods,
    SignInMethods,
    IdentityMethods,
    HubAdminMethods,
    RuntimeGroupMethods,
    MemoryMethods,
):
    """Blocking client of the Thalovant control plane: the async client on a private
    event-loop thread (see the module docstring). Same arguments except ``session``.

    Args:
        api_url: The API base (a trailing ``/`` or ``/v1`` is stripped).
        access_token: An API token; the SDK never reads one from the environment by itself.
        timeout: Seconds per request.
        user_agent: The ``User-Agent`` header.
        ssl_context: Custom CA trust (self-hosted or test control planes).
        sleep: The waiting function of the pollers (runs on the loop; must not call this
            object).
        clock: The time function of the pollers.
    """

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
        """Close the HTTP session and stop the thread; the object is unusable afterwards.

        Raises:
            ThalovantRuntimeError: Called from the control plane's own loop thread.
        """
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


class _Closer:
    """The loop thread's closer; holds the async client, never the facade."""

    def __init__(self, api: AsyncThalovantControlPlane) -> None:
        self._api = api

    async def __call__(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._api.aclose()

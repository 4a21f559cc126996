"""Asynchronous client of the Thalovant control plane (REST API ``/v1``, docs/protocol.md §7).

:class:`AsyncThalovantControlPlane` discovers hubs, signs in (password or browser device flow),
provisions client identities and waits for their admission. Every failure is a typed
:class:`~thalovant.errors.ThalovantAPIError`; messages are bounded and never carry response
bodies, tokens or client secrets.

Transport rules: redirects are never followed; requests that carry credentials go only to
``https://`` (or plain ``http://`` on ``localhost``, ``127.0.0.1``, ``::1``); API URLs with
``user:password@`` are refused; the operation pollers ride out HTTP 429 and 5xx, and calls
that are safe to repeat (reads, the newer families' PUTs and DELETEs, creates that carry an
``Idempotency-Key``) are retried on them with :mod:`stamina` (docs/control-plane.md).
Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``) for the session the client
opens itself.

The class is assembled from one module per family of endpoints (docs/architecture.md):
:mod:`~thalovant.control.auth` (sign-in), :mod:`~thalovant.control.hubs`,
:mod:`~thalovant.control.clients` and :mod:`~thalovant.control.operations`, all over the HTTP
plumbing of :mod:`~thalovant.control.http`; hub management
(:mod:`~thalovant.control.hub_admin`), hub skills (:mod:`~thalovant.control.hub_skills`),
runtime groups and the marketplace (:mod:`~thalovant.control.groups`), memory items,
analytics and host-driven sign-in steps (:mod:`~thalovant.control.memory`).

::

    async with AsyncThalovantControlPlane(access_token=token) as api:
        result = await api.create_client_identity(hub_id, name="kitchen")
        await api.wait_for_admission(result)
        save(result.as_dict(include_secrets=True))  # never log this one
"""

from __future__ import annotations

from thalovant.control.auth import AuthEndpoints
from thalovant.control.clients import ClientEndpoints
from thalovant.control.groups import RuntimeGroupEndpoints
from thalovant.control.http import DEFAULT_CONTROL_API_URL
from thalovant.control.hub_admin import HubAdminEndpoints
from thalovant.control.hub_skills import HubSkillEndpoints
from thalovant.control.memory import MemoryEndpoints
from thalovant.control.models import (
    BootstrapIdentityResult,
    DeviceAuthorization,
    DeviceLoginToken,
    OperationResource,
)
from thalovant.control.operations import OperationEndpoints
from thalovant.control.skill_models import (
    DeviceLoginRequest,
    HubSkill,
    HubSkillList,
    HubSkillOperation,
    HubSkillOperationState,
    HubSkillState,
)

__all__ = [
    "DEFAULT_CONTROL_API_URL",
    "AsyncThalovantControlPlane",
    "BootstrapIdentityResult",
    "DeviceAuthorization",
    "DeviceLoginRequest",
    "DeviceLoginToken",
    "HubSkill",
    "HubSkillList",
    "HubSkillOperation",
    "HubSkillOperationState",
    "HubSkillState",
    "OperationResource",
]


class AsyncThalovantControlPlane(
    AuthEndpoints,
    ClientEndpoints,
    HubAdminEndpoints,
    HubSkillEndpoints,
    RuntimeGroupEndpoints,
    MemoryEndpoints,
    OperationEndpoints,
):
    """Client of the Thalovant control plane REST API.

    Use it as ``async with`` (or call :meth:`aclose`); it is bound to the event loop that first
    uses its own HTTP session.

    Args:
        api_url: The API base (a trailing ``/`` or ``/v1`` is stripped); default the hosted
            control plane, :data:`~thalovant.control.http.DEFAULT_CONTROL_API_URL`.
        access_token: An API token (``tvpat_…``); the SDK never reads one from the environment
            by itself. The sign-in methods set one.
        timeout: Seconds per request.
        user_agent: The ``user-agent`` header.
        session: A caller-owned :class:`aiohttp.ClientSession`, never closed here; without one
            the client opens its own, closed by :meth:`aclose` or ``async with``.
        ssl_context: Custom CA trust (self-hosted or test control planes).
        sleep: The waiting function of the pollers and the device login (default
            :func:`anyio.sleep`); tests inject fakes so nothing really waits.
        clock: Their time function (default :func:`time.monotonic`).

    Raises:
        ThalovantAPIError: ``api_url`` is not an ``http(s)://host[/path]`` URL, or embeds
            credentials, a query or a fragment.
    """

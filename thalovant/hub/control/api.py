"""The local control plane: the ``/v1`` REST API of docs/protocol.md §7, served by the local hub.

:func:`build_control_app` returns an :class:`aiohttp.web.Application` whose routes are
relative to ``/v1`` (mount it with ``app.add_subapp("/v1", control_app)``). It serves:

- public hub discovery (``/public/hubs``), the signed-in hub listing (``/hubs``);
- ``POST /auth/token`` for the :class:`~thalovant.hub.control.account.LocalAccount` (email and
  password, optional TOTP or recovery code → ``mfa_required`` without one), bearer tokens kept
  hashed with expiry (:class:`~thalovant.hub.control.tokens.TokenStore`), ``DELETE
  /auth/api-tokens/{id}``, ``GET /users/profile``;
- clients: ``POST /clients`` registers the client in the hub's registry with the access key
  and password the SDK minted and sent in ``spec`` (``apiKey``/``password``), and answers with
  ``initial_identify`` = :meth:`~thalovant.hub.LocalHub.identity_for` (every carrier the hub
  runs) and a ``ready`` admission operation; ``Idempotency-Key`` replays; ``GET`` and
  ``DELETE`` (``If-Match`` → 412 on a stale etag);
- ``GET /operations/{id}``;
- the wider control plane (docs/control-plane.md): hub writes, ratings, releases and runtime
  capabilities (:mod:`~thalovant.hub.control.hub_routes`); hub skills, runtime groups and the
  marketplace, whose changes the hub really applies (:mod:`~thalovant.hub.control.skill_routes`);
  memory items, which reach the skills, and analytics (:mod:`~thalovant.hub.control.memory_routes`);
  device and native-app sign-in approved by the account (:mod:`~thalovant.hub.control.device`).

Who may call what is one table, :data:`ROUTES`: each route declares its :class:`Access`
(public, any live token, or a token holding one of some scopes), checked before the handler
runs; revoking a token other than the caller's own also needs a full-scope token.

Input is checked at the door: bodies are read with a deadline, must be UTF-8 JSON objects no
deeper than :data:`MAX_JSON_DEPTH` (checked on the raw text before anything parses or
recurses), and every string that is stored or echoed (names, site ids, secrets, emails,
codes, query filters, ``Idempotency-Key``) passes :func:`~thalovant.hub.state.text.clean_text`.

Errors are RFC 7807 Problem+JSON bodies ``{"type", "title", "status", "detail", "code"}``;
none of them echoes a request body, a password or a token. Ten failed sign-ins in a row lock
sign-in for a while (HTTP 429 with ``Retry-After``).

The pieces: :mod:`~thalovant.hub.control.access` (who may call what),
:mod:`~thalovant.hub.control.bodies` (reading requests), :mod:`~thalovant.hub.control.signin`,
:mod:`~thalovant.hub.control.clients` (the handlers), :mod:`~thalovant.hub.control.problems`
(the answers on failure), :mod:`~thalovant.hub.control.app_state` (what they share); this
module serves the hub routes and holds the table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from thalovant.hub.control import device
from thalovant.hub.control import hub_routes as hubs
from thalovant.hub.control import memory_routes as memory
from thalovant.hub.control import skill_routes as skills
from thalovant.hub.control.access import PUBLIC, SIGNED_IN, Access, Route, guarded, scoped
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.app_state import STATE, ControlState, control_state
from thalovant.hub.control.bodies import MAX_BODY, MAX_JSON_DEPTH
from thalovant.hub.control.clients import create_client, delete_client, get_client, list_clients
from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.problems import ApiProblem, problem_response, problems_middleware
from thalovant.hub.control.signin import (
    LOCKOUT_SECONDS,
    login,
    profile,
    revoke_token,
)
from thalovant.hub.control.tokens import TokenStore

__all__ = [
    "LOCKOUT_SECONDS",
    "MAX_BODY",
    "MAX_JSON_DEPTH",
    "PUBLIC",
    "ROUTES",
    "SIGNED_IN",
    "STATE",
    "Access",
    "ApiProblem",
    "ControlState",
    "Route",
    "build_control_app",
    "problem_response",
    "scoped",
]


def build_control_app(
    hub: ControlledHub, account: LocalAccount, *, tokens: TokenStore | None = None
) -> web.Application:
    """The ``/v1`` application for ``hub`` and ``account`` (routes relative to ``/v1``)."""
    app = web.Application(
        middlewares=[problems_middleware, _faults_middleware], client_max_size=MAX_BODY
    )
    state = ControlState(hub, account, tokens if tokens is not None else TokenStore())
    app[STATE] = state

    async def _cleanup(app: web.Application) -> None:
        await state.skills.aclose()

    app.on_cleanup.append(_cleanup)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route))
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


# -------------------------------------------------------------------------- operations


async def _get_operation(request: web.Request) -> web.Response:
    found = control_state(request).operations.get(request.match_info["op_id"])
    if found is None:
        raise ApiProblem(404, "operation_not_found", "No operation with this id")
    return web.json_response(found)


@web.middleware
async def _faults_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    return await control_state(request).faults.run(request, handler)


async def _not_found(request: web.Request) -> web.Response:
    raise ApiProblem(404, "not_found", "Not Found")


# ------------------------------------------------------------------------ the route table

READ_HUBS = scoped("hubs:read", "hubs:write")
WRITE_HUBS = scoped("hubs:write")
INSPECT = scoped("hubs:inspect", "hubs:write")
READ_MEMORY = scoped("memory:read", "memory:write")

ROUTES: tuple[Route, ...] = (
    Route("GET", "/public/hubs", hubs.list_public_hubs, PUBLIC),
    Route("GET", "/public/hubs/{ref}", hubs.get_public_hub, PUBLIC),
    Route("GET", "/hubs", hubs.list_hubs, scoped("hubs:read")),
    Route("POST", "/hubs", hubs.create_hub, WRITE_HUBS),
    Route("GET", "/hubs/{hub_id}", hubs.get_hub, scoped("hubs:read")),
    Route("PATCH", "/hubs/{hub_id}", hubs.update_hub, WRITE_HUBS),
    Route("DELETE", "/hubs/{hub_id}", hubs.delete_hub, WRITE_HUBS),
    Route("POST", "/hubs/{hub_id}/release", hubs.release_hub, WRITE_HUBS),
    Route("PUT", "/hubs/{hub_id}/rating", hubs.set_rating, READ_HUBS),
    Route("DELETE", "/hubs/{hub_id}/rating", hubs.clear_rating, READ_HUBS),
    Route("GET", "/hubs/{hub_id}/runtime-capabilities", hubs.get_capabilities, INSPECT),
    Route("GET", "/hubs/{hub_id}/skills", skills.list_skills, READ_HUBS),
    Route("POST", "/hubs/{hub_id}/skills", skills.install_skill, WRITE_HUBS),
    Route("GET", "/hubs/{hub_id}/skills/history", skills.list_skill_history, READ_HUBS),
    Route("PATCH", "/hubs/{hub_id}/skills/{skill}", skills.update_skill, WRITE_HUBS),
    Route("DELETE", "/hubs/{hub_id}/skills/{skill}", skills.remove_skill, WRITE_HUBS),
    Route("GET", "/marketplace/skills", skills.list_marketplace, READ_HUBS),
    Route("GET", "/runtime-groups", skills.list_groups, READ_HUBS),
    Route("POST", "/runtime-groups", skills.create_group, WRITE_HUBS),
    Route("GET", "/runtime-groups/{group_id}", skills.get_group, READ_HUBS),
    Route("PATCH", "/runtime-groups/{group_id}", skills.update_group, WRITE_HUBS),
    Route("DELETE", "/runtime-groups/{group_id}", skills.delete_group, WRITE_HUBS),
    Route("GET", "/runtime-groups/{group_id}/config", skills.get_group_config, READ_HUBS),
    Route("PATCH", "/runtime-groups/{group_id}/config", skills.set_group_config, WRITE_HUBS),
    Route("PUT", "/runtime-groups/{group_id}/config", skills.set_group_config, WRITE_HUBS),
    Route("POST", "/runtime-groups/{group_id}/release", skills.release_group, WRITE_HUBS),
    Route("GET", "/runtime-groups/{group_id}/marketplace", skills.group_marketplace, READ_HUBS),
    Route("GET", "/runtime-groups/{group_id}/inventory", skills.group_inventory, READ_HUBS),
    Route("POST", "/runtime-groups/{group_id}/skills", skills.install_group_skill, WRITE_HUBS),
    Route(
        "DELETE",
        "/runtime-groups/{group_id}/skills/{skill_id}",
        skills.uninstall_group_skill,
        WRITE_HUBS,
    ),
    Route("GET", "/memory", memory.list_memory, READ_MEMORY),
    Route("POST", "/memory", memory.create_memory, scoped("memory:write")),
    Route("GET", "/memory/summary", memory.memory_summary, READ_MEMORY),
    Route("GET", "/memory/{memory_id}", memory.get_memory, READ_MEMORY),
    Route("PATCH", "/memory/{memory_id}", memory.update_memory, scoped("memory:write")),
    Route("DELETE", "/memory/{memory_id}", memory.delete_memory, scoped("memory:write")),
    Route("GET", "/analytics/overview", memory.analytics_overview, scoped("analytics:read")),
    Route("GET", "/auth/device/codes/{user_code}", device.describe_device_code, SIGNED_IN),
    Route("POST", "/auth/device/codes/{user_code}/approve", device.approve_device_code, SIGNED_IN),
    Route("POST", "/auth/device/codes/{user_code}/deny", device.deny_device_code, SIGNED_IN),
    Route("POST", "/auth/native/authorize", device.authorize_native, SIGNED_IN),
    Route("POST", "/auth/native/token", device.native_token, PUBLIC),
    Route("POST", "/auth/token", login, PUBLIC),
    Route("POST", "/auth/device/authorize", device.authorize_device, PUBLIC),
    Route("POST", "/auth/device/token", device.device_token, PUBLIC),
    # Any token signs itself out; the handler asks a full-scope token to revoke another.
    Route("DELETE", "/auth/api-tokens/{token_id}", revoke_token, SIGNED_IN),
    Route("GET", "/users/profile", profile, SIGNED_IN),
    Route("GET", "/clients", list_clients, scoped("clients:read")),
    Route("POST", "/clients", create_client, scoped("clients:write")),
    Route("GET", "/clients/{client_id}", get_client, scoped("clients:read")),
    Route("DELETE", "/clients/{client_id}", delete_client, scoped("clients:write")),
    # An operation: readable by who may start one (clients:write, hubs:write) or read them.
    Route(
        "GET",
        "/operations/{op_id}",
        _get_operation,
        scoped("clients:read", "clients:write", "hubs:read", "hubs:write"),
    ),
)
"""Every ``/v1`` route and who may call it; :func:`build_control_app` serves exactly these."""

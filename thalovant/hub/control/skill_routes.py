"""The skill routes of the local control plane: a hub's skills (``/hubs/{id}/skills``),
runtime groups (``/runtime-groups``) and the marketplace (``/marketplace/skills``).

Installing, updating and removing a hub skill answer HTTP 202 with an operation that really
changes what the hub answers (:mod:`~thalovant.hub.control.skill_ops`); a runtime group's
config is applied by the hub at once (docs/control-plane.md).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from thalovant.hub.control.app_state import ControlState, control_state
from thalovant.hub.control.bodies import (
    json_object,
    limit_and_offset,
    optional_text,
    page_response,
    query_filter,
    text_field,
)
from thalovant.hub.control.groups_store import check_config
from thalovant.hub.control.idempotent import API_PREFIX, idempotent
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import hub_id_for, page
from thalovant.hub.control.tokens import iso_time
from thalovant.hub.responder.marketplace import MarketplaceEntry

__all__ = [
    "create_group",
    "delete_group",
    "get_group",
    "get_group_config",
    "group_inventory",
    "group_marketplace",
    "install_group_skill",
    "install_skill",
    "list_groups",
    "list_marketplace",
    "list_skill_history",
    "list_skills",
    "release_group",
    "remove_skill",
    "set_group_config",
    "uninstall_group_skill",
    "update_group",
    "update_skill",
]

_MAX_NAME = 128


def _served(request: web.Request) -> ControlState:
    state = control_state(request)
    if request.match_info["hub_id"] not in (hub_id_for(state.hub), "local-hub"):
        if request.match_info["hub_id"] in state.extra_hubs:
            raise ApiProblem(409, "hub_not_running", "No runtime runs this hub yet")
        raise ApiProblem(404, "hub_not_found", "No hub with this id")
    return state


def _skill_name(value: object, what: str = "skill") -> str:
    return text_field(value, what, max_len=_MAX_NAME)


# ------------------------------------------------------------------------- hub skills


async def list_skills(request: web.Request) -> web.Response:
    state = _served(request)
    return web.json_response(
        {
            "hub_id": state.skills.hub_id,
            "runtime_group_id": "rg_local",
            "observed_at": iso_time(time.time()),
            "source": "local-hub",
            "operator_phase": "ready",
            "operator_message": None,
            "data": state.skills.rows(),
        }
    )


async def install_skill(request: web.Request) -> web.Response:
    _served(request)
    return await idempotent(request, "hub-skills", _install)


async def _install(request: web.Request, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    state = control_state(request)
    name = _skill_name(body.get("skill"))
    version = optional_text(body.get("version"), "version", max_len=64) or "latest"
    return 202, state.skills.install(name, version, API_PREFIX)


async def update_skill(request: web.Request) -> web.Response:
    state = _served(request)
    body = await json_object(request)
    version = optional_text(body.get("version"), "version", max_len=64)
    if version is None:
        raise ApiProblem(422, "invalid_body", "version is required")
    name = _skill_name(request.match_info["skill"])
    answer = state.skills.update(name, version, request.headers.get("If-Match"), API_PREFIX)
    return web.json_response(answer, status=202)


async def remove_skill(request: web.Request) -> web.Response:
    state = _served(request)
    answer = state.skills.remove(_skill_name(request.match_info["skill"]), API_PREFIX)
    return web.json_response(answer, status=202)


async def list_skill_history(request: web.Request) -> web.Response:
    state = _served(request)
    return page_response(request, [dict(e) for e in state.skills.history], 50)


# ----------------------------------------------------------------------- marketplace


def _market_row(entry: MarketplaceEntry, installed: set[str] | None = None) -> dict[str, Any]:
    row = {
        "id": f"mk_{entry.name}",
        "skill_id": entry.name,
        "name": entry.name,
        "title": entry.title,
        "description": entry.description,
        "publisher": entry.publisher,
        "owner_id": entry.publisher,
        "source_type": "catalog",
        "versions": entry.ordered(),
        "latest_version": entry.latest,
        "active": True,
    }
    if installed is not None:
        row["installed"] = entry.name in installed
    return row


async def list_marketplace(request: web.Request) -> web.Response:
    state = control_state(request)
    owner = query_filter(request, "owner_id")
    rows = [_market_row(e) for e in state.hub.marketplace.entries() if e.versions]
    return page_response(request, [r for r in rows if owner in (None, r["owner_id"])], 100)


# --------------------------------------------------------------------- runtime groups


def _group_id(request: web.Request) -> str:
    return request.match_info["group_id"]


async def list_groups(request: web.Request) -> web.Response:
    state = control_state(request)
    owner = query_filter(request, "owner_id")
    groups = [g for g in state.groups.all() if owner in (None, g["owner_id"])]
    return page_response(request, groups, 100)


async def get_group(request: web.Request) -> web.Response:
    return web.json_response(control_state(request).groups.get(_group_id(request)))


async def create_group(request: web.Request) -> web.Response:
    return await idempotent(request, "runtime-groups", _create_group)


async def _create_group(request: web.Request, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    state = control_state(request)
    if body.get("name") is None:
        raise ApiProblem(422, "invalid_body", "name is required")
    name = text_field(body.get("name"), "name", max_len=_MAX_NAME)
    description = optional_text(body.get("description"), "description", max_len=500)
    config = body.get("config", {})
    if not isinstance(config, dict):
        raise ApiProblem(422, "invalid_config", "config must be an object")
    return 201, state.groups.create(name, description, config)


async def update_group(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    unknown = set(body) - {"name", "description"}
    if unknown:
        raise ApiProblem(422, "invalid_body", "Only name and description change")
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = text_field(body["name"], "name", max_len=_MAX_NAME)
    if "description" in body:
        changes["description"] = optional_text(body["description"], "description", max_len=500)
    etag = request.headers.get("If-Match")
    return web.json_response(state.groups.update(_group_id(request), changes, etag))


async def delete_group(request: web.Request) -> web.Response:
    state = control_state(request)
    state.groups.delete(_group_id(request), request.headers.get("If-Match"))
    return web.Response(status=204)


async def get_group_config(request: web.Request) -> web.Response:
    return web.json_response(control_state(request).groups.config_answer(_group_id(request)))


async def set_group_config(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    config, personas = body.get("config", {}), body.get("personas")
    if not isinstance(config, dict) or (personas is not None and not isinstance(personas, dict)):
        raise ApiProblem(422, "invalid_config", "config and personas must be objects")
    check_config(config)
    answer = state.groups.set_config(
        _group_id(request),
        config,
        personas,
        merge=request.method == "PATCH",
        etag=request.headers.get("If-Match"),
    )
    return web.json_response(answer)


async def release_group(request: web.Request) -> web.Response:
    state = control_state(request)
    group = state.groups.get(_group_id(request))
    body = await json_object(request)
    fields = {k: optional_text(body.get(k), k, max_len=200) for k in ("channel", "mode", "version")}
    fields["reason"] = optional_text(body.get("reason"), "reason", max_len=500)
    op = state.operations.start("runtime_group.release", "runtime_group", group["id"], fields)
    state.operations.update(op["id"], "ready")  # nothing to roll out on loopback
    answer = {
        "runtime_group_id": group["id"],
        **fields,
        "operation": state.operations.get(op["id"]),
    }
    return web.json_response(answer, status=202)


async def group_marketplace(request: web.Request) -> web.Response:
    state = control_state(request)
    installed = {e["skill_id"] for e in state.groups.inventory(_group_id(request))}
    rows = [_market_row(e, installed) for e in state.hub.marketplace.entries() if e.versions]
    return web.json_response({"runtime_group_id": _group_id(request), "data": rows})


async def group_inventory(request: web.Request) -> web.Response:
    state = control_state(request)
    items = state.groups.inventory(_group_id(request))
    limit, offset = limit_and_offset(request, 100)
    answer = page(items, offset, limit, request.path, {})
    answer["runtime_group_id"] = _group_id(request)
    return web.json_response(answer)


async def install_group_skill(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    entry: dict[str, Any] = {"skill_id": _skill_name(body.get("skill_id"), "skill_id")}
    for key in ("marketplace_skill_id", "source_ref", "version_pin"):
        entry[key] = optional_text(body.get(key), key, max_len=_MAX_NAME)
    entry["source_type"] = optional_text(body.get("source_type"), "source_type", max_len=32)
    if entry["source_type"] not in (None, "catalog"):
        raise ApiProblem(422, "unsupported_source", "The local marketplace has source_type catalog")
    entry["source_type"] = "catalog"
    if body.get("active", True) is not True:
        raise ApiProblem(422, "invalid_body", "The local hub installs active skills only")
    entry["active"] = True
    return web.json_response(state.groups.install(_group_id(request), entry), status=201)


async def uninstall_group_skill(request: web.Request) -> web.Response:
    state = control_state(request)
    state.groups.uninstall(_group_id(request), _skill_name(request.match_info["skill_id"]))
    return web.Response(status=204)

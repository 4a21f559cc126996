"""The ``/hubs`` routes of the local control plane: read, create, update, delete, release,
rate, and the running hub's runtime capabilities.

The hub this control plane serves is always there (it cannot be deleted: 409); its ``title``
and ``description`` can be changed. Hubs created here are stored records no process runs
(``status: "planned"``, no data-plane endpoints). Creates replay on ``Idempotency-Key``;
updates and deletes honour ``If-Match`` (docs/control-plane.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from typing import Any

from aiohttp import web

from thalovant.hub.control.app_state import ControlState, control_state
from thalovant.hub.control.bodies import json_object, optional_text, page_response, query_filter
from thalovant.hub.control.idempotent import API_PREFIX, idempotent
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import hub_resource
from thalovant.hub.control.tokens import iso_time

__all__ = [
    "clear_rating",
    "create_hub",
    "delete_hub",
    "get_capabilities",
    "get_hub",
    "get_public_hub",
    "list_hubs",
    "list_public_hubs",
    "release_hub",
    "set_rating",
    "update_hub",
]

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_EDITABLE = ("title", "description", "visibility")
_MAX_HUBS = 50


def _etag(body: dict[str, Any]) -> str:
    shown = {k: v for k, v in body.items() if k != "etag"}
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode())
    return f'"{digest.hexdigest()[:16]}"'


def _rating(state: ControlState, hub_id: str) -> dict[str, Any]:
    ratings = state.ratings.get(hub_id, {})
    count = len(ratings)
    return {"average": round(sum(ratings.values()) / count, 2) if count else None, "count": count}


def served_hub(state: ControlState) -> dict[str, Any]:
    """The served hub's resource, with its edits and rating."""
    body = hub_resource(state.hub, state.account.user_id)
    body.pop("etag", None)
    body.update(state.hub_edits)
    body.update(status="running", runtime_group_id="rg_local", rating=_rating(state, body["id"]))
    body["etag"] = _etag(body)
    return body


def every_hub(state: ControlState) -> list[dict[str, Any]]:
    """The served hub first, then the created ones."""
    return [served_hub(state), *(dict(h) for h in state.extra_hubs.values())]


def _find(state: ControlState, ref: str) -> dict[str, Any]:
    for hub in every_hub(state):
        if ref in (hub["id"], hub["slug"]):
            return hub
    raise ApiProblem(404, "hub_not_found", "No hub with this id")


async def list_public_hubs(request: web.Request) -> web.Response:
    state = control_state(request)
    public = [h for h in every_hub(state) if h.get("visibility") == "public"]
    return page_response(request, public, 24)


async def get_public_hub(request: web.Request) -> web.Response:
    state, ref = control_state(request), request.match_info["ref"]
    for hub in every_hub(state):
        if hub.get("visibility") == "public" and ref in (hub["id"], hub["slug"], hub["public_ref"]):
            return web.json_response(hub)
    raise ApiProblem(404, "hub_not_found", "No public hub with this reference")


async def list_hubs(request: web.Request) -> web.Response:
    owner = query_filter(request, "owner_id")
    hubs = every_hub(control_state(request))
    return page_response(request, [h for h in hubs if owner in (None, "", h["owner_id"])], 100)


async def get_hub(request: web.Request) -> web.Response:
    return web.json_response(_find(control_state(request), request.match_info["hub_id"]))


def _edits(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {*_EDITABLE, "name", "slug"})
    if unknown:
        raise ApiProblem(422, "invalid_body", "Only title, description and visibility change")
    out: dict[str, Any] = {}
    for key in _EDITABLE:
        if key in body:
            out[key] = optional_text(body[key], key, max_len=500)
    if out.get("visibility") not in (None, "public", "private"):
        raise ApiProblem(422, "invalid_body", "visibility is public or private")
    return out


async def create_hub(request: web.Request) -> web.Response:
    return await idempotent(request, "hubs", _create_hub)


async def _create_hub(request: web.Request, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    state = control_state(request)
    name = body.get("name")
    if not isinstance(name, str) or not _SLUG.fullmatch(name):
        raise ApiProblem(422, "invalid_body", "name is a slug: a-z, 0-9 and -, at most 63")
    edits = _edits({k: v for k, v in body.items() if k != "name"})
    if any(h["slug"] == name for h in every_hub(state)):
        raise ApiProblem(409, "hub_exists", "A hub with this name exists")
    if len(state.extra_hubs) >= _MAX_HUBS:
        raise ApiProblem(403, "plan_limit", f"At most {_MAX_HUBS} hubs on the local plan")
    hub_id = f"hub_{secrets.token_hex(8)}"
    hub: dict[str, Any] = {
        "id": hub_id,
        "slug": name,
        "public_ref": name,
        "name": name,
        "title": edits.get("title") or name,
        "description": edits.get("description"),
        "visibility": edits.get("visibility") or "private",
        "owner_id": state.account.user_id,
        "domain": None,
        "status": "planned",
        "runtime_group_id": None,
        "data_plane_endpoints": {},
        "spec": {"protocols": {}, "catalog": {"title": edits.get("title") or name}},
        "created_at": iso_time(time.time()),
    }
    hub["etag"] = _etag(hub)
    state.extra_hubs[hub_id] = hub
    return 201, hub


def _check_etag(request: web.Request, hub: dict[str, Any], required: bool = True) -> None:
    wanted = request.headers.get("If-Match")
    if wanted is None:
        if required:
            raise ApiProblem(428, "precondition_required", "Send If-Match: <etag>")
        return
    if wanted.strip() not in ("*", hub["etag"]):
        raise ApiProblem(412, "precondition_failed", "The hub changed (etag mismatch)")


async def update_hub(request: web.Request) -> web.Response:
    state = control_state(request)
    hub = _find(state, request.match_info["hub_id"])
    body = await json_object(request)
    _check_etag(request, hub)
    edits = _edits(body)
    if hub["id"] == served_hub(state)["id"]:
        state.hub_edits.update(edits)
        if "title" in edits:
            state.hub_edits["spec"] = {**hub["spec"], "catalog": {"title": edits["title"]}}
        return web.json_response(served_hub(state))
    hub.update(edits)
    hub["etag"] = _etag(hub)
    state.extra_hubs[hub["id"]] = hub
    return web.json_response(hub)


async def delete_hub(request: web.Request) -> web.Response:
    state = control_state(request)
    hub = _find(state, request.match_info["hub_id"])
    _check_etag(request, hub)
    if hub["id"] not in state.extra_hubs:
        raise ApiProblem(409, "hub_in_use", "This control plane's own hub cannot be deleted")
    del state.extra_hubs[hub["id"]]
    return web.Response(status=204)


async def release_hub(request: web.Request) -> web.Response:
    state = control_state(request)
    hub = _find(state, request.match_info["hub_id"])
    body = await json_object(request)
    fields = {k: optional_text(body.get(k), k, max_len=200) for k in ("channel", "mode", "version")}
    fields["reason"] = optional_text(body.get("reason"), "reason", max_len=500)
    op = state.operations.start("hub.release", "hub", hub["id"], fields, API_PREFIX)
    state.operations.update(op["id"], "ready")  # nothing to roll out on loopback
    release = {"release_id": f"rel_{secrets.token_hex(6)}", "hub_id": hub["id"], **fields}
    release["operation"] = state.operations.get(op["id"])
    return web.json_response(release, status=202)


async def set_rating(request: web.Request) -> web.Response:
    state = control_state(request)
    hub = _find(state, request.match_info["hub_id"])
    body = await json_object(request)
    rating = body.get("rating")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ApiProblem(422, "invalid_rating", "rating is an integer from 1 to 5")
    state.ratings.setdefault(hub["id"], {})[state.account.user_id] = rating
    return web.json_response({"hub_id": hub["id"], "rating": rating, **_rating(state, hub["id"])})


async def clear_rating(request: web.Request) -> web.Response:
    state = control_state(request)
    hub = _find(state, request.match_info["hub_id"])
    state.ratings.get(hub["id"], {}).pop(state.account.user_id, None)
    return web.json_response({"hub_id": hub["id"], "rating": None, **_rating(state, hub["id"])})


async def get_capabilities(request: web.Request) -> web.Response:
    state = control_state(request)
    hub = _find(state, request.match_info["hub_id"])
    if hub["id"] in state.extra_hubs:
        return web.json_response({"hub_id": hub["id"], "source": "planned", "skills": []})
    return web.json_response(state.skills.capabilities(state.hub.data_plane()))

"""The memory and analytics routes of the local control plane.

``/memory`` pages by ``limit``/``offset``; creates replay on ``Idempotency-Key``; updates
honour ``If-Match``. ``/analytics/overview`` counts what the hub's skill runtime really
answered (docs/control-plane.md).
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from thalovant.hub.control.app_state import control_state
from thalovant.hub.control.bodies import json_object, optional_text, query_filter, text_field
from thalovant.hub.control.idempotent import idempotent
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import client_id_for
from thalovant.hub.control.tokens import iso_time

__all__ = [
    "analytics_overview",
    "create_memory",
    "delete_memory",
    "get_memory",
    "list_memory",
    "memory_summary",
    "update_memory",
]

_MAX_CONTENT = 4000
_MAX_META = 4096  # characters of metadata as JSON
_NUMBER = re.compile(r"[0-9]{1,6}")
_FIELDS = ("content", "kind", "scope", "hub_id", "expires_at", "metadata")


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


def _number(request: web.Request, name: str, default: int, top: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not _NUMBER.fullmatch(raw) or int(raw) > top:
        raise ApiProblem(422, f"invalid_{name}", f"{name} must be an integer from 0 to {top}")
    return int(raw)


def _fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise ApiProblem(422, "invalid_body", "Unknown memory item fields")
    out: dict[str, Any] = {}
    if creating or "content" in body:
        if not isinstance(body.get("content"), str) or not body["content"].strip():
            raise ApiProblem(422, "invalid_body", "content is required text")
        out["content"] = text_field(body["content"], "content", max_len=_MAX_CONTENT)
    for key in ("kind", "scope"):
        if key in body:
            value = optional_text(body[key], key, max_len=64)
            if value is None:
                raise ApiProblem(422, "invalid_body", f"{key} must be text")
            out[key] = value
    if "hub_id" in body:
        out["hub_id"] = optional_text(body["hub_id"], "hub_id", max_len=128)
    if "expires_at" in body:
        out["expires_at"] = body["expires_at"]  # checked by the store
    if "metadata" in body:
        meta = body["metadata"]
        if not isinstance(meta, dict) or len(repr(meta)) > _MAX_META:
            raise ApiProblem(422, "invalid_body", f"metadata is an object of < {_MAX_META} chars")
        out["metadata"] = meta
    return out


async def list_memory(request: web.Request) -> web.Response:
    state = control_state(request)
    items = state.memory.select(
        scope=query_filter(request, "scope"),
        kind=query_filter(request, "kind"),
        owner_id=query_filter(request, "owner_id"),
        hub_id=query_filter(request, "hub_id"),
        query=query_filter(request, "query"),
        include_deleted=_flag(request, "include_deleted"),
        include_expired=_flag(request, "include_expired"),
    )
    limit = _number(request, "limit", 100, 100) or 100
    offset = _number(request, "offset", 0, 999_999)
    chunk = items[offset : offset + limit]
    meta = {"count": len(chunk), "total": len(items), "offset": offset, "limit": limit}
    return web.json_response({"data": chunk, "meta": meta})


async def create_memory(request: web.Request) -> web.Response:
    return await idempotent(request, "memory", _create)


async def _create(request: web.Request, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 201, control_state(request).memory.create(_fields(body, creating=True))


async def get_memory(request: web.Request) -> web.Response:
    return web.json_response(control_state(request).memory.get(request.match_info["memory_id"]))


async def update_memory(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    fields = _fields(body, creating=False)
    etag = request.headers.get("If-Match")
    return web.json_response(state.memory.update(request.match_info["memory_id"], fields, etag))


async def delete_memory(request: web.Request) -> web.Response:
    control_state(request).memory.delete(request.match_info["memory_id"])
    return web.Response(status=204)


async def memory_summary(request: web.Request) -> web.Response:
    state = control_state(request)
    return web.json_response(state.memory.summary(query_filter(request, "owner_id")))


async def analytics_overview(request: web.Request) -> web.Response:
    state = control_state(request)
    counts = state.hub.runtime.counts
    hub_id, intent = query_filter(request, "hub_id"), query_filter(request, "intent")
    client = query_filter(request, "client_id")
    known = {client_id_for(r.access_key) for r in state.hub.registry.records()}
    ours = hub_id in (None, state.skills.hub_id) and client in (None, *known)
    intents = [
        {"intent": key.partition(":")[2], "count": value}
        for key, value in sorted(counts.items())
        if key.startswith("skill:") and intent in (None, key.partition(":")[2])
    ]
    totals = {
        "utterances": counts["utterances"] if ours else 0,
        "answered": counts["answered"] if ours else 0,
        "unmatched": counts["unmatched"] if ours else 0,
        "clients": len(known),
    }
    return web.json_response(
        {
            "range": query_filter(request, "range") or "all",
            "bucket": query_filter(request, "bucket") or "all",
            "hub_id": hub_id or state.skills.hub_id,
            "generated_at": iso_time(time.time()),
            "totals": totals,
            "intents": intents if ours else [],
            "series": [{"at": iso_time(time.time()), **totals}],
        }
    )

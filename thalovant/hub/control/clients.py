"""The ``/clients`` routes of the local control plane: list, read, create, delete.

``POST /clients`` registers the client in the hub's registry with the access key and password
the SDK minted and sent in ``spec`` (``apiKey``/``password``), and answers with
``initial_identify`` (the identity, every carrier the hub runs) and a ``ready`` admission
operation; ``Idempotency-Key`` replays; ``DELETE`` honours ``If-Match`` (412 on a stale etag).
Client resources are derived from the registry (docs/protocol.md §7).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread
from aiohttp import web

from thalovant.hub.control.app_state import ControlState, control_state, mount_prefix
from thalovant.hub.control.bodies import (
    json_object,
    optional_text,
    page_response,
    query_filter,
    text_field,
)
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import (
    IdempotencyCache,
    client_etag,
    client_id_for,
    client_resource,
    hub_id_for,
)
from thalovant.hub.state.registry import (
    MAX_NAME,
    MAX_SECRET,
    ClientExistsError,
    ClientRecord,
    InvalidClientError,
)

__all__ = ["create_client", "delete_client", "get_client", "list_clients"]

logger = logging.getLogger("thalovant.hub.control")

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII


def _find_client(state: ControlState, client_id: str) -> ClientRecord:
    for record in state.hub.registry.records():
        if client_id_for(record.access_key) == client_id:
            return record
    raise ApiProblem(404, "client_not_found", "No client with this id")


async def list_clients(request: web.Request) -> web.Response:
    state = control_state(request)
    hub_id, owner = query_filter(request, "hub_id"), query_filter(request, "owner_id")
    spec = request.query.get("include_spec", "").lower() in ("true", "1", "yes")
    prefix = mount_prefix(request, "/clients")
    mine = hub_id in (None, "", hub_id_for(state.hub)) and owner in (
        None,
        "",
        state.account.user_id,
    )
    records = state.hub.registry.records() if mine else []
    items = [
        client_resource(
            r, hub_id_for(state.hub), state.account.user_id, prefix=prefix, include_spec=spec
        )
        for r in records
    ]
    return page_response(request, items, 100)


async def get_client(request: web.Request) -> web.Response:
    state = control_state(request)
    record = _find_client(state, request.match_info["client_id"])
    prefix = mount_prefix(request, f"/clients/{request.match_info['client_id']}")
    return web.json_response(
        client_resource(record, hub_id_for(state.hub), state.account.user_id, prefix=prefix)
    )


def _secret(spec: Mapping[str, Any], names: tuple[str, ...], what: str) -> str:
    given = next((spec[n] for n in names if spec.get(n) is not None), None)
    if given is None:
        return secrets.token_urlsafe(32)
    if not isinstance(given, str) or not 16 <= len(given) <= MAX_SECRET:
        raise ApiProblem(
            422, "invalid_spec", f"spec.{what} must be a string of 16 to {MAX_SECRET} chars"
        )
    if any(ch.isspace() or ch == ":" for ch in given):
        raise ApiProblem(422, "invalid_spec", f"spec.{what} must not contain ':' or whitespace")
    return text_field(given, f"spec.{what}", code="invalid_spec", max_len=MAX_SECRET, strip=False)


def _idempotency_key(request: web.Request) -> str | None:
    raw = request.headers.get("Idempotency-Key", "").strip()
    if not raw:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(raw):
        raise ApiProblem(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    return raw


async def create_client(request: web.Request) -> web.Response:
    state = control_state(request)
    key = _idempotency_key(request)
    body = await json_object(request)
    fingerprint = IdempotencyCache.fingerprint(body)
    if key is not None:
        seen = state.idempotency.get(key)
        if seen is not None:
            if seen[0] != fingerprint:
                raise ApiProblem(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different request",
                )
            return web.json_response(
                seen[2], status=seen[1], headers={"Idempotent-Replayed": "true"}
            )
    status, answer = await _register(request, state, body)
    if key is not None:
        state.idempotency.put(key, fingerprint, status, answer)
    return web.json_response(answer, status=status)


async def _register(
    request: web.Request, state: ControlState, body: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    hub_id = hub_id_for(state.hub)
    if body.get("hub_id") not in (hub_id, state.hub.node_id):
        raise ApiProblem(404, "hub_not_found", "No hub with this hub_id")
    spec = body.get("spec", {})
    if not isinstance(spec, dict):
        raise ApiProblem(422, "invalid_spec", "spec must be an object")
    kind = spec.get("connection_type", spec.get("connectionType"))
    if kind not in (None, "", "standard"):
        raise ApiProblem(
            422,
            "unsupported_connection_type",
            "The local control plane does not support this connection_type",
        )
    if body.get("active", True) is not True:
        raise ApiProblem(422, "invalid_body", "The local control plane creates active clients only")
    if body.get("name") is None:
        raise ApiProblem(422, "invalid_body", "name is required")
    name = text_field(body.get("name"), "name", max_len=MAX_NAME)
    site_id = (
        optional_text(spec.get("siteId"), "spec.siteId", max_len=MAX_NAME, code="invalid_spec")
        or optional_text(spec.get("site_id"), "spec.site_id", max_len=MAX_NAME, code="invalid_spec")
        or name
    )
    access_key = _secret(spec, ("apiKey", "api_key", "accessKey", "access_key"), "apiKey")
    password = _secret(spec, ("password",), "password")
    try:
        identity = await anyio.to_thread.run_sync(
            lambda: state.hub.register_client(
                name, site_id=site_id, access_key=access_key, password=password
            )
        )
    except ClientExistsError:
        raise ApiProblem(409, "client_exists", "A client with this access key exists") from None
    except InvalidClientError as exc:  # a rule of the registry the checks above missed
        raise ApiProblem(422, "invalid_body", str(exc)) from None
    record = state.hub.registry.get(identity.access_key)
    if record is None:  # removed again in the meantime
        raise ApiProblem(409, "client_exists", "The client was removed while being created")
    prefix = mount_prefix(request, "/clients")
    resource = client_resource(record, hub_id, state.account.user_id, prefix=prefix)
    if kind:
        resource["spec"]["connection_type"] = kind
    resource["initial_identify"] = identity.as_dict(include_secrets=True)
    resource["operation"] = state.operations.admission(resource["id"], hub_id, prefix)
    logger.info("local control plane: registered client %s (%s)", resource["id"], name)
    return 201, resource


async def delete_client(request: web.Request) -> web.Response:
    state = control_state(request)
    record = _find_client(state, request.match_info["client_id"])
    wanted = request.headers.get("If-Match")
    if wanted is not None and wanted.strip() not in ("*", client_etag(record)):
        raise ApiProblem(
            412, "precondition_failed", "The client changed (etag mismatch); read it again"
        )
    await anyio.to_thread.run_sync(state.hub.registry.remove, record.access_key)
    return web.Response(status=204)

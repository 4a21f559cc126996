"""``Idempotency-Key`` replays for the creates of the local control plane.

The first answer to a key is remembered with a fingerprint of its request; the same key and
body again answers that first result (``Idempotent-Replayed: true``) instead of creating a
second resource, and the same key with another body is a 422 (docs/protocol.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from thalovant.hub.control.app_state import control_state
from thalovant.hub.control.bodies import json_object
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import IdempotencyCache

__all__ = ["API_PREFIX", "Create", "idempotency_key", "idempotent"]

#: Where the ``/v1`` app is mounted (both the hub's HTTPS server and LocalControlPlane).
API_PREFIX = "/v1"

_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII

#: Makes the resource from the checked body: ``(status, answer)``.
Create = Callable[[web.Request, dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]


def idempotency_key(request: web.Request) -> str | None:
    """The request's ``Idempotency-Key``, ``None`` without one, a 422 when malformed."""
    raw = request.headers.get("Idempotency-Key", "").strip()
    if not raw:
        return None
    if not _KEY.fullmatch(raw):
        raise ApiProblem(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    return raw


async def idempotent(request: web.Request, scope: str, create: Create) -> web.Response:
    """Run ``create`` once per ``Idempotency-Key`` of ``scope`` (a route family)."""
    state = control_state(request)
    key = idempotency_key(request)
    body = await json_object(request)
    fingerprint = IdempotencyCache.fingerprint({"scope": scope, "path": request.path, "body": body})
    slot = None if key is None else f"{scope}\x00{key}"
    if slot is not None:
        seen = state.idempotency.get(slot)
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
    status, answer = await create(request, body)
    if slot is not None:
        state.idempotency.put(slot, fingerprint, status, answer)
    return web.json_response(answer, status=status)

"""Sign-in without a password on the local control plane: the device flow (RFC 8628) and the
native-app PKCE code exchange, approved by the signed-in account.

Device flow: ``POST /auth/device/authorize`` gives a device code and a user code; the
signed-in user reads the request (``GET /auth/device/codes/{user_code}``) and approves or
denies it (``POST .../approve`` | ``.../deny``, inferred routes); ``POST /auth/device/token``
answers ``authorization_pending`` until then, then the token (once).

Native apps: the signed-in user (the dashboard, upstream) asks ``POST /auth/native/authorize``
(inferred) for a code bound to ``client_id``, ``redirect_uri`` and an S256
``code_challenge``; ``POST /auth/native/token`` redeems it once with the verifier. Codes and
device codes are kept hashed, in memory, bounded and short-lived (docs/control-plane.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from aiohttp import web

from thalovant.hub.control.access import TOKEN
from thalovant.hub.control.app_state import control_state
from thalovant.hub.control.bodies import json_object, optional_text, text_field
from thalovant.hub.control.device_store import Grant
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.tokens import KNOWN_SCOPES, iso_time

__all__ = [
    "DEVICE_INTERVAL",
    "approve_device_code",
    "authorize_device",
    "authorize_native",
    "deny_device_code",
    "describe_device_code",
    "device_token",
    "native_token",
]

#: Seconds between device-token polls the local control plane asks for.
DEVICE_INTERVAL = 1
_DEVICE_TTL = 900.0
_CODE_TTL = 300.0
_DEFAULT_SCOPES = ("hubs:read", "clients:write")


def _scopes(value: object) -> tuple[str, ...]:
    if value is None or value == []:
        return _DEFAULT_SCOPES
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise ApiProblem(422, "invalid_scope", "scopes must be a list of strings")
    if set(items) - set(KNOWN_SCOPES):
        raise ApiProblem(422, "invalid_scope", "Unknown scope(s); known: " + " ".join(KNOWN_SCOPES))
    return tuple(dict.fromkeys(items))


def _grant_view(grant: Grant) -> dict[str, Any]:
    return {
        "user_code": grant.user_code,
        "scopes": list(grant.scopes),
        "client_name": grant.client_name,
        "client_id": grant.client_id,
        "client_verified": False,
        "device_name": grant.client_name,
        "expires_at": iso_time(grant.expires),
        "status": grant.state,
    }


async def authorize_device(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    grant = Grant(
        _scopes(body.get("scopes", body.get("scope"))),
        time.time() + _DEVICE_TTL,
        client_name=optional_text(body.get("client_name"), "client_name", max_len=128),
        client_id=optional_text(body.get("client_id"), "client_id", max_len=128),
    )
    device_code, user_code = state.device.begin(grant)
    base = f"{request.scheme}://{request.host}/device"
    return web.json_response(
        {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": base,
            "verification_uri_complete": f"{base}?user_code={user_code}",
            "interval": DEVICE_INTERVAL,
            "expires_in": int(_DEVICE_TTL),
        }
    )


async def describe_device_code(request: web.Request) -> web.Response:
    grant = control_state(request).device.by_user_code(request.match_info["user_code"])
    return web.json_response(_grant_view(grant))


async def _decide(request: web.Request, verdict: str) -> web.Response:
    grant = control_state(request).device.by_user_code(request.match_info["user_code"])
    caller = request[TOKEN]
    if not set(grant.scopes) <= set(caller.scopes):
        raise ApiProblem(403, "insufficient_scopes", "Insufficient scopes")
    if grant.state != "pending":
        raise ApiProblem(409, "device_code_decided", "This sign-in was approved or denied")
    grant.state = verdict
    return web.json_response(_grant_view(grant))


async def approve_device_code(request: web.Request) -> web.Response:
    return await _decide(request, "approved")


async def deny_device_code(request: web.Request) -> web.Response:
    return await _decide(request, "denied")


def _oauth(status: int, error: str, text: str) -> ApiProblem:
    return ApiProblem(status, error, text)


async def device_token(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    code = body.get("device_code")
    if not isinstance(code, str) or not code or len(code) > 256:
        raise ApiProblem(422, "invalid_body", "device_code is required")
    grant = state.device.by_device_code(code)
    if grant is None or grant.state == "used":
        raise _oauth(400, "invalid_grant", "Unknown device code")
    if grant.expires <= time.time():
        raise _oauth(400, "expired_token", "The device code expired")
    if grant.state == "denied":
        raise _oauth(400, "access_denied", "The sign-in was denied")
    if grant.state == "pending":
        raise _oauth(400, "authorization_pending", "Not approved yet")
    grant.state = "used"
    token, record = state.tokens.issue(grant.scopes)
    return web.json_response(record.answer(token))


async def authorize_native(request: web.Request) -> web.Response:
    state = control_state(request)
    caller = request[TOKEN]
    body = await json_object(request)
    binding = {
        key: text_field(body.get(key), key, max_len=512, strip=False)
        for key in ("client_id", "redirect_uri", "code_challenge")
    }
    if body.get("code_challenge_method", "S256") != "S256":
        raise ApiProblem(422, "invalid_request", "code_challenge_method must be S256")
    scopes = _scopes(body.get("scope", list(caller.scopes)))
    if not set(scopes) <= set(caller.scopes):
        raise ApiProblem(403, "insufficient_scopes", "Insufficient scopes")
    grant = Grant(scopes, time.time() + _CODE_TTL, binding=binding)
    code = state.device.mint_code(grant)
    answer = {"code": code, "redirect_uri": binding["redirect_uri"], "expires_in": int(_CODE_TTL)}
    if isinstance(body.get("state"), str):
        answer["state"] = body["state"][:256]
    return web.json_response(answer)


async def native_token(request: web.Request) -> web.Response:
    state = control_state(request)
    body = await json_object(request)
    fields = {}
    for key in ("code", "code_verifier", "client_id", "redirect_uri"):
        if not isinstance(body.get(key), str) or not body[key] or len(body[key]) > 512:
            raise ApiProblem(422, "invalid_body", f"{key} is required")
        fields[key] = body[key]
    grant = state.device.redeem_code(fields["code"])  # single use, whatever follows
    bad = _oauth(400, "invalid_grant", "This authorization code is not valid here")
    if grant is None or grant.expires <= time.time():
        raise bad
    verifier = fields["code_verifier"].encode("ascii", "replace")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
    expected = grant.binding["code_challenge"].encode("ascii", "replace")
    same_client = all(fields[k] == grant.binding[k] for k in ("client_id", "redirect_uri"))
    if not (hmac.compare_digest(challenge, expected) and same_client):
        raise bad
    token, record = state.tokens.issue(grant.scopes)
    return web.json_response(record.answer(token))

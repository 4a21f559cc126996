"""Sign-in on the local control plane: ``POST /auth/token``, token revocation, the profile.

The :class:`~thalovant.hub.control.account.LocalAccount` signs in with email and password and,
when two-step sign-in is on, a TOTP or recovery code (``mfa_required`` without one).
:data:`LOCKOUT_AFTER` failed sign-ins in a row lock sign-in for :data:`LOCKOUT_SECONDS`
(HTTP 429 with ``Retry-After``). Browser (device) and native-app sign-in are
:mod:`thalovant.hub.control.device` (docs/protocol.md §7).
"""

from __future__ import annotations

import re
import time

import anyio
import anyio.to_thread
from aiohttp import web

from thalovant.hub.control.access import TOKEN
from thalovant.hub.control.account import MAX_EMAIL, MAX_PASSWORD, password_text_ok
from thalovant.hub.control.app_state import ControlState, control_state
from thalovant.hub.control.bodies import json_object, optional_text, text_field
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.tokens import ALL_SCOPES, KNOWN_SCOPES

__all__ = [
    "LOCKOUT_AFTER",
    "LOCKOUT_SECONDS",
    "login",
    "profile",
    "revoke_token",
]

#: Consecutive failed sign-ins before sign-in is locked, and for how long (seconds).
LOCKOUT_AFTER, LOCKOUT_SECONDS = 10, 60.0


def _scopes(value: object) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return KNOWN_SCOPES
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise ApiProblem(422, "invalid_scope", "scope must be a space-separated string")
    unknown = sorted(set(items) - set(KNOWN_SCOPES))
    if unknown:
        named = ", ".join(unknown)[:80]
        shown = f" {named}" if re.fullmatch(r"[\x20-\x7e]*", named) else ""
        raise ApiProblem(
            422, "invalid_scope", f"Unknown scope(s){shown}; known: " + " ".join(KNOWN_SCOPES)
        )
    return tuple(dict.fromkeys(items))


async def login(request: web.Request) -> web.Response:
    state = control_state(request)
    wait = state.locked_until - time.monotonic()
    if wait > 0:
        raise ApiProblem(
            429,
            "too_many_attempts",
            "Too many failed sign-ins; try again later",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    body = await json_object(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise ApiProblem(422, "invalid_body", "email and password are required strings")
    email = text_field(email, "email", max_len=MAX_EMAIL)
    if not password_text_ok(password):  # taken as sent otherwise: spaces and all
        raise ApiProblem(
            422, "invalid_body", f"password must be text of at most {MAX_PASSWORD} characters"
        )
    scopes = _scopes(body.get("scope", body.get("scopes")))
    otp = optional_text(body.get("otp_code"), "otp_code", max_len=32)
    recovery = optional_text(body.get("recovery_code"), "recovery_code", max_len=128)
    account = state.account
    if not await anyio.to_thread.run_sync(account.check_password, email, password):
        _failed(state)
        raise ApiProblem(401, "invalid_credentials", "Invalid email or password")
    if account.two_step:
        if not otp and not recovery:
            raise ApiProblem(
                401,
                "mfa_required",
                "Two-step sign-in is on for this account: pass otp_code or recovery_code",
            )
        if not account.check_second_factor(otp, recovery):
            _failed(state)
            raise ApiProblem(401, "invalid_otp", "Invalid two-step sign-in code")
    state.failed_logins = 0
    token, record = state.tokens.issue(scopes)
    return web.json_response(record.answer(token))


def _failed(state: ControlState) -> None:
    state.failed_logins += 1
    if state.failed_logins >= LOCKOUT_AFTER:
        state.failed_logins = 0
        state.locked_until = time.monotonic() + LOCKOUT_SECONDS


async def revoke_token(request: web.Request) -> web.Response:
    caller, token_id = request[TOKEN], request.match_info["token_id"]
    # Any token may sign itself out; revoking another one takes a full-scope token, checked
    # before the lookup (an unknown id answers the same: no oracle for token ids).
    if token_id != caller.token_id and not set(ALL_SCOPES) <= set(caller.scopes):
        raise ApiProblem(403, "insufficient_scopes", "Insufficient scopes")
    if not control_state(request).tokens.revoke(token_id):
        raise ApiProblem(404, "token_not_found", "No such API token")
    return web.Response(status=204)


async def profile(request: web.Request) -> web.Response:
    return web.json_response({"data": control_state(request).account.profile()})

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
- ``GET /operations/{id}``.

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
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import anyio
import anyio.to_thread
from aiohttp import web

from thalovant.hub.control.account import MAX_EMAIL, MAX_PASSWORD, LocalAccount, password_text_ok
from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.resources import (
    IdempotencyCache,
    OperationStore,
    client_etag,
    client_id_for,
    client_resource,
    decode_cursor,
    hub_id_for,
    hub_resource,
    page,
)
from thalovant.hub.control.tokens import ALL_SCOPES, IssuedToken, TokenStore
from thalovant.hub.state.registry import (
    MAX_NAME,
    MAX_SECRET,
    ClientExistsError,
    ClientRecord,
    InvalidClientError,
)
from thalovant.hub.state.text import clean_text

__all__ = [
    "MAX_BODY",
    "MAX_JSON_DEPTH",
    "PUBLIC",
    "ROUTES",
    "SIGNED_IN",
    "Access",
    "ApiProblem",
    "ControlState",
    "Route",
    "build_control_app",
    "problem_response",
    "scoped",
]

logger = logging.getLogger("thalovant.hub.control")

#: Consecutive failed sign-ins before sign-in is locked, and for how long (seconds).
LOCKOUT_AFTER, LOCKOUT_SECONDS = 10, 60.0
#: Largest request body accepted (bytes).
MAX_BODY = 64 * 1024
#: Deepest nesting of arrays and objects accepted in a request body (the body itself is 1).
MAX_JSON_DEPTH = 32
#: Seconds a client has to send its whole request body.
BODY_SECONDS = 10.0
_MAX_LIMIT = 100
_MAX_QUERY = 256  # characters of a query filter (hub_id, owner_id)
_MAX_TOKEN = 256  # characters of a bearer token; ours are 49
_PROBLEM_TYPE = "application/problem+json"
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII
_LIMIT = re.compile(r"[0-9]{1,3}")
_JSON_TOKENS = re.compile(r'[\[\]{}"\\]')

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Access:
    """Who may call a route: anyone (``public``), any live token (no scopes), or a token
    holding at least one of ``any_of``."""

    public: bool = False
    any_of: tuple[str, ...] = ()


PUBLIC = Access(public=True)
"""No token needed."""
SIGNED_IN = Access()
"""Any live token, whatever its scopes."""


def scoped(*scopes: str) -> Access:
    """A token holding at least one of ``scopes``."""
    unknown = set(scopes) - set(ALL_SCOPES)
    if not scopes or unknown:
        raise ValueError(f"unknown or missing scopes: {sorted(unknown)}")
    return Access(any_of=scopes)


@dataclass(frozen=True)
class Route:
    """One ``/v1`` route (path relative to ``/v1``) and the access it needs."""

    method: str
    path: str
    handler: Handler
    access: Access


class ApiProblem(Exception):
    """Raised by a handler; becomes a Problem+JSON answer."""

    def __init__(
        self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The Problem+JSON answer."""
        return problem_response(self.status, self.code, self.detail, headers=self.headers)


def problem_response(
    status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """``{"type": "about:blank", "title", "status", "detail", "code"}`` as
    ``application/problem+json``."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    response = web.json_response(body, status=status, headers=headers)
    response.content_type = _PROBLEM_TYPE
    return response


@dataclass
class ControlState:
    """Everything the handlers share."""

    hub: ControlledHub
    account: LocalAccount
    tokens: TokenStore
    operations: OperationStore = field(default_factory=OperationStore)
    idempotency: IdempotencyCache = field(default_factory=IdempotencyCache)
    failed_logins: int = 0
    locked_until: float = 0.0


STATE = web.AppKey("thalovant_control_state", ControlState)


def build_control_app(
    hub: ControlledHub, account: LocalAccount, *, tokens: TokenStore | None = None
) -> web.Application:
    """The ``/v1`` application for ``hub`` and ``account`` (routes relative to ``/v1``)."""
    app = web.Application(middlewares=[_problems], client_max_size=MAX_BODY)
    app[STATE] = ControlState(hub, account, tokens if tokens is not None else TokenStore())
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _guarded(route))
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


TOKEN = web.RequestKey("thalovant_control_token", IssuedToken)
"""The caller's token record, on requests to non-public routes."""


def _guarded(route: Route) -> Handler:
    """``route.handler`` behind the check of ``route.access``."""
    access, handler = route.access, route.handler

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not access.public:
            request[TOKEN] = _authorize(request, access)
        return await handler(request)

    return guarded


# ----------------------------------------------------------------------------- plumbing


@web.middleware
async def _problems(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiProblem as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(exc.status, "http_error", HTTPStatus(exc.status).phrase)
    except Exception:
        logger.exception("local control plane: %s %s failed", request.method, request.path)
        return problem_response(500, "internal_error", "The local control plane failed")


def _state(request: web.Request) -> ControlState:
    return request.app[STATE]


def _prefix(request: web.Request, route: str) -> str:
    """Where this app is mounted (``/v1``), from the request path and the route's tail."""
    path = request.path
    return path[: -len(route)] if route and path.endswith(route) else path


def _authorize(request: web.Request, access: Access) -> IssuedToken:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiProblem(
            401,
            "not_authenticated",
            "Not authenticated: send Authorization: Bearer <token> (sign in with POST "
            "/v1/auth/token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if len(token) <= _MAX_TOKEN and _TOKEN_CHARS.fullmatch(token):
        record, reason = _state(request).tokens.check(token)
    else:  # not a token this API could have issued (and maybe not even text)
        record, reason = None, "invalid_token"
    if record is None:
        text = "Access token expired" if reason == "token_expired" else "Invalid access token"
        raise ApiProblem(401, reason, text, headers={"WWW-Authenticate": "Bearer"})
    if access.any_of and not set(access.any_of) & set(record.scopes):
        raise ApiProblem(403, "insufficient_scopes", "Insufficient scopes")
    return record


def _json_too_deep(text: str) -> bool:
    """True when arrays and objects in ``text`` nest deeper than :data:`MAX_JSON_DEPTH`.

    One pass over the brackets, quotes and backslashes (no recursion, no parsing); brackets
    inside strings do not count. Text that is not JSON may be over- or under-counted; the
    parser refuses it afterwards at no deeper a level than counted here."""
    depth, in_string, skip = 0, False, -1
    for found in _JSON_TOKENS.finditer(text):
        at = found.start()
        if at == skip:  # the character after a backslash
            continue
        ch = text[at]
        if in_string:
            if ch == "\\":
                skip = at + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


async def _read_body(request: web.Request) -> bytes:
    """The body, at most :data:`MAX_BODY` bytes (413 past it, wherever the app is mounted:
    the root app's ``client_max_size`` may be larger)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiProblem(413, "body_too_large", f"The request body exceeds {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request body: a JSON object, UTF-8 (whatever the ``charset``), at most
    :data:`MAX_BODY` bytes, sent within :data:`BODY_SECONDS`, nested at most
    :data:`MAX_JSON_DEPTH` deep."""
    if (request.content_length or 0) > MAX_BODY:
        raise ApiProblem(413, "body_too_large", f"The request body exceeds {MAX_BODY} bytes")
    with anyio.move_on_after(BODY_SECONDS) as waited:
        raw = await _read_body(request)
    if waited.cancelled_caught:
        raise ApiProblem(408, "body_timeout", "The request body was not sent in time")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(400, "invalid_json", "The request body is not UTF-8 JSON") from None
    if _json_too_deep(text):
        raise ApiProblem(
            400, "json_too_deep", f"The request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        body = json.loads(text, parse_constant=_no_constants)
    except ValueError:  # includes numbers too long to convert
        raise ApiProblem(400, "invalid_json", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiProblem(422, "invalid_body", "The request body must be a JSON object")
    return body


def _field(
    value: object, what: str, *, code: str = "invalid_body", max_len: int, **rules: Any
) -> str:
    """``value`` as stored text, else a 422 naming ``what`` (never echoing the value)."""
    try:
        return clean_text(value, what, max_len=max_len, **rules)
    except ValueError as exc:
        raise ApiProblem(422, code, str(exc)) from None


def _optional(value: object, what: str, *, max_len: int, code: str = "invalid_body") -> str | None:
    """Like :func:`_field`; ``None`` for an absent, null or blank value."""
    if value is None or (isinstance(value, str) and not value.strip(" ")):
        return None
    return _field(value, what, code=code, max_len=max_len)


def _query(request: web.Request, name: str) -> str | None:
    """A query filter (``hub_id``, ``owner_id``): ``None`` when absent or empty."""
    value = request.query.get(name)
    if not value:
        return None
    return _field(value, name, code="invalid_query", max_len=_MAX_QUERY, strip=False)


def _limit_and_offset(request: web.Request, default: int) -> tuple[int, int]:
    raw = request.query.get("limit", str(default))
    if not _LIMIT.fullmatch(raw):
        raise ApiProblem(422, "invalid_limit", "limit must be an integer") from None
    limit = int(raw)
    if not 1 <= limit <= _MAX_LIMIT:
        raise ApiProblem(422, "invalid_limit", f"limit must be between 1 and {_MAX_LIMIT}")
    offset = decode_cursor(request.query.get("cursor"))
    if offset is None:
        raise ApiProblem(422, "invalid_cursor", "cursor is not a cursor this API issued")
    return limit, offset


_PAGE_QUERY = ("hub_id", "owner_id", "include_spec")  # what the page links repeat


def _page(request: web.Request, items: list[dict[str, Any]], default: int) -> web.Response:
    limit, offset = _limit_and_offset(request, default)
    kept = {name: _query(request, name) for name in _PAGE_QUERY}
    query = {k: v for k, v in kept.items() if v is not None}
    return web.json_response(page(items, offset, limit, request.path, query))


# -------------------------------------------------------------------------------- hubs


def _hub(request: web.Request) -> dict[str, Any]:
    state = _state(request)
    return hub_resource(state.hub, state.account.user_id)


async def _list_public_hubs(request: web.Request) -> web.Response:
    return _page(request, [_hub(request)], 24)


async def _get_public_hub(request: web.Request) -> web.Response:
    hub = _hub(request)
    if request.match_info["ref"] not in (hub["id"], hub["slug"], hub["public_ref"]):
        raise ApiProblem(404, "hub_not_found", "No public hub with this reference")
    return web.json_response(hub)


async def _list_hubs(request: web.Request) -> web.Response:
    owner = _query(request, "owner_id")
    hubs = [_hub(request)]
    return _page(request, [h for h in hubs if owner in (None, "", h["owner_id"])], 100)


async def _get_hub(request: web.Request) -> web.Response:
    hub = _hub(request)
    if request.match_info["hub_id"] not in (hub["id"], hub["slug"]):
        raise ApiProblem(404, "hub_not_found", "No hub with this id")
    return web.json_response(hub)


# ----------------------------------------------------------------------------- sign-in


def _scopes(value: object) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return ALL_SCOPES
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise ApiProblem(422, "invalid_scope", "scope must be a space-separated string")
    unknown = sorted(set(items) - set(ALL_SCOPES))
    if unknown:
        named = ", ".join(unknown)[:80]
        shown = f" {named}" if re.fullmatch(r"[\x20-\x7e]*", named) else ""
        raise ApiProblem(
            422, "invalid_scope", f"Unknown scope(s){shown}; known: " + " ".join(ALL_SCOPES)
        )
    return tuple(dict.fromkeys(items))


async def _login(request: web.Request) -> web.Response:
    state = _state(request)
    wait = state.locked_until - time.monotonic()
    if wait > 0:
        raise ApiProblem(
            429,
            "too_many_attempts",
            "Too many failed sign-ins; try again later",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    body = await _json_object(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise ApiProblem(422, "invalid_body", "email and password are required strings")
    email = _field(email, "email", max_len=MAX_EMAIL)
    if not password_text_ok(password):  # taken as sent otherwise: spaces and all
        raise ApiProblem(
            422, "invalid_body", f"password must be text of at most {MAX_PASSWORD} characters"
        )
    scopes = _scopes(body.get("scope", body.get("scopes")))
    otp = _optional(body.get("otp_code"), "otp_code", max_len=32)
    recovery = _optional(body.get("recovery_code"), "recovery_code", max_len=128)
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


async def _no_device_login(request: web.Request) -> web.Response:
    raise ApiProblem(
        501,
        "not_supported",
        "Browser sign-in is not available on the local control plane; use login(email, password)",
    )


async def _revoke_token(request: web.Request) -> web.Response:
    caller, token_id = request[TOKEN], request.match_info["token_id"]
    # Any token may sign itself out; revoking another one takes a full-scope token, checked
    # before the lookup (an unknown id answers the same: no oracle for token ids).
    if token_id != caller.token_id and not set(ALL_SCOPES) <= set(caller.scopes):
        raise ApiProblem(403, "insufficient_scopes", "Insufficient scopes")
    if not _state(request).tokens.revoke(token_id):
        raise ApiProblem(404, "token_not_found", "No such API token")
    return web.Response(status=204)


async def _profile(request: web.Request) -> web.Response:
    return web.json_response({"data": _state(request).account.profile()})


# ----------------------------------------------------------------------------- clients


def _find_client(state: ControlState, client_id: str) -> ClientRecord:
    for record in state.hub.registry.records():
        if client_id_for(record.access_key) == client_id:
            return record
    raise ApiProblem(404, "client_not_found", "No client with this id")


async def _list_clients(request: web.Request) -> web.Response:
    state = _state(request)
    hub_id, owner = _query(request, "hub_id"), _query(request, "owner_id")
    spec = request.query.get("include_spec", "").lower() in ("true", "1", "yes")
    prefix = _prefix(request, "/clients")
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
    return _page(request, items, 100)


async def _get_client(request: web.Request) -> web.Response:
    state = _state(request)
    record = _find_client(state, request.match_info["client_id"])
    prefix = _prefix(request, f"/clients/{request.match_info['client_id']}")
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
    return _field(given, f"spec.{what}", code="invalid_spec", max_len=MAX_SECRET, strip=False)


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


async def _create_client(request: web.Request) -> web.Response:
    state = _state(request)
    key = _idempotency_key(request)
    body = await _json_object(request)
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
    name = _field(body.get("name"), "name", max_len=MAX_NAME)
    site_id = (
        _optional(spec.get("siteId"), "spec.siteId", max_len=MAX_NAME, code="invalid_spec")
        or _optional(spec.get("site_id"), "spec.site_id", max_len=MAX_NAME, code="invalid_spec")
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
    prefix = _prefix(request, "/clients")
    resource = client_resource(record, hub_id, state.account.user_id, prefix=prefix)
    if kind:
        resource["spec"]["connection_type"] = kind
    resource["initial_identify"] = identity.as_dict(include_secrets=True)
    resource["operation"] = state.operations.admission(resource["id"], hub_id, prefix)
    logger.info("local control plane: registered client %s (%s)", resource["id"], name)
    return 201, resource


async def _delete_client(request: web.Request) -> web.Response:
    state = _state(request)
    record = _find_client(state, request.match_info["client_id"])
    wanted = request.headers.get("If-Match")
    if wanted is not None and wanted.strip() not in ("*", client_etag(record)):
        raise ApiProblem(
            412, "precondition_failed", "The client changed (etag mismatch); read it again"
        )
    await anyio.to_thread.run_sync(state.hub.registry.remove, record.access_key)
    return web.Response(status=204)


# -------------------------------------------------------------------------- operations


async def _get_operation(request: web.Request) -> web.Response:
    found = _state(request).operations.get(request.match_info["op_id"])
    if found is None:
        raise ApiProblem(404, "operation_not_found", "No operation with this id")
    return web.json_response(found)


async def _not_found(request: web.Request) -> web.Response:
    raise ApiProblem(404, "not_found", "Not Found")


# ------------------------------------------------------------------------ the route table

ROUTES: tuple[Route, ...] = (
    Route("GET", "/public/hubs", _list_public_hubs, PUBLIC),
    Route("GET", "/public/hubs/{ref}", _get_public_hub, PUBLIC),
    Route("GET", "/hubs", _list_hubs, scoped("hubs:read")),
    Route("GET", "/hubs/{hub_id}", _get_hub, scoped("hubs:read")),
    Route("POST", "/auth/token", _login, PUBLIC),
    Route("POST", "/auth/device/authorize", _no_device_login, PUBLIC),
    Route("POST", "/auth/device/token", _no_device_login, PUBLIC),
    # Any token signs itself out; the handler asks a full-scope token to revoke another.
    Route("DELETE", "/auth/api-tokens/{token_id}", _revoke_token, SIGNED_IN),
    Route("GET", "/users/profile", _profile, SIGNED_IN),
    Route("GET", "/clients", _list_clients, scoped("clients:read")),
    Route("POST", "/clients", _create_client, scoped("clients:write")),
    Route("GET", "/clients/{client_id}", _get_client, scoped("clients:read")),
    Route("DELETE", "/clients/{client_id}", _delete_client, scoped("clients:write")),
    # The admission operation of a create: readable by who made it (clients:write).
    Route("GET", "/operations/{op_id}", _get_operation, scoped("clients:read", "clients:write")),
)
"""Every ``/v1`` route and who may call it; :func:`build_control_app` serves exactly these."""

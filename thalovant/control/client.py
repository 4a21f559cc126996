"""Asynchronous client of the Thalovant control plane (REST API ``/v1``, docs/protocol.md §7).

:class:`AsyncThalovantControlPlane` discovers hubs, signs in (password or browser device flow),
provisions client identities and waits for their admission. Every failure is a typed
:class:`~thalovant.errors.ThalovantAPIError`; messages are bounded and never carry response
bodies, tokens or client secrets.

Transport rules: redirects are never followed; requests that carry credentials go only to
``https://`` (or plain ``http://`` on ``localhost``, ``127.0.0.1``, ``::1``); API URLs with
``user:password@`` are refused; nothing is retried except by the operation pollers, which ride
out HTTP 429 and 5xx.

::

    async with AsyncThalovantControlPlane(access_token=token) as api:
        result = await api.create_client_identity(hub_id, name="kitchen")
        await api.wait_for_admission(result)
        save(result.as_dict(include_secrets=True))  # never log this one
"""

from __future__ import annotations

import inspect
import logging
import re
import secrets
import uuid
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio

from thalovant.control.http import (
    DEFAULT_CONTROL_API_URL,
    ControlHTTP,
    path_segment,
    query_params,
    text_or_none,
)
from thalovant.control.models import (
    BootstrapIdentityResult,
    DeviceAuthorization,
    DeviceLoginToken,
    OperationResource,
    bootstrap_identity,
    build_client_spec,
    clean_site_id,
    hub_data_plane,
    next_page_cursor,
    operation_of,
    settle_operation,
    unwrap_data,
)
from thalovant.errors import (
    ThalovantAdmissionTimeoutError,
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantDeviceLoginPending,
    ThalovantTimeoutError,
    ThalovantUnsupportedConnectionTypeError,
)
from thalovant.identity.model import DEFAULT_PROTOCOL_PREFERENCE

__all__ = [
    "DEFAULT_CONTROL_API_URL",
    "AsyncThalovantControlPlane",
    "BootstrapIdentityResult",
    "DeviceAuthorization",
    "DeviceLoginToken",
    "OperationResource",
]

logger = logging.getLogger("thalovant.control")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

#: A page of a list call: ``{"data": [...], "meta": {...}, "links": {...}}``.
Page = dict[str, Any]


def _scope_list(scopes: str | Sequence[str] | None) -> list[str]:
    if scopes is None:
        return []
    items = scopes.split() if isinstance(scopes, str) else [str(s).strip() for s in scopes]
    return [s for s in items if s]


def _snake_keys(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level ``camelCase`` keys → ``snake_case`` (nested objects such as ``spec`` keep
    their own spelling, which the API defines)."""
    return {_CAMEL.sub("_", str(k)).lower(): v for k, v in payload.items()}


class AsyncThalovantControlPlane(ControlHTTP):
    """Client of the Thalovant control plane REST API.

    ``api_url``: the API base (a trailing ``/`` or ``/v1`` is stripped). ``access_token``: an
    API token (``tvpat_…``); the SDK never reads one from the environment by itself.
    ``timeout``: seconds per request. ``session``: a caller-owned
    :class:`aiohttp.ClientSession`, never closed here; without one the client opens its own,
    closed by :meth:`aclose` or ``async with``. ``ssl_context``: custom CA trust (self-hosted or
    test control planes). ``sleep``/``clock``: the waiting and time functions the pollers and
    the device login use (defaults :func:`anyio.sleep`, :func:`time.monotonic`); tests inject
    fakes so nothing really waits.
    """

    # -------------------------------------------------------------------------- discovery

    async def list_public_hubs(self, limit: int = 24, cursor: str | None = None) -> Page:
        """``GET /v1/public/hubs`` without a token: ``{"data": [hub, ...], "meta": ...}``."""
        params = query_params(limit=limit, cursor=cursor)
        return await self._call("GET", "/v1/public/hubs", auth=False, params=params)

    async def get_public_hub(self, ref: str | Mapping[str, Any]) -> dict[str, Any]:
        """``GET /v1/public/hubs/{ref}``; ``ref`` is a slug, an id, a hub URL (its last path
        segment is used) or a hub card (its ``public_ref``, ``slug`` or ``id``)."""
        if isinstance(ref, Mapping):
            ref = (
                text_or_none(ref.get("public_ref"))
                or text_or_none(ref.get("slug"))
                or ref.get("id")
                or ""
            )
        text = str(ref).strip()
        if "://" in text:
            text = urlsplit(text).path.rstrip("/").rpartition("/")[2]
        path = f"/v1/public/hubs/{path_segment(text, 'hub reference')}"
        return await self._call("GET", path, auth=False)

    async def list_hubs(
        self, limit: int = 100, cursor: str | None = None, owner_id: str | None = None
    ) -> Page:
        """``GET /v1/hubs``: the signed-in workspace's hubs (each carries an ``etag``)."""
        params = query_params(limit=limit, cursor=cursor, owner_id=owner_id)
        return await self._call("GET", "/v1/hubs", params=params)

    async def get_hub(self, hub_id: str) -> dict[str, Any]:
        """``GET /v1/hubs/{id}``: ``id``, ``name``, ``slug``, ``domain``, ``etag``, ``spec``,
        ``data_plane_endpoints``."""
        return await self._call("GET", f"/v1/hubs/{path_segment(hub_id, 'hub id')}")

    async def list_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        owner_id: str | None = None,
        include_spec: bool | None = None,
    ) -> Page:
        """``GET /v1/clients``, optionally filtered by hub or owner."""
        params = query_params(
            hub_id=hub_id, limit=limit, cursor=cursor, owner_id=owner_id, include_spec=include_spec
        )
        return await self._call("GET", "/v1/clients", params=params)

    async def get_client(self, client_id: str) -> dict[str, Any]:
        """``GET /v1/clients/{id}`` (secrets appear only as ``*Ref`` references)."""
        return await self._call("GET", f"/v1/clients/{path_segment(client_id, 'client id')}")

    async def _pages(
        self, fetch: Callable[[str | None], Awaitable[Page]]
    ) -> AsyncIterator[dict[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await fetch(cursor)
            items = page.get("data")
            for item in items if isinstance(items, list) else ():
                if isinstance(item, Mapping):
                    yield dict(item)
            cursor = next_page_cursor(page)
            if cursor is None or cursor in seen:
                return
            seen.add(cursor)

    def iter_public_hubs(self, limit: int = 24) -> AsyncIterator[dict[str, Any]]:
        """Every public hub, page by page (``limit`` per request), following the next cursor
        from ``next_cursor``, ``meta.next`` or ``links.next`` (only its ``cursor`` is used)."""
        return self._pages(lambda cursor: self.list_public_hubs(limit, cursor))

    def iter_hubs(
        self, limit: int = 100, owner_id: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every hub of the workspace, page by page (see :meth:`iter_public_hubs`)."""
        return self._pages(lambda cursor: self.list_hubs(limit, cursor, owner_id))

    def iter_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        owner_id: str | None = None,
        include_spec: bool | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every client (optionally of one hub), page by page (see :meth:`iter_public_hubs`)."""
        return self._pages(
            lambda cursor: self.list_clients(hub_id, limit, cursor, owner_id, include_spec)
        )

    # ---------------------------------------------------------------------------- sign-in

    def _store_token(self, access_token: object, token_id: object) -> None:
        token = text_or_none(access_token)
        if token:
            self._access_token = token
            self._token_id = text_or_none(token_id)

    async def login(
        self,
        email: str,
        password: str,
        scope: str | Sequence[str] | None = None,
        otp_code: str | None = None,
        recovery_code: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/auth/token`` with email and password; stores the returned token.

        Accounts with two-step sign-in pass a TOTP ``otp_code`` or a single-use
        ``recovery_code``; without one the API answers ``mfa_required``.
        """
        body: dict[str, Any] = {"email": email, "password": password}
        scopes = _scope_list(scope)
        if scopes:
            body["scope"] = " ".join(scopes)
        if otp_code:
            body["otp_code"] = otp_code
        if recovery_code:
            body["recovery_code"] = recovery_code
        answer = await self._call(
            "POST",
            "/v1/auth/token",
            auth=False,
            credential=True,
            body=body,
            secrets=(password, otp_code, recovery_code),
        )
        self._store_token(answer.get("access_token"), answer.get("token_id"))
        return answer

    async def begin_device_login(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        client_id: str | None = None,
    ) -> DeviceAuthorization:
        """``POST /v1/auth/device/authorize``: start a browser sign-in (RFC 8628). The server
        picks default scopes (``hubs:read``, ``clients:write``) when none are given."""
        body: dict[str, Any] = {}
        if scope_list := _scope_list(scopes):
            body["scopes"] = scope_list
        if client_name:
            body["client_name"] = client_name
        if client_id:
            body["client_id"] = client_id
        answer = await self._call(
            "POST", "/v1/auth/device/authorize", auth=False, credential=True, body=body
        )
        return DeviceAuthorization.from_mapping(answer)

    async def poll_device_login(
        self, device_code: str | DeviceAuthorization, *, interval: float | None = None
    ) -> DeviceLoginToken:
        """``POST /v1/auth/device/token`` once; stores and returns the token when approved.

        Raises :class:`~thalovant.errors.ThalovantDeviceLoginPending` (poll again after its
        ``interval``; ``slow_down`` adds 5 s to the ``interval`` you pass),
        :class:`~thalovant.errors.ThalovantDeviceLoginExpired` or
        :class:`~thalovant.errors.ThalovantDeviceLoginDenied`.
        """
        if isinstance(device_code, DeviceAuthorization):
            interval = device_code.interval if interval is None else interval
            device_code = device_code.device_code
        answer = await self._call(
            "POST",
            "/v1/auth/device/token",
            auth=False,
            credential=True,
            body={"device_code": device_code},
            device=True,
            device_interval=interval,
            secrets=(device_code,),
        )
        token = DeviceLoginToken.from_mapping(answer)
        self._store_token(token.access_token, token.token_id)
        return token

    async def login_with_browser(
        self,
        scopes: str | Sequence[str] | None = None,
        client_name: str | None = None,
        open_browser: bool = True,
        prompt: Callable[[str], Any] | None = None,
        timeout: float = 900.0,  # noqa: ASYNC109 (a deadline for the whole flow, documented API)
    ) -> DeviceLoginToken:
        """Sign in through the browser: show the code and ``verification_uri`` (through
        ``prompt``, else ``print``), optionally open ``verification_uri_complete`` (failures
        ignored), then poll at the server's interval (+5 s per ``slow_down``) until approved.

        Raises :class:`~thalovant.errors.ThalovantDeviceLoginDenied` /
        :class:`~thalovant.errors.ThalovantDeviceLoginExpired`, or
        :class:`~thalovant.errors.ThalovantTimeoutError` after ``timeout`` seconds.
        """
        deadline = self._clock() + timeout
        grant = await self.begin_device_login(scopes, client_name)
        message = (
            f"To sign in to Thalovant, open {grant.verification_uri} "
            f"and enter the code {grant.user_code}"
        )
        shown = (prompt or print)(message)
        if inspect.isawaitable(shown):
            await shown
        if open_browser:
            await _open_in_browser(grant.verification_uri_complete or grant.verification_uri)
        interval = grant.interval
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ThalovantTimeoutError(
                    f"Browser sign-in was not approved within {timeout:g} s"
                )
            await self._sleep(min(interval, remaining))
            try:
                return await self.poll_device_login(grant.device_code, interval=interval)
            except ThalovantDeviceLoginPending as exc:
                interval = exc.interval

    async def revoke_api_token(self, token_id: str) -> None:
        """``DELETE /v1/auth/api-tokens/{id}``. Revoking the token this client signed in with
        clears it here, and the 401 the API may answer for that self-revocation is success."""
        ours = self._token_id is not None and token_id == self._token_id
        try:
            await self._call("DELETE", f"/v1/auth/api-tokens/{path_segment(token_id, 'token id')}")
        except ThalovantAuthError as exc:
            if not (ours and exc.status_code == 401):
                raise
        if ours:
            self._access_token = self._token_id = None

    async def get_profile(self) -> dict[str, Any]:
        """``GET /v1/users/profile``, unwrapped: ``{id, email, display_name, role}``."""
        answer = await self._call("GET", "/v1/users/profile")
        data = answer.get("data")
        return dict(data) if isinstance(data, Mapping) else answer

    # ------------------------------------------------------------------- client identities

    async def create_client(
        self, payload: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/clients`` with an ``Idempotency-Key`` (a fresh uuid4 unless given; reuse
        it when you retry). Top-level ``camelCase`` keys are sent as ``snake_case``."""
        body = _snake_keys(payload)
        spec = body.get("spec") if isinstance(body.get("spec"), Mapping) else {}
        assert isinstance(spec, Mapping)
        kind = text_or_none(spec.get("connection_type") or spec.get("connectionType"))
        known = [v for k, v in spec.items() if k in ("apiKey", "password", "api_key", "cryptoKey")]
        return await self._call(
            "POST",
            "/v1/clients",
            body=body,
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            connection_type=kind,
            secrets=[v for v in known if isinstance(v, str)],
        )

    async def create_client_identity(
        self,
        hub: str | Mapping[str, Any],
        name: str | None = None,
        *,
        site_id: str | None = None,
        spec: Mapping[str, Any] | None = None,
        owner_id: str | None = None,
        active: bool = True,
        preferred_protocols: Sequence[str] = DEFAULT_PROTOCOL_PREFERENCE,
        idempotency_key: str | None = None,
        connection_type: str | None = None,
    ) -> BootstrapIdentityResult:
        """Create a client on ``hub`` (an id, fetched first, or a hub mapping) and return its
        ready-to-save identity.

        The access key and password are minted here (``secrets.token_urlsafe(32)``) and sent
        once; the API keeps them in its vault. The identity is the API's ``initial_identify``
        with the hub's endpoints and protocol flags overlaid, or, without one, built from the
        minted secrets and the hub's address (port 443). The site id defaults to ``spec``'s
        ``siteId``, then ``name``; ``_`` and whitespace become ``-``. With ``connection_type``
        the API must echo that kind, else the new client is deleted and
        :class:`~thalovant.errors.ThalovantUnsupportedConnectionTypeError` raised. The client
        is refused by its hub until admitted: see :meth:`wait_for_admission`.
        """
        hub_obj = unwrap_data(await self.get_hub(hub) if isinstance(hub, str) else hub)
        hub_id = text_or_none(hub_obj.get("id"))
        if not hub_id:
            raise ThalovantAPIError("The hub resource has no id; pass a hub id or a hub object")
        plane = hub_data_plane(hub_obj)
        given = dict(spec or {})
        kind = text_or_none(connection_type) or text_or_none(
            given.get("connection_type") or given.get("connectionType")
        )
        site = clean_site_id(
            site_id
            if site_id is not None
            else (given.get("siteId") or given.get("site_id") or name)
        )
        api_key, password = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        body: dict[str, Any] = {
            "hub_id": hub_id,
            "name": name or site,
            "spec": build_client_spec(
                given, api_key=api_key, password=password, site_id=site, connection_type=kind
            ),
            "active": bool(active),
        }
        if owner_id:
            body["owner_id"] = owner_id
        minted = (api_key, password)
        answer = await self._call(
            "POST",
            "/v1/clients",
            body=body,
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            connection_type=kind,
            secrets=minted,
        )
        resource = unwrap_data(answer)
        client_id = text_or_none(resource.get("id"))
        echoed_spec = resource.get("spec") if isinstance(resource.get("spec"), Mapping) else {}
        assert isinstance(echoed_spec, Mapping)
        echoed = text_or_none(
            echoed_spec.get("connection_type") or echoed_spec.get("connectionType")
        )
        if kind and echoed != kind:
            note = await self._discard(client_id, resource)
            raise ThalovantUnsupportedConnectionTypeError(
                f"The control plane does not support connection_type {kind!r} (it created a "
                f"{echoed or 'plain'} client); {note}",
                code="connection_type_mismatch",
            )
        identity = bootstrap_identity(resource, plane, preferred_protocols, site, minted)
        if identity is None:
            note = await self._discard(client_id, resource)
            raise ThalovantAPIError(
                "The hub has no data-plane address (no endpoint or domain) and the API "
                f"returned no initial_identify; {note}"
            )
        op = resource.get("operation")
        return BootstrapIdentityResult(
            identity=identity,
            client=answer,
            operation=OperationResource.from_mapping(op) if isinstance(op, Mapping) else None,
            client_id=client_id,
            connection_type=echoed or kind,
            secrets=minted,
        )

    async def _discard(self, client_id: str | None, resource: Mapping[str, Any]) -> str:
        if not client_id:
            return "the API named no client id to delete"
        try:
            await self.delete_client(client_id, etag=text_or_none(resource.get("etag")))
        except ThalovantAPIError as exc:
            logger.warning("Could not delete client %s: %s", client_id, exc)
            return f"deleting the new client {client_id} failed; delete it by hand"
        return f"the new client {client_id} was deleted"

    async def delete_client(self, client_id: str, etag: str | None = None) -> bool:
        """``DELETE /v1/clients/{id}`` with ``If-Match: <etag>`` when known. On 412 (or 428)
        the etag is re-read once and the delete retried. Returns ``False`` when the client was
        already gone (404), ``True`` when this call deleted it."""
        path = f"/v1/clients/{path_segment(client_id, 'client id')}"
        try:
            await self._call("DELETE", path, headers={"If-Match": etag} if etag else None)
            return True
        except ThalovantAPIError as exc:
            if exc.status_code == 404:
                return False
            if exc.status_code not in (412, 428):
                raise
        try:
            fresh = text_or_none(unwrap_data(await self.get_client(client_id)).get("etag"))
            await self._call("DELETE", path, headers={"If-Match": fresh} if fresh else None)
        except ThalovantAPIError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------------------- operations

    async def get_operation(self, operation_id: str) -> OperationResource:
        """``GET /v1/operations/{id}``."""
        path = f"/v1/operations/{path_segment(operation_id, 'operation id')}"
        return OperationResource.from_mapping(await self._call("GET", path))

    async def _poll(
        self,
        target: object,
        *,
        timeout: float,  # noqa: ASYNC109
        interval: float,
        admission: bool,
    ) -> OperationResource | None:
        current = operation_of(target)
        if current is not None and current.is_terminal:
            return settle_operation(current, admission)
        op_id = current.id if current else (target if isinstance(target, str) else None)
        url = self._operation_url(op_id, current.self_link if current else None)
        if url is None:
            if admission:
                return current  # no operation to wait for: admitted at creation
            raise ThalovantAPIError("Nothing to wait for: no operation id or link")
        deadline = self._clock() + timeout
        while True:
            last: ThalovantAPIError | None = None
            try:
                current = OperationResource.from_mapping(await self._call("GET", url))
            except ThalovantAPIError as exc:
                if admission and exc.status_code == 404:
                    return current  # the operation is gone: admitted
                status = exc.status_code
                unreachable = isinstance(exc, ThalovantAPIUnreachableError)
                if not (status == 429 or unreachable or (status is not None and status >= 500)):
                    raise
                last = exc
                delay = interval if exc.retry_after_seconds is None else exc.retry_after_seconds
            else:
                if current.is_terminal:
                    return settle_operation(current, admission)
                delay = interval
            remaining = deadline - self._clock()
            if remaining <= 0:
                state = current.status if current else "unknown"
                what = "Client was not admitted" if admission else "Operation did not finish"
                error_type = ThalovantAdmissionTimeoutError if admission else ThalovantTimeoutError
                raise error_type(f"{what} within {timeout:g} s (last status: {state})") from last
            await self._sleep(min(max(delay, 0.0), remaining))

    async def wait_for_operation(
        self,
        operation: str | OperationResource | Mapping[str, Any],
        timeout: float = 120.0,  # noqa: ASYNC109 (polling budget, documented API)
        interval: float = 2.0,
    ) -> OperationResource:
        """Poll an operation every ``interval`` seconds until ``ready``, ``failed`` or
        ``timed_out``, riding out 429 (waiting as told) and 5xx; returns the final resource
        (check :attr:`OperationResource.is_ready` or call
        :meth:`~OperationResource.raise_for_failure`). Raises
        :class:`~thalovant.errors.ThalovantTimeoutError` after ``timeout`` seconds."""
        result = await self._poll(operation, timeout=timeout, interval=interval, admission=False)
        assert result is not None
        return result

    async def wait_for_admission(
        self,
        result: BootstrapIdentityResult | OperationResource | Mapping[str, Any] | str | None,
        timeout: float = 180.0,  # noqa: ASYNC109 (polling budget, documented API)
        *,
        interval: float = 2.0,
    ) -> OperationResource | None:
        """Wait until a new client is admitted by its hub (about 90 s after creation).

        Polls the admission operation through ``links.self`` when that is on the API's origin
        (a foreign ``links.self`` is never fetched), else ``/v1/operations/{id}``. ``ready`` →
        admitted; ``failed``/``timed_out`` →
        :class:`~thalovant.errors.ThalovantAdmissionFailedError`; a 404 or no operation →
        admitted now; 5xx and 429 (after its ``Retry-After``) → keep polling; past ``timeout``
        → :class:`~thalovant.errors.ThalovantAdmissionTimeoutError`.
        """
        return await self._poll(result, timeout=timeout, interval=interval, admission=True)


async def _open_in_browser(url: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        return  # never hand the OS a file:, javascript: or custom-scheme URL from a server
    try:
        await anyio.to_thread.run_sync(webbrowser.open, url)
    except Exception as exc:  # a missing or broken browser must not fail the sign-in
        logger.debug("Could not open a browser: %s", type(exc).__name__)

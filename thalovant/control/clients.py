"""The client endpoints of the control plane (docs/protocol.md §7): list, read, create and
delete client identities, and provision a ready-to-save identity in one call."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from thalovant.control.http import path_segment, query_params
from thalovant.control.hubs import HubEndpoints
from thalovant.control.models import BootstrapIdentityResult, OperationResource, unwrap_data
from thalovant.control.pages import Page, iter_pages
from thalovant.control.provisioning import (
    bootstrap_identity,
    build_client_spec,
    clean_site_id,
    hub_data_plane,
)
from thalovant.control.values import text_or_none
from thalovant.errors import ThalovantAPIError, ThalovantUnsupportedConnectionTypeError
from thalovant.identity.endpoints import DEFAULT_PROTOCOL_PREFERENCE, SelectedHubEndpoint
from thalovant.identity.model import ThalovantIdentity
from thalovant.identity.parse import canonical_protocol

__all__ = ["ClientEndpoints"]

logger = logging.getLogger("thalovant.control")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _snake_keys(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level ``camelCase`` keys → ``snake_case`` (nested objects such as ``spec`` keep
    their own spelling, which the API defines)."""
    return {_CAMEL.sub("_", str(k)).lower(): v for k, v in payload.items()}


class ClientEndpoints(HubEndpoints):
    """The client family: ``/v1/clients``.

    One part of :class:`~thalovant.control.client.AsyncThalovantControlPlane`; it reads hubs
    through :class:`~thalovant.control.hubs.HubEndpoints`.
    """

    async def list_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        owner_id: str | None = None,
        include_spec: bool = True,
    ) -> Page:
        """``GET /v1/clients``: one page of clients, optionally filtered by hub or owner.

        Args:
            hub_id: Only the clients of this hub.
            limit: Clients per page.
            cursor: The cursor of the page to read (``None`` for the first one).
            owner_id: Only the clients of this owner.
            include_spec: Ask for each client's ``spec`` too (``False``: leave it out).

        Returns:
            ``{"data": [client, ...], "meta": ..., "links": ...}``.

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: The request failed otherwise.
        """
        params = query_params(
            hub_id=hub_id, limit=limit, cursor=cursor, owner_id=owner_id, include_spec=include_spec
        )
        return await self._call("GET", "/v1/clients", params=params, retry=True)

    async def get_client(self, client_id: str) -> dict[str, Any]:
        """``GET /v1/clients/{id}``: one client (secrets appear only as ``*Ref`` references).

        Args:
            client_id: The client's id.

        Returns:
            The client resource.

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: ``client_id`` is empty, or the request failed (404: no such
                client).
        """
        return await self._call(
            "GET", f"/v1/clients/{path_segment(client_id, 'client id')}", retry=True
        )

    def iter_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        owner_id: str | None = None,
        include_spec: bool = True,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every client (optionally of one hub), page by page.

        Pages are followed as in :meth:`~thalovant.control.hubs.HubEndpoints.iter_public_hubs`.

        Args:
            hub_id: Only the clients of this hub.
            limit: Clients per request.
            owner_id: Only the clients of this owner.
            include_spec: Ask for each client's ``spec`` too (``False``: leave it out).

        Returns:
            An async iterator of clients (it raises what :meth:`list_clients` raises).
        """
        return iter_pages(
            lambda cursor: self.list_clients(hub_id, limit, cursor, owner_id, include_spec)
        )

    async def create_client(
        self, payload: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/clients`` with a caller-made body.

        :meth:`create_client_identity` is the usual way to create a client. Top-level
        ``camelCase`` keys are sent as ``snake_case``; secrets in the ``spec`` are scrubbed
        from any error message.

        Args:
            payload: The client resource to create.
            idempotency_key: The ``Idempotency-Key`` header: a fresh uuid4 unless given; reuse
                it when you retry.

        Returns:
            The API's answer (the new client resource).

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantUnsupportedConnectionTypeError: The API refused the ``connection_type``.
            ThalovantAPIError: The request failed otherwise.
        """
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
        """Create a client on a hub and return its ready-to-save identity.

        The access key and password are minted here (``secrets.token_urlsafe(32)``) and sent
        once; the API keeps them in its vault. The identity is the API's ``initial_identify``
        with the hub's endpoints and protocol flags overlaid, or, without one, built from the
        minted secrets and the hub's address (port 443). The client is refused by its hub
        until admitted: see
        :meth:`~thalovant.control.operations.OperationEndpoints.wait_for_admission`.

        Args:
            hub: A hub id (the hub is fetched first) or a hub resource.
            name: The client's name (default: the site id).
            site_id: The site id; defaults to ``spec``'s ``siteId``, then ``name``. ``_`` and
                whitespace become ``-``; empty gives ``thalovant-client-<8 hex>``.
            spec: Extra ``spec`` entries (its credential and site-id spellings are replaced).
            owner_id: The owner of the new client.
            active: Whether the client starts active.
            preferred_protocols: The protocol order used to choose ``default_master`` when
                the identity is built without ``initial_identify``.
            idempotency_key: The ``Idempotency-Key`` header (a fresh uuid4 unless given).
            connection_type: A client kind the API must echo.

        Returns:
            The identity, the raw client resource, its admission operation and id.

        Raises:
            ThalovantUnsupportedConnectionTypeError: The API did not echo ``connection_type``
                (the new client is deleted first).
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: The hub has no id or no data-plane address (the new client is
                deleted), or a request failed.
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
            identity,
            hub_obj,
            answer,
            _selected_endpoint(identity, preferred_protocols),
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
        """``DELETE /v1/clients/{id}``, with ``If-Match: <etag>`` when known.

        On 412 (or 428) the etag is re-read once and the delete retried.

        Args:
            client_id: The client's id.
            etag: The client's ``etag``, for ``If-Match``.

        Returns:
            ``True`` when this call deleted the client, ``False`` when it was already gone
            (404).

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: ``client_id`` is empty, or the request failed otherwise.
        """
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


def _selected_endpoint(
    identity: ThalovantIdentity, preferred: Sequence[str]
) -> SelectedHubEndpoint | None:
    """The first preferred protocol the new identity has enabled and an endpoint for."""
    for name in (preferred,) if isinstance(preferred, str) else preferred:
        protocol = canonical_protocol(name)
        url = identity.endpoint_for(protocol) if identity.supports_protocol(protocol) else None
        if url:
            return SelectedHubEndpoint(protocol, url)
    return None

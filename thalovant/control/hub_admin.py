"""Hub management on the control plane (docs/control-plane.md): create, update, delete,
release and rate hubs, read their runtime capabilities, and check a new identity's protocol.

Creates send an ``Idempotency-Key`` (a fresh uuid4 unless given) and are retried with it on
429/5xx; updates and deletes send ``If-Match: <etag>`` (a stale etag is HTTP 412).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from thalovant.control.http import ControlHTTP, path_segment
from thalovant.control.models import BootstrapIdentityResult
from thalovant.control.values import snake_keys, text_or_none
from thalovant.errors import ThalovantAPIError, ThalovantUnsupportedProtocolError
from thalovant.identity.endpoints import DEFAULT_PROTOCOL_PREFERENCE, select_data_plane_endpoint

__all__ = ["HubAdminEndpoints", "release_body"]


def release_body(
    channel: str | None,
    mode: str | None,
    version: str | None,
    images: Mapping[str, str] | None,
    reason: str | None,
) -> dict[str, Any]:
    """The body of a release request, without the fields left out."""
    given = {"channel": channel, "mode": mode, "version": version, "reason": reason}
    body: dict[str, Any] = {k: v for k, v in given.items() if text_or_none(v)}
    if images:
        body["images"] = {str(k): str(v) for k, v in images.items()}
    return body


def _hub_path(hub_id: str, tail: str = "") -> str:
    return f"/v1/hubs/{path_segment(hub_id, 'hub id')}{tail}"


class HubAdminEndpoints(ControlHTTP):
    """Writes on ``/v1/hubs``; part of
    :class:`~thalovant.control.client.AsyncThalovantControlPlane`."""

    async def create_hub(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/hubs``: create a hub (``camelCase`` keys are sent as ``snake_case``).

        Args:
            payload: The hub to create (``name``, ``title``, ``description``, ...).
            idempotency_key: The ``Idempotency-Key`` (a fresh uuid4 unless given); a retry
                with the same key answers the first result instead of a second hub.

        Returns:
            The new hub resource (with its ``etag``).

        Raises:
            ThalovantAuthError: No token, or it lacks ``hubs:write``.
            ThalovantPlanError: The plan allows no more hubs.
            ThalovantAPIError: The request failed otherwise (409: the slug is taken).
        """
        return await self._call(
            "POST",
            "/v1/hubs",
            body=snake_keys(payload),
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            retry=True,
        )

    async def update_hub(
        self, hub_id: str, payload: Mapping[str, Any], *, etag: str
    ) -> dict[str, Any]:
        """``PATCH /v1/hubs/{id}`` with ``If-Match: <etag>``.

        Args:
            hub_id: The hub's id.
            payload: The fields to change.
            etag: The hub's ``etag`` as last read.

        Returns:
            The updated hub (with its new ``etag``).

        Raises:
            ThalovantAPIError: 412 when the hub changed since ``etag`` was read (read it
                again), 404 when there is no such hub, or another failure.
        """
        return await self._call(
            "PATCH", _hub_path(hub_id), body=snake_keys(payload), headers={"If-Match": etag}
        )

    async def delete_hub(self, hub_id: str, *, etag: str) -> None:
        """``DELETE /v1/hubs/{id}`` with ``If-Match: <etag>``.

        Args:
            hub_id: The hub's id.
            etag: The hub's ``etag`` as last read.

        Raises:
            ThalovantAPIError: 412 on a stale ``etag``, 409 when the hub cannot be deleted
                (the local control plane's own hub), 404 when there is none.
        """
        await self._call("DELETE", _hub_path(hub_id), headers={"If-Match": etag})

    async def release_hub(
        self,
        hub_id: str,
        *,
        channel: str | None = None,
        mode: str | None = None,
        version: str | None = None,
        images: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/hubs/{id}/release``: roll the hub's runtime out again.

        Args:
            hub_id: The hub's id.
            channel: The release channel (``stable``, ``beta``, ...).
            mode: How to roll out (``rolling``, ``recreate``, ...).
            version: The runtime version to release.
            images: Container images by component.
            reason: Why (kept in the history).

        Returns:
            The release, with its ``operation`` (wait for it with
            :meth:`~thalovant.control.operations.OperationEndpoints.wait_for_operation`).

        Raises:
            ThalovantAPIError: The request failed.
        """
        body = release_body(channel, mode, version, images, reason)
        return await self._call("POST", _hub_path(hub_id, "/release"), body=body)

    async def set_hub_rating(self, hub_id: str, rating: int) -> dict[str, Any]:
        """``PUT /v1/hubs/{id}/rating``: rate a hub from 1 to 5 (replaces your rating).

        Args:
            hub_id: The hub's id.
            rating: 1 to 5.

        Returns:
            ``{hub_id, rating, average, count}``.

        Raises:
            ThalovantAPIError: 422 for a rating out of range, or another failure.
        """
        if isinstance(rating, bool) or not isinstance(rating, int):
            raise ThalovantAPIError("Thalovant API request could not be formed: rating is an int")
        path = _hub_path(hub_id, "/rating")
        return await self._call("PUT", path, body={"rating": rating}, retry=True)

    async def clear_hub_rating(self, hub_id: str) -> dict[str, Any]:
        """``DELETE /v1/hubs/{id}/rating``: take your rating back.

        Args:
            hub_id: The hub's id.

        Returns:
            ``{hub_id, rating: null, average, count}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        return await self._call("DELETE", _hub_path(hub_id, "/rating"), retry=True)

    async def get_hub_runtime_capabilities(self, hub_id: str) -> dict[str, Any]:
        """``GET /v1/hubs/{id}/runtime-capabilities`` (scope ``hubs:inspect``).

        Branch on the answer's ``source`` (``local-hub`` here: observed from the running
        hub).

        Args:
            hub_id: The hub's id.

        Returns:
            ``{hub_id, source, observed_at, protocols, languages, skills, intents, ...}``.

        Raises:
            ThalovantAuthError: No token, or it lacks ``hubs:inspect``.
            ThalovantAPIError: The request failed otherwise.
        """
        return await self._call("GET", _hub_path(hub_id, "/runtime-capabilities"), retry=True)

    def require_runtime_protocol(
        self, result: BootstrapIdentityResult, *, protocol: str | None = None
    ) -> tuple[str, str]:
        """The data-plane endpoint a new identity will use, or a clear error now.

        No request is made.

        Args:
            result: What ``create_client_identity`` returned.
            protocol: Require this protocol (``wss``, ``https``, ``mqtt``); ``None``: the
                first usable one in the default order.

        Returns:
            The selected endpoint (protocol and URL).

        Raises:
            ThalovantUnsupportedProtocolError: The hub offers no usable endpoint (for
                ``protocol``).
        """
        identity = result.identity
        order = (protocol,) if protocol else DEFAULT_PROTOCOL_PREFERENCE
        found = select_data_plane_endpoint(identity.data_plane_endpoints, identity.protocols, order)
        if found is None:
            wanted = f"protocol {protocol!r}" if protocol else "protocol"
            raise ThalovantUnsupportedProtocolError(
                f"The hub offers no usable {wanted} endpoint for this identity "
                f"(enabled: {', '.join(identity.enabled_protocols()) or 'none'})"
            )
        return found

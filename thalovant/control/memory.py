"""Memory items, the analytics overview, and the sign-in steps a host app drives itself
(docs/control-plane.md).

Memory items are what the hub's skills may know about the user (they reach skills through
the skill context). Lists page by ``limit``/``offset``; :meth:`MemoryEndpoints.iter_memory_items`
walks them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from thalovant.control.http import ControlHTTP, path_segment, query_params
from thalovant.control.skill_models import DeviceLoginRequest
from thalovant.control.values import snake_keys, text_or_none

__all__ = ["MemoryEndpoints"]

_PAGE = 100


def _memory_path(memory_id: str) -> str:
    return f"/v1/memory/{path_segment(memory_id, 'memory id')}"


class MemoryEndpoints(ControlHTTP):
    """``/v1/memory``, ``/v1/analytics``, ``/v1/auth/device/codes`` and
    ``/v1/auth/native/token``; part of
    :class:`~thalovant.control.client.AsyncThalovantControlPlane`."""

    async def list_memory_items(
        self,
        *,
        scope: str | None = None,
        kind: str | None = None,
        owner_id: str | None = None,
        hub_id: str | None = None,
        query: str | None = None,
        include_deleted: bool = False,
        include_expired: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/memory``: one page of memory items.

        Args:
            scope: Only this scope (``user``, ``hub``, ...).
            kind: Only this kind (``fact``, ``preference``, ...).
            owner_id: Only this owner's items.
            hub_id: Only the items for this hub (and those for every hub).
            query: Only items whose content contains this text.
            include_deleted: Include deleted items.
            include_expired: Include expired items.
            limit: Items per page.
            offset: Items to skip.

        Returns:
            ``{"data": [item, ...], "meta": {"count", "total", "offset", "limit"}}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(
            scope=scope,
            kind=kind,
            owner_id=owner_id,
            hub_id=hub_id,
            query=query,
            include_deleted=include_deleted,
            include_expired=include_expired,
            limit=limit,
            offset=offset,
        )
        return await self._call("GET", "/v1/memory", params=params, retry=True)

    async def iter_memory_items(
        self, *, limit: int = _PAGE, **filters: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Every memory item matching ``filters`` (those of :meth:`list_memory_items`),
        page by page.

        Args:
            limit: Items per request.
            **filters: ``scope``, ``kind``, ``owner_id``, ``hub_id``, ``query``,
                ``include_deleted``, ``include_expired``.

        Yields:
            Each item.
        """
        offset = 0
        while True:
            page = await self.list_memory_items(limit=limit, offset=offset, **filters)
            items = page.get("data")
            items = [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []
            for item in items:
                yield dict(item)
            if len(items) < limit:
                return
            offset += len(items)

    async def get_memory_item(self, memory_id: str) -> dict[str, Any]:
        """``GET /v1/memory/{id}``.

        Args:
            memory_id: The item's id.

        Returns:
            The item (with its ``etag``).

        Raises:
            ThalovantAPIError: 404 when there is none.
        """
        return await self._call("GET", _memory_path(memory_id), retry=True)

    async def create_memory_item(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/memory`` with an ``Idempotency-Key``.

        Args:
            payload: ``content`` and optional ``kind``, ``scope``, ``hub_id``,
                ``expires_at``, ``metadata``.
            idempotency_key: The key (a fresh uuid4 unless given).

        Returns:
            The new item.

        Raises:
            ThalovantAPIError: 422 for a bad body, or another failure.
        """
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return await self._call(
            "POST", "/v1/memory", body=snake_keys(payload), headers=headers, retry=True
        )

    async def update_memory_item(
        self, memory_id: str, payload: Mapping[str, Any], *, etag: str | None = None
    ) -> dict[str, Any]:
        """``PATCH /v1/memory/{id}``.

        Args:
            memory_id: The item's id.
            payload: The fields to change.
            etag: Sent as ``If-Match`` (412 when the item changed meanwhile).

        Returns:
            The updated item.

        Raises:
            ThalovantAPIError: 404, 412 or 422.
        """
        headers = {"If-Match": etag} if etag else None
        return await self._call(
            "PATCH", _memory_path(memory_id), body=snake_keys(payload), headers=headers
        )

    async def delete_memory_item(self, memory_id: str) -> None:
        """``DELETE /v1/memory/{id}`` (skills stop seeing it at once).

        Args:
            memory_id: The item's id.

        Raises:
            ThalovantAPIError: 404 when there is none.
        """
        await self._call("DELETE", _memory_path(memory_id), retry=True)

    async def get_memory_summary(self, *, owner_id: str | None = None) -> dict[str, Any]:
        """``GET /v1/memory/summary``: counts by kind and scope.

        Args:
            owner_id: Only this owner's items.

        Returns:
            ``{"total", "by_kind", "by_scope", "deleted", "expired"}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(owner_id=owner_id)
        return await self._call("GET", "/v1/memory/summary", params=params, retry=True)

    async def get_analytics_overview(
        self,
        *,
        range: str | None = None,
        bucket: str | None = None,
        hub_id: str | None = None,
        client_id: str | None = None,
        country: str | None = None,
        message: str | None = None,
        utterance: str | None = None,
        intent: str | None = None,
        time_start: str | None = None,
        time_end: str | None = None,
        weekday: int | None = None,
        hour: int | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/analytics/overview``: request counts, answered and unmatched, by skill.

        Args:
            range: ``24h``, ``7d``, ``30d``, ...
            bucket: ``hour`` or ``day``.
            hub_id: Only this hub.
            client_id: Only this client.
            country: Only this country.
            message: Only this message type.
            utterance: Only utterances containing this text.
            intent: Only this intent (skill).
            time_start: ISO start time.
            time_end: ISO end time.
            weekday: Only this weekday (0 = Monday).
            hour: Only this hour of the day.

        Returns:
            ``{"range", "bucket", "totals": {...}, "intents": [...], "series": [...]}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(
            range=range,
            bucket=bucket,
            hub_id=hub_id,
            client_id=client_id,
            country=country,
            message=message,
            utterance=utterance,
            intent=intent,
            time_start=time_start,
            time_end=time_end,
            weekday=weekday,
            hour=hour,
        )
        return await self._call("GET", "/v1/analytics/overview", params=params, retry=True)

    async def describe_device_login(self, user_code: str) -> DeviceLoginRequest:
        """``GET /v1/auth/device/codes/{user_code}``: what a pending device sign-in asks for,
        before the signed-in user approves it.

        Args:
            user_code: The code the device shows.

        Returns:
            Its scopes, client name and id, expiry.

        Raises:
            ThalovantAPIError: 404 for an unknown or expired code.
        """
        path = f"/v1/auth/device/codes/{path_segment(user_code, 'user code')}"
        return DeviceLoginRequest.from_dict(await self._call("GET", path, retry=True))

    async def complete_native_sign_in(
        self, code: str, verifier: str, client_id: str, redirect_uri: str
    ) -> dict[str, Any]:
        """``POST /v1/auth/native/token``: redeem a PKCE authorization code; stores the token.

        Args:
            code: The authorization code from the redirect.
            verifier: The PKCE code verifier (scrubbed from any error).
            client_id: The app's client id.
            redirect_uri: The redirect URI the code was issued for.

        Returns:
            The token answer (``access_token``, ``token_id``, ...).

        Raises:
            ThalovantAPIError: 400/422 for a bad or used code (``invalid_grant``).
        """
        body = {
            "code": code,
            "code_verifier": verifier,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
        }
        answer = await self._call(
            "POST",
            "/v1/auth/native/token",
            auth=False,
            credential=True,
            body=body,
            secrets=(code, verifier),
        )
        token = text_or_none(answer.get("access_token"))
        if token:
            self._access_token = token
            self._token_id = text_or_none(answer.get("token_id"))
        return answer

"""The blocking memory, analytics and host-driven sign-in methods of ``ThalovantControlPlane``.

A mixin of :class:`~thalovant.sync.control.ThalovantControlPlane`: each method is one call of
its ``AsyncThalovantControlPlane`` twin through the control plane's loop thread
(docs/control-plane.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.skill_models import DeviceLoginRequest
from thalovant.sync.bridges import SyncIterator
from thalovant.sync.portal import LoopThread

__all__ = ["MemoryMethods"]


class MemoryMethods:
    """Memory items, analytics and sign-in steps of the blocking control plane."""

    _async: AsyncThalovantControlPlane
    _loop: LoopThread

    def list_memory_items(
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
        return self._loop.call(
            self._async.list_memory_items,
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

    def iter_memory_items(self, *, limit: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every memory item matching ``filters`` (those of :meth:`list_memory_items`),
        page by page.

        Args:
            limit: Items per request.
            **filters: ``scope``, ``kind``, ``owner_id``, ``hub_id``, ``query``,
                ``include_deleted``, ``include_expired``.

        Returns:
            A plain iterator of items.
        """
        return SyncIterator(self._loop, self._async.iter_memory_items(limit=limit, **filters))

    def get_memory_item(self, memory_id: str) -> dict[str, Any]:
        """``GET /v1/memory/{id}``.

        Args:
            memory_id: The item's id.

        Returns:
            The item (with its ``etag``).

        Raises:
            ThalovantAPIError: 404 when there is none.
        """
        return self._loop.call(self._async.get_memory_item, memory_id)

    def create_memory_item(
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
        return self._loop.call(
            self._async.create_memory_item, payload, idempotency_key=idempotency_key
        )

    def update_memory_item(
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
        return self._loop.call(self._async.update_memory_item, memory_id, payload, etag=etag)

    def delete_memory_item(self, memory_id: str) -> None:
        """``DELETE /v1/memory/{id}`` (skills stop seeing it at once).

        Args:
            memory_id: The item's id.

        Raises:
            ThalovantAPIError: 404 when there is none.
        """
        return self._loop.call(self._async.delete_memory_item, memory_id)

    def get_memory_summary(self, *, owner_id: str | None = None) -> dict[str, Any]:
        """``GET /v1/memory/summary``: counts by kind and scope.

        Args:
            owner_id: Only this owner's items.

        Returns:
            ``{"total", "by_kind", "by_scope", "deleted", "expired"}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        return self._loop.call(self._async.get_memory_summary, owner_id=owner_id)

    def get_analytics_overview(
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
        return self._loop.call(
            self._async.get_analytics_overview,
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

    def describe_device_login(self, user_code: str) -> DeviceLoginRequest:
        """``GET /v1/auth/device/codes/{user_code}``: what a pending device sign-in asks for,
        before the signed-in user approves it.

        Args:
            user_code: The code the device shows.

        Returns:
            Its scopes, client name and id, expiry.

        Raises:
            ThalovantAPIError: 404 for an unknown or expired code.
        """
        return self._loop.call(self._async.describe_device_login, user_code)

    def complete_native_sign_in(
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
        return self._loop.call(
            self._async.complete_native_sign_in, code, verifier, client_id, redirect_uri
        )

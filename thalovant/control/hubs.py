"""The hub endpoints of the control plane (docs/protocol.md §7): public hubs without a token,
and the signed-in workspace's hubs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from thalovant.control.http import ControlHTTP, path_segment, query_params
from thalovant.control.pages import Page, iter_pages
from thalovant.control.values import text_or_none

__all__ = ["HubEndpoints"]


class HubEndpoints(ControlHTTP):
    """The hub family: ``/v1/public/hubs`` and ``/v1/hubs``.

    One part of :class:`~thalovant.control.client.AsyncThalovantControlPlane`.
    """

    async def list_public_hubs(self, limit: int = 24, cursor: str | None = None) -> Page:
        """``GET /v1/public/hubs``, without a token: one page of the public hub directory.

        Args:
            limit: Hubs per page.
            cursor: The cursor of the page to read (``None`` for the first one).

        Returns:
            ``{"data": [hub, ...], "meta": ..., "links": ...}``.

        Raises:
            ThalovantAPIError: The request failed (a subclass names the reason).
        """
        params = query_params(limit=limit, cursor=cursor)
        return await self._call("GET", "/v1/public/hubs", auth=False, params=params, retry=True)

    async def get_public_hub(self, hub_ref: str | Mapping[str, Any]) -> dict[str, Any]:
        """``GET /v1/public/hubs/{hub_ref}``, without a token: one public hub card.

        Args:
            hub_ref: A slug, an id, a hub URL (its last path segment is used) or a hub card (its
                ``public_ref``, ``slug`` or ``id``).

        Returns:
            The hub card.

        Raises:
            ThalovantAPIError: ``hub_ref`` is empty, or the request failed (404: no such hub).
        """
        ref: Any = hub_ref
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
        return await self._call("GET", path, auth=False, retry=True)

    async def list_hubs(
        self, limit: int = 100, cursor: str | None = None, owner_id: str | None = None
    ) -> Page:
        """``GET /v1/hubs``: one page of the signed-in workspace's hubs (each with an etag).

        Args:
            limit: Hubs per page.
            cursor: The cursor of the page to read (``None`` for the first one).
            owner_id: Only the hubs of this owner.

        Returns:
            ``{"data": [hub, ...], "meta": ..., "links": ...}``.

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: The request failed otherwise.
        """
        params = query_params(limit=limit, cursor=cursor, owner_id=owner_id)
        return await self._call("GET", "/v1/hubs", params=params, retry=True)

    async def get_hub(self, hub_id: str) -> dict[str, Any]:
        """``GET /v1/hubs/{id}``: one hub of the workspace.

        Args:
            hub_id: The hub's id.

        Returns:
            The hub: ``id``, ``name``, ``slug``, ``domain``, ``etag``, ``spec``,
            ``data_plane_endpoints``.

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: ``hub_id`` is empty, or the request failed (404: no such hub).
        """
        return await self._call("GET", f"/v1/hubs/{path_segment(hub_id, 'hub id')}", retry=True)

    def iter_public_hubs(self, limit: int = 24) -> AsyncIterator[dict[str, Any]]:
        """Every public hub, page by page.

        The next cursor comes from ``next_cursor``, ``meta.next`` or ``links.next`` (only its
        ``cursor`` is used); a repeated cursor ends the walk.

        Args:
            limit: Hubs per request.

        Returns:
            An async iterator of hub cards; each page is fetched when the last one is used up
            (it raises what :meth:`list_public_hubs` raises).
        """
        return iter_pages(lambda cursor: self.list_public_hubs(limit, cursor))

    def iter_hubs(
        self, limit: int = 100, owner_id: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every hub of the workspace, page by page (see :meth:`iter_public_hubs`).

        Args:
            limit: Hubs per request.
            owner_id: Only the hubs of this owner.

        Returns:
            An async iterator of hubs (it raises what :meth:`list_hubs` raises).
        """
        return iter_pages(lambda cursor: self.list_hubs(limit, cursor, owner_id))

"""The blocking discovery methods of ``ThalovantControlPlane``: public hubs, the workspace's
hubs and clients, one page at a time or as plain iterators.

A mixin of :class:`~thalovant.sync.control.ThalovantControlPlane`: each method is one call of
its ``AsyncThalovantControlPlane`` twin through the control plane's loop thread
(docs/protocol.md §7, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.sync.bridges import SyncIterator
from thalovant.sync.portal import LoopThread

__all__ = ["DiscoveryMethods", "Page"]

Page = dict[str, Any]


class DiscoveryMethods:
    """``list_*``, ``get_*`` and ``iter_*`` of the blocking control plane."""

    _async: AsyncThalovantControlPlane
    _loop: LoopThread

    def list_public_hubs(self, limit: int = 24, cursor: str | None = None) -> Page:
        """``GET /v1/public/hubs`` without a token.

        Args:
            limit: Hubs per page.
            cursor: The page cursor (from the previous page's ``meta``).

        Returns:
            ``{"data": [hub, ...], "meta": ...}``.

        Raises:
            ThalovantAPIError: The API answered with an error.
            ThalovantAPIUnreachableError: The API could not be reached.
        """
        return self._loop.call(self._async.list_public_hubs, limit, cursor)

    def get_public_hub(self, hub_ref: str | Mapping[str, Any]) -> dict[str, Any]:
        """``GET /v1/public/hubs/{hub_ref}``.

        Args:
            hub_ref: A slug, an id, a hub URL (its last path segment) or a hub card.

        Returns:
            The hub card.

        Raises:
            ThalovantAPIError: The API answered with an error (e.g. not found).
            ThalovantAPIUnreachableError: The API could not be reached.
        """
        return self._loop.call(self._async.get_public_hub, hub_ref)

    def list_hubs(
        self, limit: int = 100, cursor: str | None = None, owner_id: str | None = None
    ) -> Page:
        """``GET /v1/hubs``: the signed-in workspace's hubs.

        Args:
            limit: Hubs per page.
            cursor: The page cursor.
            owner_id: Only this owner's hubs.

        Returns:
            ``{"data": [hub, ...], "meta": ...}``.

        Raises:
            ThalovantAuthError: No valid token.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.list_hubs, limit, cursor, owner_id)

    def get_hub(self, hub_id: str) -> dict[str, Any]:
        """``GET /v1/hubs/{id}``.

        Args:
            hub_id: The hub's id.

        Returns:
            The hub.

        Raises:
            ThalovantAuthError: No valid token.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.get_hub, hub_id)

    def list_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        owner_id: str | None = None,
        include_spec: bool = True,
    ) -> Page:
        """``GET /v1/clients``, optionally filtered by hub or owner.

        Args:
            hub_id: Only this hub's clients.
            limit: Clients per page.
            cursor: The page cursor.
            owner_id: Only this owner's clients.
            include_spec: Include each client's spec.

        Returns:
            ``{"data": [client, ...], "meta": ...}``.

        Raises:
            ThalovantAuthError: No valid token.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(
            self._async.list_clients, hub_id, limit, cursor, owner_id, include_spec
        )

    def get_client(self, client_id: str) -> dict[str, Any]:
        """``GET /v1/clients/{id}``.

        Args:
            client_id: The client's id.

        Returns:
            The client.

        Raises:
            ThalovantAuthError: No valid token.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.get_client, client_id)

    def iter_public_hubs(self, limit: int = 24) -> Iterator[dict[str, Any]]:
        """Every public hub, page by page.

        Args:
            limit: Hubs per page.

        Returns:
            A plain iterator (stepping it raises as :meth:`list_public_hubs`).
        """
        return SyncIterator(self._loop, self._async.iter_public_hubs(limit))

    def iter_hubs(self, limit: int = 100, owner_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every hub of the workspace, page by page.

        Args:
            limit: Hubs per page.
            owner_id: Only this owner's hubs.

        Returns:
            A plain iterator (stepping it raises as :meth:`list_hubs`).
        """
        return SyncIterator(self._loop, self._async.iter_hubs(limit, owner_id))

    def iter_clients(
        self,
        hub_id: str | None = None,
        limit: int = 100,
        owner_id: str | None = None,
        include_spec: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every client (optionally of one hub), page by page.

        Args:
            hub_id: Only this hub's clients.
            limit: Clients per page.
            owner_id: Only this owner's clients.
            include_spec: Include each client's spec.

        Returns:
            A plain iterator (stepping it raises as :meth:`list_clients`).
        """
        return SyncIterator(
            self._loop, self._async.iter_clients(hub_id, limit, owner_id, include_spec)
        )

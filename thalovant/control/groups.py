"""Runtime groups and the marketplace on the control plane (docs/control-plane.md).

A runtime group is what hubs run on: its config (``language``, ``enabled_skills``, ...) and
personas, its installed skills (the inventory), its releases. The marketplace lists the
skills one can install. Creates carry an ``Idempotency-Key``; updates send ``If-Match``
when an ``etag`` is given; reads and deletes are retried on 429/5xx.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from thalovant.control.http import ControlHTTP, path_segment, query_params
from thalovant.control.hub_admin import release_body
from thalovant.control.pages import Page, iter_pages
from thalovant.control.values import snake_keys

__all__ = ["RuntimeGroupEndpoints"]


def _group_path(runtime_group_id: str, tail: str = "") -> str:
    return f"/v1/runtime-groups/{path_segment(runtime_group_id, 'runtime group id')}{tail}"


def _if_match(etag: str | None) -> dict[str, str] | None:
    return {"If-Match": etag} if etag else None


class RuntimeGroupEndpoints(ControlHTTP):
    """``/v1/runtime-groups`` and ``/v1/marketplace``; part of
    :class:`~thalovant.control.client.AsyncThalovantControlPlane`."""

    async def list_runtime_groups(
        self, *, owner_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page:
        """``GET /v1/runtime-groups``: one page of runtime groups.

        Args:
            owner_id: Only this owner's groups.
            limit: Groups per page (``None``: the server's default).
            cursor: The page to read (``None``: the first).

        Returns:
            ``{"data": [group, ...], "meta": ..., "links": ...}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(owner_id=owner_id, limit=limit, cursor=cursor)
        return await self._call("GET", "/v1/runtime-groups", params=params, retry=True)

    def iter_runtime_groups(
        self, *, owner_id: str | None = None, limit: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every runtime group, page by page.

        Args:
            owner_id: Only this owner's groups.
            limit: Groups per request.

        Returns:
            An async iterator of groups.
        """
        return iter_pages(
            lambda cursor: self.list_runtime_groups(owner_id=owner_id, limit=limit, cursor=cursor)
        )

    async def get_runtime_group(self, runtime_group_id: str) -> dict[str, Any]:
        """``GET /v1/runtime-groups/{id}``.

        Args:
            runtime_group_id: The group's id.

        Returns:
            The group (with its ``etag``).

        Raises:
            ThalovantAPIError: 404 when there is none, or another failure.
        """
        return await self._call("GET", _group_path(runtime_group_id), retry=True)

    async def create_runtime_group(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/runtime-groups`` with an ``Idempotency-Key``.

        Args:
            payload: ``name``, optional ``description`` and ``config``.
            idempotency_key: The key (a fresh uuid4 unless given); a retry with it answers
                the first result.

        Returns:
            The new group.

        Raises:
            ThalovantAPIError: 409 when the name is taken, 422 for a bad body.
        """
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return await self._call(
            "POST", "/v1/runtime-groups", body=snake_keys(payload), headers=headers, retry=True
        )

    async def update_runtime_group(
        self, runtime_group_id: str, payload: Mapping[str, Any], *, etag: str | None = None
    ) -> dict[str, Any]:
        """``PATCH /v1/runtime-groups/{id}``.

        Args:
            runtime_group_id: The group's id.
            payload: The fields to change (``name``, ``description``).
            etag: Sent as ``If-Match`` (412 when the group changed meanwhile).

        Returns:
            The updated group.

        Raises:
            ThalovantAPIError: 404, 409 (name taken), 412 (stale etag), 422.
        """
        return await self._call(
            "PATCH",
            _group_path(runtime_group_id),
            body=snake_keys(payload),
            headers=_if_match(etag),
        )

    async def delete_runtime_group(self, runtime_group_id: str, *, etag: str | None = None) -> None:
        """``DELETE /v1/runtime-groups/{id}``.

        Args:
            runtime_group_id: The group's id.
            etag: Sent as ``If-Match`` when given.

        Raises:
            ThalovantAPIError: 404, 409 (hubs still run on it), 412 (stale etag).
        """
        await self._call(
            "DELETE", _group_path(runtime_group_id), headers=_if_match(etag), retry=True
        )

    async def get_runtime_group_config(self, runtime_group_id: str) -> dict[str, Any]:
        """``GET /v1/runtime-groups/{id}/config``.

        Args:
            runtime_group_id: The group's id.

        Returns:
            ``{runtime_group_id, config, personas, etag, updated_at}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        return await self._call("GET", _group_path(runtime_group_id, "/config"), retry=True)

    async def update_runtime_group_config(
        self,
        runtime_group_id: str,
        config: Mapping[str, Any],
        *,
        personas: Mapping[str, Any] | None = None,
        merge: bool = True,
        etag: str | None = None,
    ) -> dict[str, Any]:
        """``PATCH`` (``merge``) or ``PUT`` (replace) ``/v1/runtime-groups/{id}/config``.

        The hubs of the group apply it: ``language`` is what they answer in,
        ``enabled_skills`` (a list, or ``null`` for all) what they answer with.

        Args:
            runtime_group_id: The group's id.
            config: The config keys to set.
            personas: Personas to set too.
            merge: Merge into the current config (else replace it).
            etag: The config's ``etag``, sent as ``If-Match``.

        Returns:
            The new config answer (see :meth:`get_runtime_group_config`).

        Raises:
            ThalovantAPIError: 412 (stale etag), 422 (a bad value), or another failure.
        """
        body: dict[str, Any] = {"config": dict(config)}
        if personas is not None:
            body["personas"] = dict(personas)
        method = "PATCH" if merge else "PUT"
        return await self._call(
            method,
            _group_path(runtime_group_id, "/config"),
            body=body,
            headers=_if_match(etag),
            retry=not merge,
        )

    async def release_runtime_group(
        self,
        runtime_group_id: str,
        *,
        channel: str | None = None,
        mode: str | None = None,
        version: str | None = None,
        images: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/runtime-groups/{id}/release``.

        Args:
            runtime_group_id: The group's id.
            channel: The release channel.
            mode: How to roll out.
            version: The runtime version.
            images: Container images by component.
            reason: Why.

        Returns:
            The release, with its ``operation``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        body = release_body(channel, mode, version, images, reason)
        return await self._call("POST", _group_path(runtime_group_id, "/release"), body=body)

    async def install_runtime_group_skill(
        self,
        runtime_group_id: str,
        skill_id: str,
        *,
        marketplace_skill_id: str | None = None,
        source_type: str = "catalog",
        source_ref: str | None = None,
        version_pin: str | None = None,
        active: bool = True,
    ) -> dict[str, Any]:
        """``POST /v1/runtime-groups/{id}/skills``: add a skill to the group's inventory.

        Args:
            runtime_group_id: The group's id.
            skill_id: The skill's name.
            marketplace_skill_id: Its marketplace id, when known.
            source_type: ``catalog`` (the marketplace).
            source_ref: Where the source lives, for other source types.
            version_pin: A version to stay on (``None``: the latest).
            active: Whether the group's hubs answer with it.

        Returns:
            The inventory entry.

        Raises:
            ThalovantAPIError: 404 (unknown skill or version), 409 (already installed).
        """
        body: dict[str, Any] = {
            "skill_id": skill_id,
            "source_type": source_type,
            "active": bool(active),
        }
        extra = {
            "marketplace_skill_id": marketplace_skill_id,
            "source_ref": source_ref,
            "version_pin": version_pin,
        }
        body.update({k: v for k, v in extra.items() if v})
        return await self._call("POST", _group_path(runtime_group_id, "/skills"), body=body)

    async def uninstall_runtime_group_skill(self, runtime_group_id: str, skill_id: str) -> None:
        """``DELETE /v1/runtime-groups/{id}/skills/{skill_id}``.

        Args:
            runtime_group_id: The group's id.
            skill_id: The skill's name.

        Raises:
            ThalovantAPIError: 404 when it is not in the inventory.
        """
        path = _group_path(runtime_group_id, f"/skills/{path_segment(skill_id, 'skill id')}")
        await self._call("DELETE", path, retry=True)

    async def list_runtime_group_marketplace(
        self, runtime_group_id: str, *, refresh_inventory: bool = False
    ) -> dict[str, Any]:
        """``GET /v1/runtime-groups/{id}/marketplace``: the marketplace as this group sees it
        (each skill marked ``installed`` or not).

        Args:
            runtime_group_id: The group's id.
            refresh_inventory: Re-read the group's inventory first.

        Returns:
            ``{"data": [skill, ...], ...}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(refresh_inventory=refresh_inventory)
        path = _group_path(runtime_group_id, "/marketplace")
        return await self._call("GET", path, params=params, retry=True)

    async def list_runtime_group_inventory(
        self, runtime_group_id: str, *, refresh: bool = False
    ) -> dict[str, Any]:
        """``GET /v1/runtime-groups/{id}/inventory``: the skills installed in the group.

        Args:
            runtime_group_id: The group's id.
            refresh: Observe the running hubs again first.

        Returns:
            ``{"data": [entry, ...], ...}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(refresh=refresh)
        path = _group_path(runtime_group_id, "/inventory")
        return await self._call("GET", path, params=params, retry=True)

    async def list_marketplace_skills(
        self,
        *,
        owner_id: str | None = None,
        include_inactive: bool = False,
        force_refresh: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """``GET /v1/marketplace/skills``: the skills one can install.

        Args:
            owner_id: Only this publisher's skills.
            include_inactive: Include withdrawn skills.
            force_refresh: Re-read the catalog first.
            limit: Skills per page (``None``: the server's default).
            cursor: The page to read.

        Returns:
            ``{"data": [skill, ...], "meta": ..., "links": ...}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(
            owner_id=owner_id,
            include_inactive=include_inactive,
            force_refresh=force_refresh,
            limit=limit,
            cursor=cursor,
        )
        return await self._call("GET", "/v1/marketplace/skills", params=params, retry=True)

    def iter_marketplace_skills(
        self, *, owner_id: str | None = None, include_inactive: bool = False, limit: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every marketplace skill, page by page.

        Args:
            owner_id: Only this publisher's skills.
            include_inactive: Include withdrawn skills.
            limit: Skills per request.

        Returns:
            An async iterator of skills.
        """
        return iter_pages(
            lambda cursor: self.list_marketplace_skills(
                owner_id=owner_id, include_inactive=include_inactive, limit=limit, cursor=cursor
            )
        )

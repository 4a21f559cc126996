"""The skills of one hub on the control plane (docs/control-plane.md): list, install, update,
remove, and the history of those changes.

A change answers HTTP 202 with an operation; ``wait=True`` polls it (every ``poll_interval``
seconds, riding out 429 and 5xx) until the change is live, calling ``progress`` on each new
status. Installs carry an ``Idempotency-Key`` and are retried with it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from thalovant.control.http import path_segment, query_params
from thalovant.control.models import OperationResource
from thalovant.control.operations import OperationEndpoints, ProgressCallback
from thalovant.control.pages import Page, iter_pages
from thalovant.control.skill_models import HubSkillList, HubSkillOperation
from thalovant.errors import ThalovantAPIError

__all__ = ["HubSkillEndpoints"]


def _skills_path(hub_id: str, tail: str = "") -> str:
    return f"/v1/hubs/{path_segment(hub_id, 'hub id')}/skills{tail}"


class HubSkillEndpoints(OperationEndpoints):
    """``/v1/hubs/{id}/skills``; part of
    :class:`~thalovant.control.client.AsyncThalovantControlPlane`."""

    async def list_hub_skills(self, hub_id: str) -> HubSkillList:
        """``GET /v1/hubs/{id}/skills``: what is installed on a hub, and what could update.

        Args:
            hub_id: The hub's id.

        Returns:
            The skills (iterate it, or ``.get(name)``).

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: The request failed otherwise (404: no such hub).
        """
        return HubSkillList.from_dict(await self._call("GET", _skills_path(hub_id), retry=True))

    async def install_hub_skill(
        self,
        hub_id: str,
        skill: str,
        *,
        version: str = "latest",
        wait: bool = False,
        timeout: float = 120.0,
        progress: ProgressCallback | None = None,
        poll_interval: float = 2.0,
        idempotency_key: str | None = None,
    ) -> HubSkillOperation:
        """``POST /v1/hubs/{id}/skills`` ``{"skill", "version"}``: install a marketplace skill.

        Args:
            hub_id: The hub's id.
            skill: The skill's name in the marketplace.
            version: A published version, or ``latest``.
            wait: Wait until the skill answers on the hub.
            timeout: Seconds to wait.
            progress: Called with the operation on each new status while waiting.
            poll_interval: Seconds between polls while waiting.
            idempotency_key: The ``Idempotency-Key`` (a fresh uuid4 unless given).

        Returns:
            The accepted change; with ``wait``, its ``state`` is final and ``operation`` set.

        Raises:
            ThalovantAPIError: 404 for an unknown skill or version, 409 when it is installed
                already, 422 for a bad name; ``failed`` operations raise too when waited for.
            ThalovantTimeoutError: ``wait`` and the change was not live within ``timeout``.
        """
        body = {"skill": skill, "version": version}
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        answer = await self._call(
            "POST", _skills_path(hub_id), body=body, headers=headers, retry=True
        )
        return await self._settle(answer, wait, timeout, progress, poll_interval)

    async def update_hub_skill(
        self,
        hub_id: str,
        skill: str,
        *,
        version: str,
        wait: bool = False,
        timeout: float = 120.0,
        progress: ProgressCallback | None = None,
        poll_interval: float = 2.0,
        etag: str | None = None,
    ) -> HubSkillOperation:
        """``PATCH /v1/hubs/{id}/skills/{skill}`` ``{"version"}``: move a skill to a version.

        Args:
            hub_id: The hub's id.
            skill: The installed skill.
            version: The version to move to (``latest`` allowed).
            wait: Wait until the new version answers.
            timeout: Seconds to wait.
            progress: Called with the operation on each new status while waiting.
            poll_interval: Seconds between polls while waiting.
            etag: Sent as ``If-Match`` (412 when the skill changed meanwhile).

        Returns:
            The accepted change (see :meth:`install_hub_skill`).

        Raises:
            ThalovantAPIError: 404 when the skill is not installed or the version unknown,
                412 on a stale ``etag``.
            ThalovantTimeoutError: ``wait`` and not live within ``timeout``.
        """
        path = _skills_path(hub_id, f"/{path_segment(skill, 'skill')}")
        headers = {"If-Match": etag} if etag else None
        answer = await self._call("PATCH", path, body={"version": version}, headers=headers)
        return await self._settle(answer, wait, timeout, progress, poll_interval)

    async def remove_hub_skill(
        self,
        hub_id: str,
        skill: str,
        *,
        wait: bool = False,
        timeout: float = 120.0,
        progress: ProgressCallback | None = None,
        poll_interval: float = 2.0,
    ) -> HubSkillOperation:
        """``DELETE /v1/hubs/{id}/skills/{skill}``: uninstall a skill (HTTP 202).

        Args:
            hub_id: The hub's id.
            skill: The installed skill.
            wait: Wait until the hub no longer answers with it.
            timeout: Seconds to wait.
            progress: Called with the operation on each new status while waiting.
            poll_interval: Seconds between polls while waiting.

        Returns:
            The accepted change (see :meth:`install_hub_skill`).

        Raises:
            ThalovantAPIError: 404 when the skill is not installed.
            ThalovantTimeoutError: ``wait`` and not done within ``timeout``.
        """
        path = _skills_path(hub_id, f"/{path_segment(skill, 'skill')}")
        answer = await self._call("DELETE", path)
        return await self._settle(answer, wait, timeout, progress, poll_interval)

    async def list_hub_skill_history(
        self, hub_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """``GET /v1/hubs/{id}/skills/history``: the hub's skill changes, newest first.

        Args:
            hub_id: The hub's id.
            limit: Entries per page.
            cursor: The page to read (``None``: the first).

        Returns:
            ``{"data": [change, ...], "meta": ..., "links": ...}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        params = query_params(limit=limit, cursor=cursor)
        return await self._call("GET", _skills_path(hub_id, "/history"), params=params, retry=True)

    def iter_hub_skill_history(
        self, hub_id: str, *, limit: int = 50
    ) -> AsyncIterator[dict[str, Any]]:
        """Every skill change of a hub, page by page (see :meth:`list_hub_skill_history`).

        Args:
            hub_id: The hub's id.
            limit: Entries per request.

        Returns:
            An async iterator of changes.
        """
        return iter_pages(
            lambda cursor: self.list_hub_skill_history(hub_id, limit=limit, cursor=cursor)
        )

    async def _settle(
        self,
        answer: dict[str, Any],
        wait: bool,
        timeout: float,
        progress: ProgressCallback | None,
        poll_interval: float,
    ) -> HubSkillOperation:
        accepted = HubSkillOperation.from_dict(answer)
        if not wait:
            return accepted
        target: str | OperationResource | None = accepted.operation or accepted.operation_id
        if not target:
            raise ThalovantAPIError("The skill change names no operation to wait for")
        final = await self._poll(
            target, timeout=timeout, interval=poll_interval, admission=False, progress=progress
        )
        assert final is not None  # not an admission: _poll returns or raises
        final.raise_for_failure()
        fields = accepted.as_dict()
        fields.update(state=final.status or accepted.state, operation=final)
        return HubSkillOperation(**fields)

"""The blocking hub-management and hub-skill methods of ``ThalovantControlPlane``.

A mixin of :class:`~thalovant.sync.control.ThalovantControlPlane`: each method is one call of
its ``AsyncThalovantControlPlane`` twin through the control plane's loop thread
(docs/control-plane.md). ``progress`` callbacks run on that loop thread and must not call
this object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.models import BootstrapIdentityResult
from thalovant.control.operations import ProgressCallback
from thalovant.control.pages import Page
from thalovant.control.skill_models import HubSkillList, HubSkillOperation
from thalovant.sync.bridges import SyncIterator
from thalovant.sync.portal import LoopThread

__all__ = ["HubAdminMethods"]


class HubAdminMethods:
    """Hub writes, ratings, capabilities and skills of the blocking control plane."""

    _async: AsyncThalovantControlPlane
    _loop: LoopThread

    def create_hub(
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
        return self._loop.call(self._async.create_hub, payload, idempotency_key=idempotency_key)

    def update_hub(self, hub_id: str, payload: Mapping[str, Any], *, etag: str) -> dict[str, Any]:
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
        return self._loop.call(self._async.update_hub, hub_id, payload, etag=etag)

    def delete_hub(self, hub_id: str, *, etag: str) -> None:
        """``DELETE /v1/hubs/{id}`` with ``If-Match: <etag>``.

        Args:
            hub_id: The hub's id.
            etag: The hub's ``etag`` as last read.

        Raises:
            ThalovantAPIError: 412 on a stale ``etag``, 409 when the hub cannot be deleted
                (the local control plane's own hub), 404 when there is none.
        """
        return self._loop.call(self._async.delete_hub, hub_id, etag=etag)

    def release_hub(
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
        return self._loop.call(
            self._async.release_hub,
            hub_id,
            channel=channel,
            mode=mode,
            version=version,
            images=images,
            reason=reason,
        )

    def set_hub_rating(self, hub_id: str, rating: int) -> dict[str, Any]:
        """``PUT /v1/hubs/{id}/rating``: rate a hub from 1 to 5 (replaces your rating).

        Args:
            hub_id: The hub's id.
            rating: 1 to 5.

        Returns:
            ``{hub_id, rating, average, count}``.

        Raises:
            ThalovantAPIError: 422 for a rating out of range, or another failure.
        """
        return self._loop.call(self._async.set_hub_rating, hub_id, rating)

    def clear_hub_rating(self, hub_id: str) -> dict[str, Any]:
        """``DELETE /v1/hubs/{id}/rating``: take your rating back.

        Args:
            hub_id: The hub's id.

        Returns:
            ``{hub_id, rating: null, average, count}``.

        Raises:
            ThalovantAPIError: The request failed.
        """
        return self._loop.call(self._async.clear_hub_rating, hub_id)

    def get_hub_runtime_capabilities(self, hub_id: str) -> dict[str, Any]:
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
        return self._loop.call(self._async.get_hub_runtime_capabilities, hub_id)

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
        return self._async.require_runtime_protocol(result, protocol=protocol)  # no I/O

    def list_hub_skills(self, hub_id: str) -> HubSkillList:
        """``GET /v1/hubs/{id}/skills``: what is installed on a hub, and what could update.

        Args:
            hub_id: The hub's id.

        Returns:
            The skills (iterate it, or ``.get(name)``).

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: The request failed otherwise (404: no such hub).
        """
        return self._loop.call(self._async.list_hub_skills, hub_id)

    def install_hub_skill(
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
        return self._loop.call(
            self._async.install_hub_skill,
            hub_id,
            skill,
            version=version,
            wait=wait,
            timeout=timeout,
            progress=progress,
            poll_interval=poll_interval,
            idempotency_key=idempotency_key,
        )

    def update_hub_skill(
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
        return self._loop.call(
            self._async.update_hub_skill,
            hub_id,
            skill,
            version=version,
            wait=wait,
            timeout=timeout,
            progress=progress,
            poll_interval=poll_interval,
            etag=etag,
        )

    def remove_hub_skill(
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
        return self._loop.call(
            self._async.remove_hub_skill,
            hub_id,
            skill,
            wait=wait,
            timeout=timeout,
            progress=progress,
            poll_interval=poll_interval,
        )

    def list_hub_skill_history(
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
        return self._loop.call(
            self._async.list_hub_skill_history, hub_id, limit=limit, cursor=cursor
        )

    def iter_hub_skill_history(self, hub_id: str, *, limit: int = 50) -> Iterator[dict[str, Any]]:
        """Every skill change of a hub, page by page (see :meth:`list_hub_skill_history`).

        Args:
            hub_id: The hub's id.
            limit: Entries per request.

        Returns:
            An async iterator of changes.
        """
        return SyncIterator(self._loop, self._async.iter_hub_skill_history(hub_id, limit=limit))

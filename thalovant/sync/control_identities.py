"""The blocking client-identity methods of ``ThalovantControlPlane``: creating and deleting
clients, and waiting for their operations and admission.

A mixin of :class:`~thalovant.sync.control.ThalovantControlPlane`: each method is one call of
its ``AsyncThalovantControlPlane`` twin through the control plane's loop thread
(docs/protocol.md §7, docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.models import BootstrapIdentityResult, OperationResource
from thalovant.control.operations import ProgressCallback
from thalovant.identity.endpoints import DEFAULT_PROTOCOL_PREFERENCE
from thalovant.sync.portal import LoopThread

__all__ = ["IdentityMethods"]


class IdentityMethods:
    """Client identities and operations of the blocking control plane."""

    _async: AsyncThalovantControlPlane
    _loop: LoopThread

    def create_client(
        self, payload: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /v1/clients`` with an ``Idempotency-Key``.

        Args:
            payload: The client resource (top-level ``camelCase`` keys sent as ``snake_case``).
            idempotency_key: The key (a fresh uuid4 unless given; reuse it when retrying).

        Returns:
            The created client.

        Raises:
            ThalovantAuthError: No valid token.
            ThalovantPlanError: The plan does not allow another client.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.create_client, payload, idempotency_key)

    def create_client_identity(
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
        """Create a client on ``hub`` and return its ready-to-save identity.

        Args:
            hub: The hub's id or resource.
            name: The client's name.
            site_id: Its site id.
            spec: Extra spec fields.
            owner_id: Its owner.
            active: Create it active.
            preferred_protocols: The identity's protocol preference.
            idempotency_key: The ``Idempotency-Key`` (reuse it when retrying).
            connection_type: The connection type asked for.

        Returns:
            The identity, the created client and its admission operation.

        Raises:
            ThalovantUnsupportedConnectionTypeError: The hub cannot serve that connection type.
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(
            self._async.create_client_identity,
            hub,
            name,
            site_id=site_id,
            spec=spec,
            owner_id=owner_id,
            active=active,
            preferred_protocols=preferred_protocols,
            idempotency_key=idempotency_key,
            connection_type=connection_type,
        )

    def delete_client(self, client_id: str, etag: str | None = None) -> bool:
        """``DELETE /v1/clients/{id}`` with ``If-Match`` (one retry on 412).

        Args:
            client_id: The client's id.
            etag: Its ETag (default: fetched).

        Returns:
            True when deleted, False when it was already gone.

        Raises:
            ThalovantAPIError: The API answered with another error.
        """
        return self._loop.call(self._async.delete_client, client_id, etag)

    def get_operation(self, operation_id: str) -> OperationResource:
        """``GET /v1/operations/{id}``.

        Args:
            operation_id: The operation's id.

        Returns:
            The operation.

        Raises:
            ThalovantAPIError: The API answered with an error.
        """
        return self._loop.call(self._async.get_operation, operation_id)

    def wait_for_operation(
        self,
        operation: str | OperationResource | Mapping[str, Any],
        timeout: float = 120.0,
        *,
        poll_interval: float = 2.0,
        progress: ProgressCallback | None = None,
    ) -> OperationResource:
        """Poll an operation until it ends (rides out 429 and 5xx).

        Args:
            operation: The operation, or its id.
            timeout: Seconds in total.
            poll_interval: Seconds between polls.
            progress: Called with the operation on each new status (on the control plane's
                loop thread; it must not call this object).

        Returns:
            The final operation (check ``is_ready`` or call ``raise_for_failure``).

        Raises:
            ThalovantTimeoutError: Not ended within ``timeout``.
        """
        return self._loop.call(
            self._async.wait_for_operation,
            operation,
            timeout,
            poll_interval=poll_interval,
            progress=progress,
        )

    def wait_for_admission(
        self,
        connection: BootstrapIdentityResult | OperationResource | Mapping[str, Any] | str | None,
        timeout: float = 180.0,
        *,
        poll_interval: float = 2.0,
    ) -> OperationResource | None:
        """Wait until a new client is admitted by its hub (about 90 s after creation).

        Args:
            connection: What ``create_client_identity`` returned, its operation, or its id.
            timeout: Seconds in total.
            poll_interval: Seconds between polls.

        Returns:
            The final operation, or None when there was none to wait for.

        Raises:
            ThalovantAdmissionFailedError: The admission failed or timed out on the API.
            ThalovantAdmissionTimeoutError: Not admitted within ``timeout``.
        """
        return self._loop.call(
            self._async.wait_for_admission, connection, timeout, poll_interval=poll_interval
        )

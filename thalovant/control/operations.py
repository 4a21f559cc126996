"""The operation endpoints of the control plane (docs/protocol.md §7): read an asynchronous
operation, wait for it, and wait for a new client's admission by its hub.

The pollers are the only retries of the client: they ride out HTTP 429 (waiting as told) and
5xx until their budget runs out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from thalovant.control.http import ControlHTTP, path_segment
from thalovant.control.models import BootstrapIdentityResult, OperationResource
from thalovant.errors import (
    ThalovantAdmissionFailedError,
    ThalovantAdmissionTimeoutError,
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantTimeoutError,
)

__all__ = ["OperationEndpoints", "ProgressCallback", "operation_of", "settle_operation"]

#: Called with the operation each time a poll sees a new status (it may be a coroutine
#: function); an exception it raises ends the wait.
ProgressCallback = Callable[[OperationResource], Any]


async def _report(progress: ProgressCallback | None, operation: OperationResource) -> None:
    if progress is not None:
        shown = progress(operation)
        if inspect.isawaitable(shown):
            await shown


def operation_of(target: object) -> OperationResource | None:
    """The operation to wait for in ``target``.

    Args:
        target: A result's ``.operation``, an :class:`OperationResource`, a client resource
            (its ``operation``) or an operation mapping.

    Returns:
        The operation; ``None`` for a string (an id) or ``None``.

    Raises:
        TypeError: ``target`` is none of those.
    """
    if target is None or isinstance(target, str):
        return None
    if isinstance(target, BootstrapIdentityResult):
        return target.operation
    if isinstance(target, OperationResource):
        return target
    if isinstance(target, Mapping):
        if "operation" in target:  # a client resource
            inner = target["operation"]
            return OperationResource.from_mapping(inner) if isinstance(inner, Mapping) else None
        return OperationResource.from_mapping(target)
    raise TypeError(f"Cannot wait for a {type(target).__name__}")


def settle_operation(operation: OperationResource, admission: bool) -> OperationResource:
    """``operation`` itself, unless it is a failed admission.

    Args:
        operation: A terminal operation.
        admission: Whether it is a client's admission.

    Returns:
        ``operation``.

    Raises:
        ThalovantAdmissionFailedError: A failed admission, with its ``error_code``.
    """
    if admission and operation.is_failed:
        detail = (operation.error_message or "")[:200] or None
        text = f"Client was not admitted: operation ended {operation.status}"
        if operation.error_code:
            text += f" ({operation.error_code})"
        raise ThalovantAdmissionFailedError(
            f"{text}: {detail}" if detail else text,
            error_code=operation.error_code,
            code=operation.error_code,
            detail=detail,
            problem=operation.raw,
        )
    return operation


class OperationEndpoints(ControlHTTP):
    """``/v1/operations``; part of :class:`~thalovant.control.client.AsyncThalovantControlPlane`."""

    async def get_operation(self, operation_id: str) -> OperationResource:
        """``GET /v1/operations/{id}``.

        Args:
            operation_id: The operation's id.

        Returns:
            The operation as it is now.

        Raises:
            ThalovantAuthError: No token, or the token was refused.
            ThalovantAPIError: ``operation_id`` is empty, or the request failed.
        """
        path = f"/v1/operations/{path_segment(operation_id, 'operation id')}"
        return OperationResource.from_mapping(await self._call("GET", path, retry=True))

    async def _poll(
        self,
        target: object,
        *,
        timeout: float,
        interval: float,
        admission: bool,
        progress: ProgressCallback | None = None,
    ) -> OperationResource | None:
        current = operation_of(target)
        seen = current.status if current is not None else None
        if current is not None:
            await _report(progress, current)
        if current is not None and current.is_terminal:
            return settle_operation(current, admission)
        op_id = current.id if current else (target if isinstance(target, str) else None)
        url = self._operation_url(op_id, current.self_link if current else None)
        if url is None:
            if admission:
                return current  # no operation to wait for: admitted at creation
            raise ThalovantAPIError("Nothing to wait for: no operation id or link")
        deadline = self._clock() + timeout
        while True:
            last: ThalovantAPIError | None = None
            try:
                current = OperationResource.from_mapping(await self._call("GET", url))
            except ThalovantAPIError as exc:
                if admission and exc.status_code == 404:
                    return current  # the operation is gone: admitted
                status = exc.status_code
                unreachable = isinstance(exc, ThalovantAPIUnreachableError)
                if not (status == 429 or unreachable or (status is not None and status >= 500)):
                    raise
                last = exc
                delay = interval if exc.retry_after_seconds is None else exc.retry_after_seconds
            else:
                if current.status != seen:
                    seen = current.status
                    await _report(progress, current)
                if current.is_terminal:
                    return settle_operation(current, admission)
                delay = interval
            remaining = deadline - self._clock()
            if remaining <= 0:
                state = current.status if current else "unknown"
                what = "Client was not admitted" if admission else "Operation did not finish"
                error_type = ThalovantAdmissionTimeoutError if admission else ThalovantTimeoutError
                raise error_type(f"{what} within {timeout:g} s (last status: {state})") from last
            await self._sleep(min(max(delay, 0.0), remaining))

    async def wait_for_operation(
        self,
        operation: str | OperationResource | Mapping[str, Any],
        timeout: float = 120.0,
        *,
        poll_interval: float = 2.0,
        progress: ProgressCallback | None = None,
    ) -> OperationResource:
        """Poll an operation until it is ``ready``, ``failed`` or ``timed_out``.

        HTTP 429 (waiting as told) and 5xx are ridden out; check the result's
        :attr:`~thalovant.control.models.OperationResource.is_ready` or call its
        :meth:`~thalovant.control.models.OperationResource.raise_for_failure`.

        Args:
            operation: The operation, its id, or an operation or client resource.
            timeout: Seconds to keep polling.
            poll_interval: Seconds between polls.
            progress: Called with the operation whenever its status changes (first with the
                operation as given, when it is one).

        Returns:
            The operation in its final state.

        Raises:
            ThalovantTimeoutError: It did not finish within ``timeout`` seconds.
            ThalovantAPIError: There is nothing to wait for (no id or link), or a poll failed
                with an error other than 429 or 5xx.
            TypeError: ``operation`` is none of the accepted types.
        """
        result = await self._poll(
            operation,
            timeout=timeout,
            interval=poll_interval,
            admission=False,
            progress=progress,
        )
        assert result is not None
        return result

    async def wait_for_admission(
        self,
        connection: BootstrapIdentityResult | OperationResource | Mapping[str, Any] | str | None,
        timeout: float = 180.0,
        *,
        poll_interval: float = 2.0,
    ) -> OperationResource | None:
        """Wait until a new client is admitted by its hub (about 90 s after creation).

        Polls the admission operation through ``links.self`` when that is on the API's origin
        (a foreign ``links.self`` is never fetched), else ``/v1/operations/{id}``. A 404 or no
        operation means admitted now; 5xx and 429 (after its ``Retry-After``) keep polling.

        Args:
            connection: What
                :meth:`~thalovant.control.clients.ClientEndpoints.create_client_identity`
                returned, its operation, a client or operation resource, an operation id, or
                ``None``.
            timeout: Seconds to keep polling.
            poll_interval: Seconds between polls.

        Returns:
            The final (``ready``) operation, or the last one known (possibly ``None``) when
            there was none to wait for or it is gone.

        Raises:
            ThalovantAdmissionFailedError: The operation ended ``failed`` or ``timed_out``.
            ThalovantAdmissionTimeoutError: Not admitted within ``timeout`` seconds.
            ThalovantAPIError: A poll failed with an error other than 404, 429 or 5xx.
            TypeError: ``connection`` is none of the accepted types.
        """
        return await self._poll(connection, timeout=timeout, interval=poll_interval, admission=True)

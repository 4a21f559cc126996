"""Test-only faults of the local control plane: answer the next requests with 429 or 5xx.

Only Python code holding the control plane can arm a fault (there is no route for it), so a
client's retry paths are tested against real answers on a real socket::

    control.faults.add(503, method="GET", path="/hubs/", times=1)
    control.faults.add(503, method="POST", path="/runtime-groups", after=True)  # lost answer

``after=True`` runs the handler first and then answers the fault, like a response lost on
the way back: what a retry with the same ``Idempotency-Key`` must survive.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from thalovant.hub.control.problems import problem_response

__all__ = ["Fault", "FaultInjector"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Fault:
    """One armed fault: which requests it hits, how often, and the answer it gives."""

    status: int
    method: str | None
    path: str | None
    times: int
    after: bool
    retry_after: float | None
    code: str
    hits: int = 0


class FaultInjector:
    """Armed faults, checked in order before (or after) every ``/v1`` handler."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.hits = 0
        """Requests answered with a fault so far."""

    def add(
        self,
        status: int,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
        after: bool = False,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> Fault:
        """Arm a fault.

        Args:
            status: The answer's status (429, 500, 503, ...).
            method: Only requests with this method (``None``: any).
            path: Only requests whose path (below ``/v1``) contains this text.
            times: How many requests it answers before it is spent.
            after: Run the handler first, then answer the fault (a lost answer).
            retry_after: Seconds sent as ``Retry-After`` (and ``retry_after_seconds``).
            code: The problem ``code`` (default ``rate_limited`` or ``injected_fault``).

        Returns:
            The fault (its ``hits`` count the requests it answered).
        """
        fault = Fault(
            status,
            method.upper() if method else None,
            path,
            times,
            after,
            retry_after,
            code or ("rate_limited" if status == 429 else "injected_fault"),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def _take(self, request: web.Request, after: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.after != after or fault.hits >= fault.times:
                    continue
                if fault.method not in (None, request.method):
                    continue
                if fault.path is not None and fault.path not in request.path:
                    continue
                fault.hits += 1
                self.hits += 1
                return fault
        return None

    @staticmethod
    def _answer(fault: Fault) -> web.Response:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        response = problem_response(
            fault.status, fault.code, "Injected by the test fault knob", headers=headers
        )
        return response

    async def run(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer ``request`` through ``handler``, unless an armed fault hits it."""
        before = self._take(request, after=False)
        if before is not None:
            return self._answer(before)
        answer = await handler(request)
        late = self._take(request, after=True)
        return answer if late is None else self._answer(late)

"""Liveness and readiness endpoints built on ``AsyncThalovantClient.healthcheck()``.

``app.include_router(health_router())`` adds ``GET /health/live`` (the process answers: always
200, touches no hub) and ``GET /health/ready`` (200 when every client's link is usable, else
503 with ``Retry-After``). The body names each client's ``ok``, ``state`` and ``protocol``,
never the hub's URL or an error text (docs/protocol.md §8); a failing probe says only which
client is not ready.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from thalovant.client.client import AsyncThalovantClient
from thalovant.fastapi.dependencies import get_service
from thalovant.fastapi.errors import RETRY_AFTER_SECONDS

__all__ = ["health_router"]


async def _probe(client: AsyncThalovantClient, timeout: float) -> dict[str, Any]:
    health = await client.healthcheck(timeout)
    return {"ok": health.ok, "state": client.state, "protocol": client.protocol}


def health_router(*, prefix: str = "/health", timeout: float = 3.0) -> APIRouter:
    """A router with the liveness and readiness endpoints.

    Args:
        prefix: Where they live (``<prefix>/live``, ``<prefix>/ready``).
        timeout: Seconds a readiness probe may spend connecting each client.

    Returns:
        The router, for ``app.include_router``.
    """
    router = APIRouter(prefix=prefix, tags=["health"])

    @router.get("/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        service = get_service(request)
        if service.closing:
            return JSONResponse(
                {"status": "closing", "clients": {}},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        names = list(service.clients)
        results = await asyncio.gather(*(_probe(service.clients[n], timeout) for n in names))
        clients = dict(zip(names, results, strict=True))
        ok = all(result["ok"] for result in results)
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "clients": clients},
            status_code=200 if ok else 503,
            headers={} if ok else {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    return router

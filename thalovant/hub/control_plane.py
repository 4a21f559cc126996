"""Serve the local control plane (``/v1``) on its own aiohttp site.

It joins the control plane's app (:mod:`thalovant.hub.control`) and a listener's gate
(:mod:`thalovant.hub.servers.gate`), so it sits beside the hub object, above both
(docs/architecture.md, "The hub"). The one place that decides where the ``/v1`` app
lives: :class:`LocalControlPlane` mounts
:func:`~thalovant.hub.control.api.build_control_app` under ``/v1`` of a small root app on its
own port (TLS when given a server context). Used by ``thalovant hub``, ``thalovant demo`` and
the tests; once the hub's HTTPS server hosts the app (``app.add_subapp("/v1", ...)``), this
class is the only thing to switch.
"""

from __future__ import annotations

import asyncio
import ssl
from types import TracebackType

from aiohttp import web

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.api import (
    MAX_BODY,
    STATE,
    ControlState,
    build_control_app,
    problem_response,
)
from thalovant.hub.control.faults import FaultInjector
from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.tokens import TokenStore
from thalovant.hub.limits import HubLimits
from thalovant.hub.servers.gate import ConnectionGate

__all__ = ["LocalControlPlane"]


async def _root_not_found(request: web.Request) -> web.Response:
    return problem_response(404, "not_found", "Not Found")


class LocalControlPlane:
    """The local ``/v1`` API for ``hub`` on ``https://<host>:<port>`` (``http://`` without an
    SSL context). ``port=0`` picks a free port. ``api_url`` is what
    :class:`~thalovant.control.client.AsyncThalovantControlPlane` takes.

    ::

        async with LocalHub(state, ssl_context=ctx) as hub, \\
                LocalControlPlane(hub, account, ssl_context=ctx) as control:
            api = AsyncThalovantControlPlane(control.api_url, ssl_context=client_ctx)
    """

    def __init__(
        self,
        hub: ControlledHub,
        account: LocalAccount,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        tokens: TokenStore | None = None,
        limits: HubLimits | None = None,
    ) -> None:
        self.tokens = tokens if tokens is not None else TokenStore()
        """The tokens this control plane issued (hashed)."""
        self.app = build_control_app(hub, account, tokens=self.tokens)
        """The ``/v1`` application (routes relative to ``/v1``)."""
        self._host, self._port, self._ssl = host, port, ssl_context
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self.limits = limits or HubLimits()
        self.gate = ConnectionGate("control-plane listener", self.limits, ssl_context=ssl_context)
        """Connection caps, first-request and keep-alive deadlines (TLS is done by the gate)."""

    @property
    def state(self) -> ControlState:
        """What the handlers share: skills, runtime groups, memory, operations, faults."""
        return self.app[STATE]

    @property
    def faults(self) -> FaultInjector:
        """Test-only faults: make the next matching requests answer 429 or 5xx."""
        return self.app[STATE].faults

    @property
    def port(self) -> int:
        """The bound port (the requested one before start)."""
        return self._port

    @property
    def api_url(self) -> str:
        """``https://<host>:<port>`` (without ``/v1``)."""
        if self._runner is None and self._port == 0:
            raise ThalovantRuntimeError("the control plane is not running yet")
        scheme = "https" if self._ssl is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self._port}"

    async def start(self) -> None:
        """Start serving (``async with`` does this)."""
        if self._runner is not None:
            raise ThalovantRuntimeError("the local control plane is already running")
        root = web.Application(client_max_size=MAX_BODY, middlewares=[self.gate.middleware()])
        root.add_subapp("/v1", self.app)
        root.router.add_route("*", "/{tail:.*}", _root_not_found)
        runner = web.AppRunner(
            root,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self.limits.keepalive_timeout + 1.0,  # the gate's comes first
        )
        await runner.setup()
        assert runner.server is not None
        try:
            listener = await asyncio.get_running_loop().create_server(
                self.gate.protocol_factory(runner.server), self._host, self._port, backlog=128
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener = runner, listener
        self._port = int(listener.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        """Stop serving."""
        runner, self._runner = self._runner, None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self.gate.close_all_waiting()
        if runner is not None:
            await runner.cleanup()
        self.gate.close_all()

    async def __aenter__(self) -> LocalControlPlane:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

"""What the handlers of the local control plane share: the hub, the account, the tokens,
the operations and idempotency replays, the sign-in lockout (docs/protocol.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.resources import IdempotencyCache, OperationStore
from thalovant.hub.control.tokens import TokenStore

__all__ = ["STATE", "ControlState", "control_state", "mount_prefix"]


@dataclass
class ControlState:
    """Everything the handlers share."""

    hub: ControlledHub
    account: LocalAccount
    tokens: TokenStore
    operations: OperationStore = field(default_factory=OperationStore)
    idempotency: IdempotencyCache = field(default_factory=IdempotencyCache)
    failed_logins: int = 0
    locked_until: float = 0.0


STATE = web.AppKey("thalovant_control_state", ControlState)
"""Where the app keeps its :class:`ControlState`."""


def control_state(request: web.Request) -> ControlState:
    """The :class:`ControlState` of the app serving ``request``."""
    return request.app[STATE]


def mount_prefix(request: web.Request, route: str) -> str:
    """Where this app is mounted (``/v1``), from the request path and the route's tail."""
    path = request.path
    return path[: -len(route)] if route and path.endswith(route) else path

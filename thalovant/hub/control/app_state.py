"""What the handlers of the local control plane share: the hub, the account, the tokens,
the operations and idempotency replays, the sign-in lockout (docs/protocol.md §7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.device_store import DeviceLogins
from thalovant.hub.control.faults import FaultInjector
from thalovant.hub.control.groups_store import RuntimeGroups
from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.memory_store import MemoryStore
from thalovant.hub.control.resources import IdempotencyCache, OperationStore, hub_id_for
from thalovant.hub.control.skill_ops import HubSkillManager
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
    device: DeviceLogins = field(default_factory=DeviceLogins)
    """Pending device sign-ins and native-app authorization codes."""
    faults: FaultInjector = field(default_factory=FaultInjector)
    """Test-only faults (:class:`~thalovant.hub.control.faults.FaultInjector`)."""
    hub_edits: dict[str, Any] = field(default_factory=dict)
    """Changes made to the served hub's resource (title, description, visibility)."""
    extra_hubs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Hubs created through the API (records; no process runs them)."""
    ratings: dict[str, dict[str, int]] = field(default_factory=dict)
    """Hub id → user id → rating."""
    skills: HubSkillManager = field(init=False)
    """The served hub's skills and its runtime group config."""
    groups: RuntimeGroups = field(init=False)
    """Every runtime group."""
    memory: MemoryStore = field(init=False)
    """Memory items (they reach the hub's skills)."""

    def __post_init__(self) -> None:
        hub_id = hub_id_for(self.hub)
        self.skills = HubSkillManager(self.hub, self.operations, hub_id=hub_id)
        self.groups = RuntimeGroups(self.skills, self.account.user_id)
        self.memory = MemoryStore(self.account.user_id, hub_id)
        self.hub.runtime.memory_source = self.memory.for_skills


STATE = web.AppKey("thalovant_control_state", ControlState)
"""Where the app keeps its :class:`ControlState`."""


def control_state(request: web.Request) -> ControlState:
    """The :class:`ControlState` of the app serving ``request``."""
    return request.app[STATE]


def mount_prefix(request: web.Request, route: str) -> str:
    """Where this app is mounted (``/v1``), from the request path and the route's tail."""
    path = request.path
    return path[: -len(route)] if route and path.endswith(route) else path

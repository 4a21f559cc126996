"""The local control plane (``/v1``): the app, its routes, the account, tokens and resources.

Independent of the hub's servers; it types the hub it serves as
:class:`~thalovant.hub.control.host.ControlledHub` (docs/protocol.md §7,
docs/architecture.md, "The hub").
"""

from __future__ import annotations

from thalovant.hub.control.account import LocalAccount, account_from_options
from thalovant.hub.control.api import ROUTES, build_control_app
from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.tokens import TokenStore

__all__ = [
    "ROUTES",
    "ControlledHub",
    "LocalAccount",
    "TokenStore",
    "account_from_options",
    "build_control_app",
]

"""Long-lived clients: agents with event handlers, and hub sessions that keep one link up.

Facades over :class:`~thalovant.client.client.AsyncThalovantClient` (and its blocking twin):
the client's supervisor is the one state machine of the connection; a session holds it with a
:class:`HubSessionPolicy`, an agent adds handlers and ``run_forever``. See the README section
"Agents and long-running clients".
"""

from __future__ import annotations

from thalovant.agent.agent import AsyncThalovantAgent
from thalovant.agent.blocking import HubSession, ThalovantAgent
from thalovant.agent.origin import OriginPreference, preferred_origin
from thalovant.agent.session import AsyncHubSession, HubSessionState
from thalovant.link.policy import HubKeyChange, HubKeyPolicy, HubSessionPolicy, accept_hub_keys

__all__ = [
    "AsyncHubSession",
    "AsyncThalovantAgent",
    "HubKeyChange",
    "HubKeyPolicy",
    "HubSession",
    "HubSessionPolicy",
    "HubSessionState",
    "OriginPreference",
    "ThalovantAgent",
    "accept_hub_keys",
    "preferred_origin",
]

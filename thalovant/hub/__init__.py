"""The local hub: a HiveMind v3 responder with a client registry and skills, on loopback.

It reuses :mod:`thalovant.protocol` in the responder role; the carriers move frames, the
session (:mod:`thalovant.hub.responder.session`) runs the handshake and the encrypted channel, the
dispatcher applies the policy and hands utterances to the skill runtime. ``thalovant hub``
runs it from the command line and :mod:`thalovant.testing` gives it to pytest.

Runs on asyncio (the ``websockets`` server).
"""

from __future__ import annotations

from thalovant.hub.hub import LocalHub, write_identity_file
from thalovant.hub.limits import HubLimits
from thalovant.hub.responder.demo import demo_skills
from thalovant.hub.responder.dispatch import PolicyViolation, SessionView
from thalovant.hub.responder.session import HubSession, SessionClosed
from thalovant.hub.responder.skills import HubSkill, SkillContext
from thalovant.hub.state.allowed_types import DEFAULT_ALLOWED_TYPES
from thalovant.hub.state.registry import ClientRecord, ClientRegistry

__all__ = [
    "DEFAULT_ALLOWED_TYPES",
    "ClientRecord",
    "ClientRegistry",
    "HubLimits",
    "HubSession",
    "HubSkill",
    "LocalHub",
    "PolicyViolation",
    "SessionClosed",
    "SessionView",
    "SkillContext",
    "demo_skills",
    "write_identity_file",
]

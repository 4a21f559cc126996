"""The local hub: a HiveMind v3 responder with a client registry and skills, on loopback.

It reuses :mod:`thalovant.protocol` in the responder role; the carriers move frames, the
session (:mod:`thalovant.hub.session`) runs the handshake and the encrypted channel, the
dispatcher applies the policy and hands utterances to the skill runtime. ``thalovant hub``
runs it from the command line and :mod:`thalovant.testing` gives it to pytest.

Runs on asyncio (the ``websockets`` server).
"""

from __future__ import annotations

from .demo import demo_skills
from .dispatch import PolicyViolation, SessionView
from .hub import LocalHub, write_identity_file
from .limits import HubLimits
from .policy import DEFAULT_ALLOWED_TYPES
from .registry import ClientRecord, ClientRegistry
from .session import HubSession, SessionClosed
from .skills import HubSkill, SkillContext

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

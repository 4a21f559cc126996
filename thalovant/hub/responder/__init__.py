"""The hub's responder: sessions, dispatch, policy, skills and the reassembly budget.

The HiveMind v3 responder role on top of :mod:`thalovant.protocol`, above the hub's state and
below its servers and control plane (docs/architecture.md, "The hub").
"""

from __future__ import annotations

from thalovant.hub.responder.demo import demo_skills
from thalovant.hub.responder.dispatch import Dispatcher, PolicyViolation, SessionView
from thalovant.hub.responder.hooks import SkillHooks
from thalovant.hub.responder.reassembly import ReassemblyPool
from thalovant.hub.responder.session import HubServices, HubSession, SessionClosed
from thalovant.hub.responder.skills import HubSkill, SkillContext, SkillRuntime

__all__ = [
    "Dispatcher",
    "HubServices",
    "HubSession",
    "HubSkill",
    "PolicyViolation",
    "ReassemblyPool",
    "SessionClosed",
    "SessionView",
    "SkillContext",
    "SkillHooks",
    "SkillRuntime",
    "demo_skills",
]

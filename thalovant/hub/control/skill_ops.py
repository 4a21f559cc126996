"""The hub's skills as the local control plane manages them: install, update and remove from
the local marketplace, as operations that really change what the hub answers.

A change is accepted at once (HTTP 202, operation ``requested``) and then moves
``committed`` → ``applied`` → ``ready``, one step every :attr:`HubSkillManager.step_seconds`;
at ``applied`` the skill is added to (or removed from) the hub's
:class:`~thalovant.hub.responder.skills.SkillRuntime`. The runtime group config of the hub's
own group (``language``, ``enabled_skills``) is applied through the runtime's ``gate``
(docs/control-plane.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import OperationStore
from thalovant.hub.control.tokens import iso_time
from thalovant.hub.responder.skills import HubSkill, SkillContext

__all__ = ["LOCAL_GROUP_ID", "HubSkillManager", "primary_language"]

logger = logging.getLogger("thalovant.hub.control")

LOCAL_GROUP_ID = "rg_local"
"""The runtime group the local hub runs on."""
_HISTORY = 1000


def primary_language(lang: str) -> str:
    """``en`` for ``en-US``, ``en_us`` or ``EN``."""
    return lang.replace("_", "-").split("-", 1)[0].lower()


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:16] + '"'


class HubSkillManager:
    """Installed versions, pending changes, history, and the hub's own group config."""

    def __init__(
        self,
        hub: ControlledHub,
        operations: OperationStore,
        *,
        hub_id: str,
        step_seconds: float = 0.15,
    ) -> None:
        self.hub, self.operations, self.hub_id = hub, operations, hub_id
        self.step_seconds = step_seconds
        """Seconds between the steps of a skill operation."""
        self.versions: dict[str, str] = {}
        for skill in hub.runtime.skills:
            found = hub.marketplace.version_of(skill)
            if found is not None:
                self.versions[skill.name] = found
        self.changed_at: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        self.history: deque[dict[str, Any]] = deque(maxlen=_HISTORY)
        self.config: dict[str, Any] = {"language": None, "enabled_skills": None}
        """The hub's runtime group config, applied by :meth:`allows`."""
        self._tasks: set[asyncio.Task[None]] = set()
        hub.runtime.gate = self.allows

    # ----------------------------------------------------------------------- config

    def allows(self, skill: HubSkill, ctx: SkillContext) -> bool:
        """The runtime's gate: the group's ``enabled_skills`` and ``language``."""
        enabled = self.config.get("enabled_skills")
        if isinstance(enabled, list) and skill.name not in enabled:
            return False
        lang = self.config.get("language")
        return not (
            isinstance(lang, str) and lang and primary_language(lang) != primary_language(ctx.lang)
        )

    # ------------------------------------------------------------------------- rows

    def _row(self, skill: HubSkill) -> dict[str, Any]:
        name = skill.name
        entry = self.hub.marketplace.entry(name)
        version = self.versions.get(name)
        latest = entry.latest if entry is not None and entry.versions else None
        enabled = self.config.get("enabled_skills")
        active = not (isinstance(enabled, list) and name not in enabled)
        state = "updating" if name in self.pending else ("installed" if active else "disabled")
        return {
            "skill": name,
            "state": state,
            "title": entry.title if entry else None,
            "marketplace_skill_id": f"mk_{name}" if entry else None,
            "package_name": name,
            "source_type": "catalog" if entry else "local",
            "install_source": "marketplace" if entry else "hub",
            "version": version,
            "installed_version": version,
            "observed_version": version,
            "latest_version": latest,
            "available_version": latest,
            "update_available": bool(version and latest and version != latest),
            "changelog": entry.changelogs.get(latest or "", "") or None if entry else None,
            "active": active,
            "operator_phase": "ready",
            "last_transition_at": self.changed_at.get(name),
            "etag": _etag(name, version, active),
        }

    def rows(self) -> list[dict[str, Any]]:
        """Every installed skill, then the pending installs."""
        rows = [self._row(s) for s in self.hub.runtime.skills]
        shown = {r["skill"] for r in rows}
        for name in self.pending:
            if name not in shown:
                rows.append({"skill": name, "state": "installing", "active": False})
        return rows

    def installed(self, name: str) -> HubSkill | None:
        """The running skill called ``name``."""
        return self.hub.runtime.get(name)

    # ---------------------------------------------------------------------- changes

    def _resolve(self, name: str, version: str) -> tuple[str, HubSkill]:
        found = self.hub.marketplace.resolve(name, version)
        if found is None:
            if self.hub.marketplace.entry(name) is None:
                raise ApiProblem(404, "skill_not_found", "No marketplace skill with this name")
            raise ApiProblem(404, "version_not_found", "This skill has no such version")
        return found

    def check_idle(self, name: str) -> None:
        if name in self.pending:
            raise ApiProblem(409, "skill_change_pending", "A change of this skill is under way")

    def install(self, name: str, version: str, prefix: str) -> dict[str, Any]:
        """Accept an install; raises 404 (unknown), 409 (installed or busy)."""
        self.check_idle(name)
        if self.installed(name) is not None:
            raise ApiProblem(409, "skill_already_installed", "This skill is installed already")
        chosen, skill = self._resolve(name, version)
        return self._start(
            "install", name, chosen, None, prefix, lambda: self.add_now(skill, chosen)
        )

    def update(self, name: str, version: str, etag: str | None, prefix: str) -> dict[str, Any]:
        """Accept a version change; raises 404, 409 or 412."""
        self.check_idle(name)
        current = self.installed(name)
        if current is None:
            raise ApiProblem(404, "skill_not_installed", "This skill is not installed")
        if etag is not None and etag.strip() not in ("*", self._row(current)["etag"]):
            raise ApiProblem(412, "precondition_failed", "The skill changed; read it again")
        chosen, skill = self._resolve(name, version)
        before = self.versions.get(name)
        return self._start(
            "update", name, chosen, before, prefix, lambda: self.add_now(skill, chosen)
        )

    def remove(self, name: str, prefix: str) -> dict[str, Any]:
        """Accept a removal; raises 404 or 409."""
        self.check_idle(name)
        if self.installed(name) is None:
            raise ApiProblem(404, "skill_not_installed", "This skill is not installed")
        before = self.versions.get(name)
        return self._start("remove", name, None, before, prefix, lambda: self.drop_now(name))

    def add_now(self, skill: HubSkill, version: str) -> None:
        self.hub.runtime.add(skill)
        self.versions[skill.name] = version
        self.changed_at[skill.name] = iso_time(time.time())

    def drop_now(self, name: str) -> None:
        self.hub.runtime.remove(name)
        self.versions.pop(name, None)
        self.changed_at[name] = iso_time(time.time())

    def _start(
        self,
        action: str,
        name: str,
        version: str | None,
        previous: str | None,
        prefix: str,
        apply: Callable[[], None],
    ) -> dict[str, Any]:
        details = {"hub_id": self.hub_id, "skill": name, "action": action, "version": version}
        op = self.operations.start(f"hub.skill.{action}", "hub", self.hub_id, details, prefix)
        self.pending[name] = op["id"]
        answer = {
            "operation_id": op["id"],
            "skill": name,
            "version": version,
            "state": op["status"],
            "hub_id": self.hub_id,
            "runtime_group_id": LOCAL_GROUP_ID,
            "previous_version": previous,
            "operation": op,
        }
        entry = {k: v for k, v in answer.items() if k != "operation"}
        entry.update(action=action, requested_at=op["created_at"], finished_at=None)
        self.history.appendleft(entry)
        task = asyncio.get_running_loop().create_task(self._drive(op["id"], name, apply, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return answer

    async def _drive(
        self, op_id: str, name: str, apply: Callable[[], None], entry: dict[str, Any]
    ) -> None:
        try:
            for status in ("committed", "applied", "ready"):
                await asyncio.sleep(self.step_seconds)
                if status == "applied":
                    apply()
                self.operations.update(op_id, status)
                entry["state"] = status
        except Exception as exc:  # a skill that will not install must not kill the hub
            logger.exception("skill operation %s failed", op_id)
            self.operations.update(
                op_id, "failed", error_code="apply_failed", error_message=type(exc).__name__
            )
            entry["state"] = "failed"
        finally:
            self.pending.pop(name, None)
            entry["finished_at"] = iso_time(time.time())

    async def aclose(self) -> None:
        """Cancel the operations still running (the app's cleanup)."""
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ capabilities

    def capabilities(self, plane: Mapping[str, Any]) -> dict[str, Any]:
        """What the running hub can do, observed now."""
        skills = self.hub.runtime.skills
        return {
            "hub_id": self.hub_id,
            "source": "local-hub",
            "observed_at": iso_time(time.time()),
            "runtime_group_id": LOCAL_GROUP_ID,
            "protocols": dict(plane.get("protocols", {})),
            "languages": [self.config.get("language") or "en-us"],
            "skills": [s.name for s in skills],
            "intents": [
                {"skill_id": s.name, "examples": list(s.examples), "description": s.description}
                for s in skills
            ],
        }

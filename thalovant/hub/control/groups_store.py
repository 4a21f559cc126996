"""Runtime groups of the local control plane: the hub's own group (``rg_local``, whose config
and inventory are the running hub's) and any others a user creates (stored, run by no hub).

Config keys the hub applies: ``language`` (a language tag or ``null``) and
``enabled_skills`` (a list of skill names, or ``null`` for every installed one). Other config
keys are stored as given (docs/control-plane.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from typing import Any

from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.skill_ops import LOCAL_GROUP_ID, HubSkillManager
from thalovant.hub.control.tokens import iso_time

__all__ = ["RuntimeGroups", "check_config"]

_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
_MAX_SKILLS = 256
_MAX_GROUPS = 100


def _etag(body: dict[str, Any]) -> str:
    shown = {k: v for k, v in body.items() if k != "etag"}
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode())
    return f'"{digest.hexdigest()[:16]}"'


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` when its applied keys are valid, else a 422."""
    lang = config.get("language")
    if lang is not None and (not isinstance(lang, str) or not _LANG.fullmatch(lang)):
        raise ApiProblem(422, "invalid_config", "config.language must be a language tag or null")
    enabled = config.get("enabled_skills")
    if enabled is not None and (
        not isinstance(enabled, list)
        or len(enabled) > _MAX_SKILLS
        or not all(isinstance(s, str) and 0 < len(s) <= 128 for s in enabled)
    ):
        raise ApiProblem(
            422, "invalid_config", "config.enabled_skills must be a list of skill names or null"
        )
    return config


class RuntimeGroups:
    """Every runtime group; the hub's own one is backed by :class:`HubSkillManager`."""

    def __init__(self, skills: HubSkillManager, owner_id: str) -> None:
        self.skills, self.owner_id = skills, owner_id
        now = iso_time(time.time())
        self._groups: dict[str, dict[str, Any]] = {}
        self._inventory: dict[str, dict[str, dict[str, Any]]] = {}
        self._personas: dict[str, dict[str, Any]] = {}
        self._configs: dict[str, dict[str, Any]] = {}
        local = {
            "id": LOCAL_GROUP_ID,
            "name": "local",
            "description": "The runtime the local hub runs",
            "owner_id": owner_id,
            "hub_ids": [skills.hub_id],
            "created_at": now,
            "updated_at": now,
        }
        self._store(local)
        self._personas[LOCAL_GROUP_ID] = {}

    # ------------------------------------------------------------------------ groups

    def _store(self, group: dict[str, Any]) -> dict[str, Any]:
        group["etag"] = _etag(group)
        self._groups[group["id"]] = group
        return dict(group)

    def all(self) -> list[dict[str, Any]]:
        """Every group, oldest first."""
        return [dict(g) for g in self._groups.values()]

    def get(self, group_id: str) -> dict[str, Any]:
        """One group, or a 404."""
        found = self._groups.get(group_id)
        if found is None:
            raise ApiProblem(404, "runtime_group_not_found", "No runtime group with this id")
        return dict(found)

    def _name_free(self, name: str, but: str | None = None) -> None:
        if any(g["name"] == name and g["id"] != but for g in self._groups.values()):
            raise ApiProblem(409, "runtime_group_exists", "A runtime group with this name exists")

    def create(self, name: str, description: str | None, config: dict[str, Any]) -> dict[str, Any]:
        """A new group (409 when the name is taken)."""
        self._name_free(name)
        if len(self._groups) >= _MAX_GROUPS:
            raise ApiProblem(403, "plan_limit", "No more runtime groups on the local plan")
        now = iso_time(time.time())
        group_id = f"rg_{secrets.token_hex(8)}"
        body: dict[str, Any] = {
            "id": group_id,
            "name": name,
            "description": description,
            "owner_id": self.owner_id,
            "hub_ids": [],
            "created_at": now,
            "updated_at": now,
        }
        self._configs[group_id] = {"language": None, "enabled_skills": None, **check_config(config)}
        self._inventory[group_id] = {}
        self._personas[group_id] = {}
        return self._store(body)

    @staticmethod
    def check_etag(current: dict[str, Any], etag: str | None) -> None:
        """412 when ``etag`` is given and stale."""
        if etag is not None and etag.strip() not in ("*", current["etag"]):
            raise ApiProblem(412, "precondition_failed", "It changed (etag mismatch); read again")

    def update(self, group_id: str, changes: dict[str, Any], etag: str | None) -> dict[str, Any]:
        """Rename or describe a group."""
        group = self.get(group_id)
        self.check_etag(group, etag)
        if "name" in changes:
            self._name_free(changes["name"], but=group_id)
        group.update(changes, updated_at=iso_time(time.time()))
        return self._store(group)

    def delete(self, group_id: str, etag: str | None) -> None:
        """Delete a group no hub runs on (409 for the hub's own)."""
        group = self.get(group_id)
        self.check_etag(group, etag)
        if group["hub_ids"]:
            raise ApiProblem(409, "runtime_group_in_use", "A hub runs on this runtime group")
        for store in (self._groups, self._inventory, self._personas, self._configs):
            store.pop(group_id, None)

    # ------------------------------------------------------------------------ config

    def _config_of(self, group_id: str) -> dict[str, Any]:
        self.get(group_id)
        return self.skills.config if group_id == LOCAL_GROUP_ID else self._configs[group_id]

    def config_answer(self, group_id: str) -> dict[str, Any]:
        """``{runtime_group_id, config, personas, etag, updated_at}``."""
        config = dict(self._config_of(group_id))
        personas = dict(self._personas.get(group_id, {}))
        body = {"runtime_group_id": group_id, "config": config, "personas": personas}
        body["etag"] = _etag(body)
        body["updated_at"] = self._groups[group_id]["updated_at"]
        return body

    def set_config(
        self,
        group_id: str,
        config: dict[str, Any],
        personas: dict[str, Any] | None,
        merge: bool,
        etag: str | None,
    ) -> dict[str, Any]:
        """Merge or replace a group's config (the hub's own group applies at once)."""
        self.check_etag(self.config_answer(group_id), etag)
        current = self._config_of(group_id)
        fresh = {**current, **config} if merge else {"language": None, "enabled_skills": None}
        if not merge:
            fresh.update(config)
        check_config(fresh)
        current.clear()
        current.update(fresh)
        if personas is not None:
            self._personas[group_id] = (
                dict(personas)
                if merge is False
                else {
                    **self._personas.get(group_id, {}),
                    **personas,
                }
            )
        self._store({**self._groups[group_id], "updated_at": iso_time(time.time())})
        return self.config_answer(group_id)

    # --------------------------------------------------------------------- inventory

    def inventory(self, group_id: str) -> list[dict[str, Any]]:
        """The skills installed in a group (the hub's own: what the hub runs)."""
        self.get(group_id)
        if group_id == LOCAL_GROUP_ID:
            return [
                {
                    "skill_id": row["skill"],
                    "marketplace_skill_id": row.get("marketplace_skill_id"),
                    "source_type": row.get("source_type"),
                    "version": row.get("version"),
                    "version_pin": row.get("version"),
                    "active": row.get("active", True),
                    "state": row.get("state"),
                }
                for row in self.skills.rows()
            ]
        return [dict(e) for e in self._inventory[group_id].values()]

    def install(self, group_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Add a skill to a group's inventory (the hub's own group: installed at once)."""
        self.get(group_id)
        name = entry["skill_id"]
        version = entry.get("version_pin") or "latest"
        market = self.skills.hub.marketplace
        found = market.resolve(name, version)
        if found is None:
            raise ApiProblem(404, "skill_not_found", "No marketplace skill with this name/version")
        if group_id == LOCAL_GROUP_ID:
            self.skills.check_idle(name)
            if self.skills.installed(name) is not None:
                raise ApiProblem(409, "skill_already_installed", "This skill is installed already")
            self.skills.add_now(found[1], found[0])
        elif name in self._inventory[group_id]:
            raise ApiProblem(409, "skill_already_installed", "This skill is installed already")
        stored = {**entry, "version": found[0], "state": "installed", "runtime_group_id": group_id}
        if group_id != LOCAL_GROUP_ID:
            self._inventory[group_id][name] = stored
        return stored

    def uninstall(self, group_id: str, skill_id: str) -> None:
        """Take a skill out of a group's inventory (the hub's own: removed at once)."""
        self.get(group_id)
        if group_id == LOCAL_GROUP_ID:
            self.skills.check_idle(skill_id)
            if self.skills.installed(skill_id) is None:
                raise ApiProblem(404, "skill_not_installed", "This skill is not installed")
            self.skills.drop_now(skill_id)
        elif self._inventory[group_id].pop(skill_id, None) is None:
            raise ApiProblem(404, "skill_not_installed", "This skill is not installed")

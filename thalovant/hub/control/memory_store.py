"""Memory items of the local control plane, and how they reach the hub's skills.

Items live in memory (bounded: :data:`MAX_ITEMS`). Deleting marks ``deleted_at``; an item past
its ``expires_at`` is expired. :meth:`MemoryStore.for_skills` is the skill runtime's
``memory_source``: each request's :attr:`~thalovant.hub.responder.skills.SkillContext.memory`
holds the live items for this hub (docs/control-plane.md).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.tokens import iso_time
from thalovant.hub.responder.skills import SkillContext

__all__ = ["MAX_ITEMS", "MemoryStore", "parse_time"]

MAX_ITEMS = 2_000
_FOR_SKILLS = 50  # items a skill sees per request, newest first


def parse_time(value: object, what: str) -> float | None:
    """An ISO-8601 time as Unix seconds; ``None`` for null; a 422 otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ApiProblem(422, "invalid_body", f"{what} must be an ISO-8601 time")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiProblem(422, "invalid_body", f"{what} must be an ISO-8601 time") from None
    if when.tzinfo is None:
        raise ApiProblem(422, "invalid_body", f"{what} needs a time zone (e.g. Z)")
    return when.timestamp()


def _etag(item: dict[str, Any]) -> str:
    shown = {k: v for k, v in item.items() if k != "etag"}
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode())
    return f'"{digest.hexdigest()[:16]}"'


class MemoryStore:
    """Memory items by id (thread-safe)."""

    def __init__(self, owner_id: str, hub_id: str) -> None:
        self.owner_id, self.hub_id = owner_id, hub_id
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _expired(item: dict[str, Any], now: float) -> bool:
        expires = item.get("_expires")
        return expires is not None and expires <= now

    @staticmethod
    def shown(item: dict[str, Any]) -> dict[str, Any]:
        """The API form (without internal keys)."""
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A new item from checked ``fields`` (``content``, ``kind``, ``scope``, ...)."""
        now = time.time()
        item = {
            "id": f"mem_{secrets.token_hex(8)}",
            "owner_id": self.owner_id,
            "kind": "fact",
            "scope": "user",
            "hub_id": None,
            "metadata": {},
            "expires_at": None,
            **fields,
            "created_at": iso_time(now),
            "updated_at": iso_time(now),
            "deleted_at": None,
        }
        item["_expires"] = parse_time(item.get("expires_at"), "expires_at")
        item["etag"] = _etag(self.shown(item))
        with self._lock:
            if len(self._items) >= MAX_ITEMS:
                raise ApiProblem(403, "plan_limit", f"At most {MAX_ITEMS} memory items")
            self._items[item["id"]] = item
        return self.shown(item)

    def _find(self, memory_id: str) -> dict[str, Any]:
        found = self._items.get(memory_id)
        if found is None or found["deleted_at"] is not None:
            raise ApiProblem(404, "memory_not_found", "No memory item with this id")
        return found

    def get(self, memory_id: str) -> dict[str, Any]:
        """One live or expired item (deleted ones are gone: 404)."""
        with self._lock:
            return self.shown(self._find(memory_id))

    def update(self, memory_id: str, fields: dict[str, Any], etag: str | None) -> dict[str, Any]:
        """Change an item (412 on a stale ``etag``)."""
        with self._lock:
            item = self._find(memory_id)
            if etag is not None and etag.strip() not in ("*", item["etag"]):
                raise ApiProblem(412, "precondition_failed", "The item changed; read it again")
            item.update(fields, updated_at=iso_time(time.time()))
            if "expires_at" in fields:
                item["_expires"] = parse_time(item["expires_at"], "expires_at")
            item["etag"] = _etag(self.shown(item))
            return self.shown(item)

    def delete(self, memory_id: str) -> None:
        """Mark an item deleted (skills stop seeing it at once)."""
        with self._lock:
            item = self._find(memory_id)
            item["deleted_at"] = iso_time(time.time())
            item["etag"] = _etag(self.shown(item))

    def select(
        self,
        *,
        scope: str | None = None,
        kind: str | None = None,
        owner_id: str | None = None,
        hub_id: str | None = None,
        query: str | None = None,
        include_deleted: bool = False,
        include_expired: bool = False,
    ) -> list[dict[str, Any]]:
        """The items matching every filter given, oldest first."""
        now = time.time()
        needle = query.lower() if query else None
        with self._lock:
            items = list(self._items.values())
        out = []
        for item in items:
            if item["deleted_at"] is not None and not include_deleted:
                continue
            if self._expired(item, now) and not include_expired:
                continue
            if (scope and item["scope"] != scope) or (kind and item["kind"] != kind):
                continue
            if owner_id and item["owner_id"] != owner_id:
                continue
            if hub_id and item["hub_id"] not in (None, hub_id):
                continue
            if needle and needle not in str(item.get("content", "")).lower():
                continue
            out.append(self.shown(item))
        return out

    def summary(self, owner_id: str | None) -> dict[str, Any]:
        """Counts of live items by kind and scope, and of deleted and expired ones."""
        every = self.select(owner_id=owner_id, include_deleted=True, include_expired=True)
        now = time.time()
        live = self.select(owner_id=owner_id)
        expired = [
            i
            for i in every
            if i["deleted_at"] is None
            and i.get("expires_at")
            and (parse_time(i["expires_at"], "expires_at") or now) <= now
        ]
        return {
            "owner_id": owner_id or self.owner_id,
            "total": len(live),
            "by_kind": dict(Counter(i["kind"] for i in live)),
            "by_scope": dict(Counter(i["scope"] for i in live)),
            "deleted": sum(1 for i in every if i["deleted_at"] is not None),
            "expired": len(expired),
        }

    def for_skills(self, ctx: SkillContext) -> list[dict[str, Any]]:
        """The skill runtime's ``memory_source``: this hub's live items, newest first."""
        items = self.select(hub_id=self.hub_id)
        items.reverse()
        keep = ("id", "kind", "scope", "content", "metadata")
        return [{k: i.get(k) for k in keep} for i in items[:_FOR_SKILLS]]

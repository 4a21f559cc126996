"""Resources of the local control plane: the hub and client objects, etags, pages,
operations and idempotency replays. Pure data shaping and small in-memory stores; the HTTP
side is :mod:`thalovant.hub.control.api`.

Client resources are derived from the hub's registry (no second store): a client's id is a
hash of its access key and its etag a hash of its record, so clients registered by
``thalovant hub`` or :meth:`~thalovant.hub.LocalHub.register_client` show up too, and the ids
survive restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from thalovant.hub.control.host import ControlledHub
from thalovant.hub.control.tokens import iso_time
from thalovant.hub.state.registry import ClientRecord

__all__ = [
    "HUB_SLUG",
    "HUB_TITLE",
    "IdempotencyCache",
    "OperationStore",
    "client_etag",
    "client_id_for",
    "client_resource",
    "decode_cursor",
    "hub_id_for",
    "hub_resource",
    "page",
]

HUB_SLUG = "local-hub"
HUB_TITLE = "Thalovant local hub"
_KEEP = 1024  # operations and idempotency answers remembered
_MAX_CURSOR = 64  # characters of an encoded cursor; ours are about 20
_OFFSET = re.compile(r"o:(0|[1-9][0-9]{0,11})")  # ASCII digits, at most 12 of them


def _short_hash(*parts: str, size: int = 20) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:size]


def hub_id_for(hub: ControlledHub) -> str:
    """The hub's id on the control plane (stable: derived from its node id)."""
    return f"hub_{_short_hash('hub', hub.node_id, size=16)}"


def hub_resource(hub: ControlledHub, owner_id: str) -> dict[str, Any]:
    """The hub object: ids, title, endpoints and protocol flags from
    :meth:`~thalovant.hub.LocalHub.data_plane`, an etag."""
    plane = hub.data_plane()
    flags = {k: {"enabled": bool(v)} for k, v in plane["protocols"].items()}
    endpoints = dict(plane["data_plane_endpoints"])
    body: dict[str, Any] = {
        "id": hub_id_for(hub),
        "slug": HUB_SLUG,
        "public_ref": HUB_SLUG,
        "name": HUB_SLUG,
        "title": HUB_TITLE,
        "description": "A HiveMind v3 hub on this machine, with demo skills",
        "domain": None,
        "owner_id": owner_id,
        "visibility": "public",
        "node_id": hub.node_id,
        "data_plane_endpoints": endpoints,
        "spec": {"protocols": flags, "catalog": {"title": HUB_TITLE}},
    }
    body["etag"] = f'"{_short_hash(json.dumps(body, sort_keys=True), size=16)}"'
    return body


def client_id_for(access_key: str) -> str:
    """A client's id on the control plane (a hash of its access key, never the key)."""
    return f"cl_{_short_hash('client', access_key)}"


def client_etag(record: ClientRecord) -> str:
    """Changes whenever the record does (name, policy, pinned key, ...)."""
    shown = record.as_dict()
    shown.pop("password", None)
    return f'"{_short_hash(json.dumps(shown, sort_keys=True), size=16)}"'


def client_resource(
    record: ClientRecord,
    hub_id: str,
    owner_id: str,
    *,
    prefix: str = "/v1",
    include_spec: bool = True,
) -> dict[str, Any]:
    """The client object; secrets appear only as ``*Ref`` references."""
    cid = client_id_for(record.access_key)
    body: dict[str, Any] = {
        "id": cid,
        "hub_id": hub_id,
        "owner_id": owner_id,
        "name": record.name,
        "site_id": record.site_id,
        "active": True,
        "admin": record.admin,
        "allowed_types": list(record.allowed_types),
        "client_key_pinned": record.client_key is not None,
        "created_at": record.created_at or None,
        "etag": client_etag(record),
        "links": {"self": f"{prefix}/clients/{cid}"},
    }
    if include_spec:
        body["spec"] = {
            "version": "1",
            "siteId": record.site_id,
            "apiKeyRef": f"local-vault://clients/{cid}/apiKey",
            "passwordRef": f"local-vault://clients/{cid}/password",
        }
    return body


def decode_cursor(cursor: str | None) -> int | None:
    """The offset in an opaque cursor; 0 for none; ``None`` when it is not one of ours."""
    if not cursor:
        return 0
    if len(cursor) > _MAX_CURSOR:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    found = _OFFSET.fullmatch(text)
    return None if found is None else int(found.group(1))


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode("ascii")).decode("ascii").rstrip("=")


def page(
    items: Sequence[dict[str, Any]], offset: int, limit: int, path: str, query: Mapping[str, str]
) -> dict[str, Any]:
    """``{"data", "meta": {"count", "total", "next"}, "links": {"self", "next"}}``.

    The links repeat ``query`` (checked by the caller: storable text), URL-encoded, without
    its cursor."""
    chunk = list(items[offset : offset + limit])
    more = offset + limit < len(items)
    cursor = _encode_cursor(offset + limit) if more else None
    kept = {k: v for k, v in query.items() if k != "cursor"}
    kept["limit"] = str(limit)
    base = urlencode(sorted(kept.items()))
    return {
        "data": chunk,
        "meta": {"count": len(chunk), "total": len(items), "next": cursor},
        "links": {
            "self": f"{path}?{base}",
            "next": f"{path}?{base}&cursor={cursor}" if cursor else None,
        },
    }


class OperationStore:
    """Operations by id (the newest :data:`_KEEP`). Client admission on the local hub is
    immediate, so admission operations are created ``ready``."""

    def __init__(self) -> None:
        self._ops: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def admission(self, client_id: str, hub_id: str, prefix: str = "/v1") -> dict[str, Any]:
        """Record a finished ``client.admission`` operation for a new client."""
        now = iso_time(time.time())
        op_id = f"op_{secrets.token_hex(10)}"
        op: dict[str, Any] = {
            "id": op_id,
            "kind": "client.admission",
            "aggregate_type": "client",
            "aggregate_id": client_id,
            "status": "ready",
            "details": {"hub_id": hub_id},
            "git_commit_sha": None,
            "error_code": None,
            "error_message": None,
            "created_at": now,
            "updated_at": now,
            "committed_at": now,
            "applied_at": now,
            "ready_at": now,
            "terminal_at": now,
            "links": {"self": f"{prefix}/operations/{op_id}"},
        }
        with self._lock:
            self._ops[op_id] = op
            while len(self._ops) > _KEEP:
                self._ops.popitem(last=False)
        return dict(op)

    def start(
        self,
        kind: str,
        aggregate_type: str,
        aggregate_id: str,
        details: Mapping[str, Any],
        prefix: str = "/v1",
    ) -> dict[str, Any]:
        """Record a new operation in status ``requested``; :meth:`update` moves it on."""
        now = iso_time(time.time())
        op_id = f"op_{secrets.token_hex(10)}"
        op: dict[str, Any] = {
            "id": op_id,
            "kind": kind,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "status": "requested",
            "details": dict(details),
            "git_commit_sha": None,
            "error_code": None,
            "error_message": None,
            "created_at": now,
            "updated_at": now,
            "committed_at": None,
            "applied_at": None,
            "ready_at": None,
            "terminal_at": None,
            "links": {"self": f"{prefix}/operations/{op_id}"},
        }
        with self._lock:
            self._ops[op_id] = op
            while len(self._ops) > _KEEP:
                self._ops.popitem(last=False)
        return dict(op)

    def update(self, op_id: str, status: str, **fields: Any) -> dict[str, Any] | None:
        """Move an operation to ``status`` (stamping ``<status>_at``, and ``terminal_at``
        for ``ready``/``failed``/``timed_out``); ``None`` when it is forgotten."""
        now = iso_time(time.time())
        with self._lock:
            op = self._ops.get(op_id)
            if op is None:
                return None
            op.update(fields, status=status, updated_at=now)
            if f"{status}_at" in op:
                op[f"{status}_at"] = now
            if status in ("ready", "failed", "timed_out"):
                op["terminal_at"] = now
            return dict(op)

    def get(self, op_id: str) -> dict[str, Any] | None:
        """The operation, or ``None``."""
        with self._lock:
            found = self._ops.get(op_id)
            return None if found is None else dict(found)


class IdempotencyCache:
    """``Idempotency-Key`` → (request fingerprint, status, answer) for the newest
    :data:`_KEEP` keys, so a retried create returns the first answer instead of a second
    client."""

    def __init__(self) -> None:
        self._answers: OrderedDict[str, tuple[str, int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def fingerprint(body: Mapping[str, Any]) -> str:
        """A digest of the request body (key order does not matter)."""
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()

    def get(self, key: str) -> tuple[str, int, dict[str, Any]] | None:
        """The remembered ``(fingerprint, status, answer)``, or ``None``."""
        with self._lock:
            return self._answers.get(key)

    def put(self, key: str, fingerprint: str, status: int, answer: dict[str, Any]) -> None:
        """Remember the answer given for ``key``."""
        with self._lock:
            self._answers[key] = (fingerprint, status, answer)
            while len(self._answers) > _KEEP:
                self._answers.popitem(last=False)

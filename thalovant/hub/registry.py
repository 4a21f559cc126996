"""The hub's client registry: who may connect, with which password, sending what.

One JSON file, ``<state_dir>/clients.json`` (mode 0600, replaced atomically on every change)::

    {"version": 1, "clients": [{"access_key", "password", "name", "site_id",
                                "allowed_types": [...], "admin": false,
                                "client_key": "<64 hex>" | null, "created_at": "<ISO 8601>"}]}

The hub must know each password: it derives the client's Noise PSK from it (wire.md §2.3).
``client_key`` is the client static key pinned after the first XX handshake; it enables
``KKpsk0`` and makes the hub refuse any other key for that access key.

Methods block on file I/O (a few KiB); async callers run the mutating ones in a worker thread.
They are thread-safe.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec

from thalovant.errors import ThalovantRuntimeError

from ._files import read_json_object, write_private_json
from .policy import DEFAULT_ALLOWED_TYPES, normalize_allowed_types

__all__ = ["CLIENTS_FILE", "ClientRecord", "ClientRegistry"]

CLIENTS_FILE = "clients.json"
"""File name of the registry inside the hub's state folder."""

_KEY_HEX = re.compile(r"[0-9a-f]{64}")


class ClientRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One registered client. ``repr()`` hides the access key and the password."""

    access_key: str
    password: str
    name: str
    site_id: str
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    admin: bool = False
    client_key: str | None = None
    """The pinned client static public key (64 lowercase hex chars), once known."""
    created_at: str = ""
    mqtt_username: str | None = None
    """The client's own MQTT broker account (minted at registration)."""
    mqtt_password: str | None = None

    def __post_init__(self) -> None:
        for field in ("access_key", "password", "name", "site_id"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"client {field} must be a non-empty string")
        if ":" in self.access_key or any(ch.isspace() for ch in self.access_key):
            raise ValueError("an access key may not contain ':' or whitespace")
        if self.client_key is not None and not _KEY_HEX.fullmatch(self.client_key):
            raise ValueError("client_key must be 64 lowercase hex chars")

    def __repr__(self) -> str:
        pinned = "yes" if self.client_key else "no"
        return (
            f"ClientRecord(name={self.name!r}, site_id={self.site_id!r}, admin={self.admin}, "
            f"allowed_types={list(self.allowed_types)!r}, pinned_key={pinned})"
        )

    def as_dict(self) -> dict[str, Any]:
        """The stored form (with secrets: this is what the hub keeps on disk)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


class ClientRegistry:
    """Registered clients by access key, persisted to ``path`` on every change."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.RLock()
        self._clients: dict[str, ClientRecord] = {}
        stored = read_json_object(path)
        if stored is not None:
            try:
                records = msgspec.convert(stored.get("clients", []), list[ClientRecord])
            except (msgspec.ValidationError, ValueError) as exc:
                raise ThalovantRuntimeError(f"invalid client registry {path}: {exc}") from None
            self._clients = {record.access_key: record for record in records}

    @property
    def path(self) -> Path:
        """The registry file."""
        return self._path

    def get(self, access_key: str) -> ClientRecord | None:
        """The client with this access key, or ``None``."""
        with self._lock:
            return self._clients.get(access_key)

    def records(self) -> list[ClientRecord]:
        """Every registered client, in registration order."""
        with self._lock:
            return list(self._clients.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)

    def __contains__(self, access_key: object) -> bool:
        with self._lock:
            return access_key in self._clients

    def create(
        self,
        name: str,
        *,
        site_id: str | None = None,
        allowed_types: Iterable[str] = DEFAULT_ALLOWED_TYPES,
        admin: bool = False,
        access_key: str | None = None,
        password: str | None = None,
    ) -> ClientRecord:
        """Register a new client; random access key and password unless given.

        ``site_id`` defaults to ``name``. An access key that is already registered raises
        ``ValueError``.
        """
        record = ClientRecord(
            access_key=access_key if access_key is not None else secrets.token_urlsafe(18),
            password=password if password is not None else secrets.token_urlsafe(24),
            name=name,
            site_id=site_id if site_id is not None else name,
            allowed_types=normalize_allowed_types(allowed_types),
            admin=bool(admin),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        with self._lock:
            if record.access_key in self._clients:
                raise ValueError(f"a client with this access key is already registered ({name})")
            self._clients[record.access_key] = record
            self._save()
        return record

    def update(self, access_key: str, /, **changes: Any) -> ClientRecord:
        """Change fields of a client (e.g. ``allowed_types``, ``admin``, ``password``)."""
        if "access_key" in changes:
            raise ValueError("the access key of a client cannot change")
        if "allowed_types" in changes:
            changes["allowed_types"] = normalize_allowed_types(changes["allowed_types"])
        with self._lock:
            record = self._require(access_key)
            updated = msgspec.structs.replace(record, **changes)
            self._clients[access_key] = updated
            self._save()
            return updated

    def pin_client_key(self, access_key: str, key_hex: str) -> str | None:
        """Pin ``key_hex`` unless a key is already pinned; return the key pinned now.

        Compare-and-set: two first connections racing with different keys cannot both win.
        ``None`` when the client is no longer registered.
        """
        key_hex = key_hex.lower()
        with self._lock:
            record = self._clients.get(access_key)
            if record is None:
                return None
            if record.client_key is not None:
                return record.client_key
            self._clients[access_key] = msgspec.structs.replace(record, client_key=key_hex)
            self._save()
            return key_hex

    def unpin_client_key(self, access_key: str) -> bool:
        """Forget the pinned client key (the next XX handshake pins a new one)."""
        with self._lock:
            record = self._require(access_key)
            if record.client_key is None:
                return False
            self._clients[access_key] = msgspec.structs.replace(record, client_key=None)
            self._save()
            return True

    def ensure_mqtt_credentials(self, access_key: str) -> ClientRecord:
        """The client's record with MQTT broker credentials, minting them if missing."""
        with self._lock:
            record = self._require(access_key)
            if record.mqtt_username and record.mqtt_password:
                return record
            updated = msgspec.structs.replace(
                record,
                mqtt_username=f"client-{secrets.token_hex(8)}",
                mqtt_password=secrets.token_urlsafe(24),
            )
            self._clients[access_key] = updated
            self._save()
            return updated

    def by_mqtt_username(self, username: str) -> ClientRecord | None:
        """The client whose MQTT broker username is ``username``."""
        with self._lock:
            return next((r for r in self._clients.values() if r.mqtt_username == username), None)

    def remove(self, access_key: str) -> bool:
        """Unregister a client; open connections are not closed by this."""
        with self._lock:
            if self._clients.pop(access_key, None) is None:
                return False
            self._save()
            return True

    def _require(self, access_key: str) -> ClientRecord:
        record = self._clients.get(access_key)
        if record is None:
            raise KeyError("no client with this access key")
        return record

    def _save(self) -> None:
        # Caller holds the lock.
        clients = [record.as_dict() for record in self._clients.values()]
        write_private_json(self._path, {"version": 1, "clients": clients})

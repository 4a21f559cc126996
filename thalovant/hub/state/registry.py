"""The hub's client registry: who may connect, with which password, sending what.

One JSON file, ``<state_dir>/clients.json`` (mode 0600, replaced atomically on every change)::

    {"version": 1, "clients": [{"access_key", "password", "name", "site_id",
                                "allowed_types": [...], "admin": false,
                                "client_key": "<64 hex>" | null, "created_at": "<ISO 8601>"}]}

The hub must know each password: it derives the client's Noise PSK from it (docs/protocol.md §2.3).
``client_key`` is the client static key pinned after the first XX handshake; it enables
``KKpsk0`` and makes the hub refuse any other key for that access key.

Every string of a record is checked when the record is built (:func:`~thalovant.hub.state.text.
clean_text`: no lone surrogates, control or format characters, bounded lengths), so a record
that exists can always be written. Writes are all-or-nothing: a change is written to disk
first and only then made in memory, so a failed write (disk full, a bad state folder) leaves
memory and disk as they were.

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

from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.hub.state.allowed_types import DEFAULT_ALLOWED_TYPES, normalize_allowed_types
from thalovant.hub.state.files import read_json_object, write_private_json
from thalovant.hub.state.text import clean_text

__all__ = [
    "CLIENTS_FILE",
    "MAX_NAME",
    "MAX_SECRET",
    "ClientExistsError",
    "ClientRecord",
    "ClientRegistry",
    "InvalidClientError",
]

CLIENTS_FILE = "clients.json"
"""File name of the registry inside the hub's state folder."""

MAX_NAME = 128
"""Longest client name and site id (characters)."""
MAX_SECRET = 256
"""Longest access key, password and MQTT credential (characters)."""
_MAX_TYPE, _MAX_TYPES = 256, 1024  # one allowed message type, and how many

_KEY_HEX = re.compile(r"[0-9a-f]{64}")


class InvalidClientError(ThalovantError, ValueError):
    """A client record field is not storable (the message names the field, not its value)."""


class ClientExistsError(ThalovantError, ValueError):
    """A client with this access key is already registered."""


def _checked(value: object, what: str, max_len: int, *, secret: bool = False) -> None:
    try:
        clean_text(value, what, max_len=max_len, strip=False, spaces=not secret)
    except ValueError as exc:
        raise InvalidClientError(str(exc)) from None


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
                raise InvalidClientError(f"client {field} must be a non-empty string")
        if ":" in self.access_key or any(ch.isspace() for ch in self.access_key):
            raise InvalidClientError("an access key may not contain ':' or whitespace")
        _checked(self.access_key, "client access_key", MAX_SECRET, secret=True)
        _checked(self.password, "client password", MAX_SECRET)
        _checked(self.name, "client name", MAX_NAME)
        _checked(self.site_id, "client site_id", MAX_NAME)
        if len(self.allowed_types) > _MAX_TYPES:
            raise InvalidClientError(f"a client may have at most {_MAX_TYPES} allowed types")
        for item in self.allowed_types:
            _checked(item, "an allowed message type", _MAX_TYPE)
        for field in ("mqtt_username", "mqtt_password"):
            value = getattr(self, field)
            if value is not None:
                _checked(value, f"client {field}", MAX_SECRET, secret=True)
        if self.created_at:
            _checked(self.created_at, "client created_at", 64)
        if self.client_key is not None and not _KEY_HEX.fullmatch(self.client_key):
            raise InvalidClientError("client_key must be 64 lowercase hex chars")

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

        ``site_id`` defaults to ``name``. A field that cannot be stored raises
        :class:`InvalidClientError`, an access key that is already registered
        :class:`ClientExistsError` (both are ``ValueError``); either way nothing changes.
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
                raise ClientExistsError(
                    f"a client with this access key is already registered ({record.name})"
                )
            self._commit({**self._clients, record.access_key: record})
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
            self._commit({**self._clients, access_key: updated})
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
            pinned = msgspec.structs.replace(record, client_key=key_hex)
            self._commit({**self._clients, access_key: pinned})
            return key_hex

    def unpin_client_key(self, access_key: str) -> bool:
        """Forget the pinned client key (the next XX handshake pins a new one)."""
        with self._lock:
            record = self._require(access_key)
            if record.client_key is None:
                return False
            unpinned = msgspec.structs.replace(record, client_key=None)
            self._commit({**self._clients, access_key: unpinned})
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
            self._commit({**self._clients, access_key: updated})
            return updated

    def by_mqtt_username(self, username: str) -> ClientRecord | None:
        """The client whose MQTT broker username is ``username``."""
        with self._lock:
            return next((r for r in self._clients.values() if r.mqtt_username == username), None)

    def remove(self, access_key: str) -> bool:
        """Unregister a client; open connections are not closed by this."""
        with self._lock:
            if access_key not in self._clients:
                return False
            self._commit({k: r for k, r in self._clients.items() if k != access_key})
            return True

    def _require(self, access_key: str) -> ClientRecord:
        record = self._clients.get(access_key)
        if record is None:
            raise KeyError("no client with this access key")
        return record

    def _commit(self, clients: dict[str, ClientRecord]) -> None:
        """Write ``clients`` to disk, then make them the registry. Caller holds the lock.

        All-or-nothing: when the write fails, memory keeps what the disk has."""
        stored = [record.as_dict() for record in clients.values()]
        write_private_json(self._path, {"version": 1, "clients": stored})
        self._clients = clients

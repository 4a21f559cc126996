"""The hub's node id and static X25519 key, kept on disk so clients' pins survive restarts.

Layout inside the hub's state folder:

- ``hub_noise.key``: 64 hex chars of the raw 32-byte static private key (mode 0600);
- ``hub.json``: ``{"node_id": ..., "created_at": ...}``. The node id salts every client's PSK
  (docs/protocol.md §2.3), so changing it makes every client re-derive, nothing worse.

:class:`ClientPsks` keeps the PSK of every registered client in memory, so a hub derives each
client's PSK once per password, however many clients it has (a small LRU would make a hub with
more clients than entries derive again on every pinned reconnect).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.state.files import read_json_object, write_private_json, write_private_text
from thalovant.hub.state.registry import ClientRecord, ClientRegistry
from thalovant.identity.psk_wait import derive_psk_async
from thalovant.protocol.handshake import generate_static_private, x25519_public
from thalovant.protocol.psk import PskDeriver

__all__ = ["HUB_KEY_FILE", "HUB_STATE_FILE", "ClientPsks", "HubKeys", "new_node_id"]

HUB_KEY_FILE = "hub_noise.key"
"""File name of the hub's static private key (hex)."""
HUB_STATE_FILE = "hub.json"
"""File name of the hub's node id record."""

_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")


def new_node_id() -> str:
    """A fresh node id: ``thalovant-local-<16 hex>``."""
    return f"thalovant-local-{secrets.token_hex(8)}"


class HubKeys:
    """The hub's node id and static key, loaded from (or created in) ``state_dir``.

    Blocking file I/O; it happens once at hub start and on :meth:`set_static_key`. Reading
    :attr:`static_private` is cheap and thread-safe, so a rotation takes effect for the next
    connection while running ones keep the key they started with.
    """

    def __init__(self, state_dir: Path, *, node_id: str | None = None) -> None:
        self._dir = state_dir
        self._lock = threading.Lock()
        self._node_id = self._load_node_id(node_id)
        self._private = self._load_key()

    @property
    def node_id(self) -> str:
        """The hub's node id (the PSK salt)."""
        return self._node_id

    @property
    def static_private(self) -> bytes:
        """The current static private key (32 raw bytes)."""
        with self._lock:
            return self._private

    @property
    def public_key(self) -> bytes:
        """The current static public key (32 raw bytes); clients pin it."""
        return x25519_public(self.static_private)

    @property
    def key_path(self) -> Path:
        """Where the private key lives."""
        return self._dir / HUB_KEY_FILE

    def set_static_key(self, private: bytes | None = None) -> bytes:
        """Replace the static key (a fresh one unless ``private`` is given) on disk and in
        memory; return the new public key. Pinned clients will see "hub key changed"."""
        key = generate_static_private() if private is None else bytes(private)
        public = x25519_public(key)  # validates the key
        with self._lock:
            write_private_text(self.key_path, key.hex() + "\n")
            self._private = key
        return public

    def _load_node_id(self, wanted: str | None) -> str:
        if wanted is not None and (not isinstance(wanted, str) or not wanted.strip()):
            raise ValueError("node_id must be a non-empty string")
        path = self._dir / HUB_STATE_FILE
        state = read_json_object(path) or {}
        stored = state.get("node_id")
        if wanted is None and isinstance(stored, str) and stored:
            return stored
        node_id = wanted.strip() if wanted is not None else new_node_id()
        if node_id != stored:
            state["node_id"] = node_id
            state.setdefault("created_at", datetime.now(timezone.utc).isoformat())
            write_private_json(path, state)
        return node_id

    def _load_key(self) -> bytes:
        path = self.key_path
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            key = generate_static_private()
            write_private_text(path, key.hex() + "\n")
            return key
        except UnicodeDecodeError:
            text = ""
        if not _KEY_HEX.fullmatch(text):
            raise ThalovantRuntimeError(
                f"{path} must hold 64 hex chars (a raw X25519 private key); refusing to "
                "replace it, because every client pinned the key it belongs to"
            )
        return bytes.fromhex(text)


class ClientPsks:
    """The PSK of each registered client, derived once per (password, node id).

    One entry per access key, so the cache is as large as the set of registered clients that
    have connected and never larger: an entry whose client is no longer registered is dropped
    once there are more entries than registered clients. A changed password or node id
    misses and replaces the entry. Derivations go through ``deriver`` (its limiter, its
    single flight, so a client in the same process shares the hub's derivation).
    """

    def __init__(self, deriver: PskDeriver, registry: ClientRegistry) -> None:
        self._deriver = deriver
        self._registry = registry
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[bytes, str, bytes]] = {}
        self.derivations = 0
        """How many PSKs this hub had to wait for a derivation for (diagnostics, tests)."""

    @property
    def deriver(self) -> PskDeriver:
        """The deriver behind the cache."""
        return self._deriver

    def cached(self, client: ClientRecord, node_id: str) -> bytes | None:
        """The client's PSK if known (this hub's entry, else the deriver's cache)."""
        digest = _digest(client.password)
        with self._lock:
            entry = self._entries.get(client.access_key)
        if entry is not None and entry[1] == node_id and hmac.compare_digest(entry[0], digest):
            return entry[2]
        psk = self._deriver.cached(client.access_key, client.password, node_id)
        if psk is not None:
            self._store(client.access_key, digest, node_id, psk)
        return psk

    async def get(self, client: ClientRecord, node_id: str) -> bytes:
        """The client's PSK, derived (waiting on the event loop) when not known yet."""
        psk = self.cached(client, node_id)
        if psk is None:
            with self._lock:
                self.derivations += 1
            psk = await derive_psk_async(self._deriver, client.access_key, client.password, node_id)
            self._store(client.access_key, _digest(client.password), node_id, psk)
        return psk

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _store(self, access_key: str, digest: bytes, node_id: str, psk: bytes) -> None:
        with self._lock:
            self._entries[access_key] = (digest, node_id, psk)
            if len(self._entries) > len(self._registry):
                for key in [key for key in self._entries if key not in self._registry]:
                    del self._entries[key]


def _digest(password: str) -> bytes:
    # In memory only: tells a changed password from the one the entry was derived from.
    return hashlib.sha256(password.encode("utf-8")).digest()

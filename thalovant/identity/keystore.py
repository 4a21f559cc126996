"""Client-side Noise state on disk, in the hivemind-bus-client layout (docs/protocol.md §1.7).

One folder per identity holds::

    _identity.json              {"name"?, "noise_key"?, "pinned_noise_keys": {pin_id: hex}, ...}
    <name>_noise.key            hex of the 32-byte X25519 static private key
    <name>_noise_psks.json      {"<sha256(access_key)[:16]>@<node_id>": hex psk}
    <name>_noise_psk_verifiers.json   {same slot: hex verifier} (thalovant's own file)
    ._identity.json.lock        fcntl lock serialising writers across processes

Every function blocks (file I/O, fsync, locks): async callers run them in an executor.
Files are written atomically (temp file, fsync, ``os.replace``) with mode 0600; a folder we
create gets 0700. Keys already in ``_identity.json`` that we do not know are preserved, since
other hivemind tools share the file. Key material never reaches a log or an error message.

Decisions where the spec is silent:

- A ``noise_key`` path in ``_identity.json`` (as hivemind tools write it) names the key file
  when that file exists; otherwise the key is ``<folder>/<name>_noise.key``, which is where a
  new key is created. We never write ``noise_key`` ourselves: an absolute path goes stale when
  the folder is moved or mounted elsewhere, and a stale path must not lead to a new key.
- The PSK file is only a cache of a derivable value: an unreadable or malformed one is treated
  as empty and rewritten, never a reason to fail a connection.
- A cached PSK is used only for the password it was derived from. The slot names the access
  key and the hub, not the password, so each entry has a verifier in a file of its own (the
  PSK file keeps exactly the hivemind-bus-client layout, which that library reads and
  rewrites): ``HMAC-SHA256(key=PSK, "thalovant psk verifier v1" | access_key | node_id |
  password)``, each part length-prefixed. An entry without a matching verifier (another
  password, or written by another tool) is not used: the PSK is derived again and, once the
  hub accepted it, cached with its verifier. The verifier is keyed by the PSK and covers the
  *full* access key, which is not in the folder (only 16 hex of its hash are), so the folder
  alone is no password oracle; whoever also holds the identity holds the password anyway.
- Malformed ``_identity.json`` or key files raise ThalovantConnectionError naming the file and
  are never overwritten: they may belong to another tool or hold the only copy of a key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from thalovant.errors import ThalovantConnectionError, ThalovantHubKeyChangedError

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock, in-process lock only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_NODE_NAME",
    "MAX_CACHED_PSKS",
    "NoiseKeyStore",
    "legacy_noise_folder",
    "pin_id_for_base",
    "pin_id_for_wss",
    "resolve_noise_folder",
]

_log = logging.getLogger("thalovant.keystore")

DEFAULT_NODE_NAME = "unnamed-node"
"""Node name used for the key file when the identity names none."""
MAX_CACHED_PSKS = 32
"""Entries kept in the PSK cache; the oldest are dropped first."""

_IDENTITY_FILE = "_identity.json"
_LOCK_FILE = "._identity.json.lock"
_PINS = "pinned_noise_keys"
_KEY_HEX = re.compile(r"[0-9a-fA-F]{64}")
_BAD_NAME = re.compile(r"[/\\\x00]")
# Threads of one process serialise here too: flock alone does, but not where fcntl is missing.
_THREAD_LOCK = threading.RLock()
# Lock files this thread already holds, so nested use does not flock the same file twice.
_HELD = threading.local()


def legacy_noise_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """The shared hivemind folder: ``$XDG_CONFIG_HOME/hivemind`` or ``~/.config/hivemind``."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative values
        return Path(xdg) / "hivemind"
    home = environ.get("HOME")
    base = Path(home) if home else Path.home()
    return base / ".config" / "hivemind"


def resolve_noise_folder(
    noise_state_dir: str | os.PathLike[str] | None,
    identity_source_path: str | os.PathLike[str] | None,
    environ: Mapping[str, str] = os.environ,
) -> Path:
    """Pick the Noise state folder (§1.7): explicit dir, else beside the identity file,
    else the legacy shared folder. Creates the per-identity folder when it is chosen."""
    if noise_state_dir:
        return Path(noise_state_dir).expanduser()
    if identity_source_path:
        folder = Path(identity_source_path).expanduser().absolute().parent / "hivemind"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            pass  # read-only mount (e.g. a Kubernetes secret): fall back to the shared folder
        else:
            if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
                return folder
    return legacy_noise_folder(environ)


def pin_id_for_wss(url: str) -> str:
    """Pin id of a WSS endpoint: ``<scheme>://<host>:<port>`` (lowercase, IPv6 bracketed)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ThalovantConnectionError("invalid WebSocket URL for a Noise pin id") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("ws", "wss") or not host:
        raise ThalovantConnectionError("a Noise pin id needs a ws:// or wss:// URL with a host")
    if port is None:
        port = 443 if scheme == "wss" else 80
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def pin_id_for_base(url: str) -> str:
    """Pin id used by the HTTPS and MQTT carriers: the HTTPS base URL minus trailing ``/``."""
    return url.rstrip("/")


def _psk_slot(access_key: str, node_id: str) -> str:
    digest = hashlib.sha256(access_key.encode("utf-8")).hexdigest()
    return f"{digest[:16]}@{node_id}"


_VERIFIER_DOMAIN = "thalovant psk verifier v1"


def _psk_verifier(psk: bytes, access_key: str, node_id: str, password: str) -> str:
    mac = hmac.new(psk, digestmod=hashlib.sha256)
    for part in (_VERIFIER_DOMAIN, access_key, node_id, password):
        data = part.encode("utf-8")
        mac.update(len(data).to_bytes(4, "big"))
        mac.update(data)
    return mac.hexdigest()


def _hex32(value: object) -> bytes | None:
    """32 bytes from 64 hex digits (any case, surrounding whitespace ignored), else None."""
    if isinstance(value, str) and _KEY_HEX.fullmatch(value.strip()):
        return bytes.fromhex(value.strip())
    return None


class NoiseKeyStore:
    """The Noise state folder of one identity: static key, hub pins and PSK cache."""

    def __init__(self, folder: str | os.PathLike[str], *, name: str = DEFAULT_NODE_NAME) -> None:
        if not name or name in (".", "..") or _BAD_NAME.search(name):
            raise ValueError("node name must be a plain file-name fragment")
        self.folder = Path(folder)
        self.name = name
        self._key: bytes | None = None

    def __repr__(self) -> str:
        return f"NoiseKeyStore({str(self.folder)!r}, name={self.name!r})"

    @property
    def identity_path(self) -> Path:
        """``_identity.json`` in the folder."""
        return self.folder / _IDENTITY_FILE

    @property
    def psk_path(self) -> Path:
        """``<name>_noise_psks.json`` in the folder."""
        return self.folder / f"{self.name}_noise_psks.json"

    @property
    def verifier_path(self) -> Path:
        """``<name>_noise_psk_verifiers.json`` in the folder (which password each cached PSK
        belongs to, without the password)."""
        return self.folder / f"{self.name}_noise_psk_verifiers.json"

    @property
    def key_path(self) -> Path:
        """The static key file: an existing ``noise_key`` file named in ``_identity.json``,
        else ``<folder>/<name>_noise.key``."""
        recorded = self._read_identity().get("noise_key")
        if isinstance(recorded, str) and recorded.strip():
            path = Path(recorded.strip()).expanduser()
            path = path if path.is_absolute() else self.folder / path
            if path.is_file():
                return path
        return self.folder / f"{self.name}_noise.key"

    # -- static key ---------------------------------------------------------------------------

    def has_static_key(self) -> bool:
        """True when the static key file exists (it may still be malformed)."""
        return self.key_path.exists()

    def static_private_key(self) -> bytes:
        """The raw 32-byte X25519 static private key, created on first use."""
        if self._key is None:
            with self._locked():
                key = self._existing_key()
                if key is None:
                    key = X25519PrivateKey.generate().private_bytes_raw()
                    self._create_key(self.folder / f"{self.name}_noise.key", key)
                self._key = key
        return self._key

    def _existing_key(self) -> bytes | None:
        path = self.key_path
        try:
            text = path.read_text("ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeError) as exc:
            raise ThalovantConnectionError(
                f"cannot read Noise key file {path}: {type(exc).__name__}"
            ) from None
        key = _hex32(text)
        if key is None:
            raise ThalovantConnectionError(f"malformed Noise key file {path} (expected 64 hex)")
        return key

    def _create_key(self, path: Path, key: bytes) -> None:
        # Caller holds the lock. O_EXCL: a key file is never replaced, whoever wrote it.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise ThalovantConnectionError(
                f"cannot create Noise key file {path}: {type(exc).__name__}"
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(key.hex())
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            path.unlink()  # ours, half-written: leaving it would brick the identity
            raise ThalovantConnectionError(
                f"cannot write Noise key file {path}: {type(exc).__name__}"
            ) from exc
        _fsync_dir(path.parent)
        _log.info("created a Noise static key in %s", path.parent)

    # -- hub pins -----------------------------------------------------------------------------

    def pinned_key(self, pin_id: str) -> bytes | None:
        """The hub static key pinned for ``pin_id``, or None. Hex is read case-insensitively."""
        value = self._pins(self._read_identity()).get(pin_id)
        key = _hex32(value)
        if key is None and value is not None:
            raise ThalovantConnectionError(
                f"malformed Noise pin for {pin_id} in {self.identity_path}"
            )
        return key

    def pins(self) -> dict[str, bytes]:
        """Every well-formed pin (malformed entries are skipped here, reported by pinned_key)."""
        decoded = {
            pin_id: _hex32(value) for pin_id, value in self._pins(self._read_identity()).items()
        }
        return {pin_id: key for pin_id, key in decoded.items() if key is not None}

    def pin(self, pin_id: str, key: bytes) -> None:
        """Pin ``key`` for ``pin_id`` unless pinned; a different pinned key raises
        ThalovantHubKeyChangedError (pins are never replaced automatically)."""
        if len(key) != 32:
            raise ValueError("a Noise static public key is 32 bytes")
        with self._locked():
            current = self.pinned_key(pin_id)
            if current == key:
                return
            if current is not None:
                raise ThalovantHubKeyChangedError(
                    f"the hub at {pin_id} presented a static key that differs from the one "
                    f"pinned in {self.identity_path}; if the hub was reinstalled on purpose, "
                    "remove that pin"
                )
            identity = self._read_identity()
            pins = dict(self._pins(identity))
            pins[pin_id] = bytes(key).hex()
            identity[_PINS] = pins
            self._write_json(self.identity_path, identity)

    def replace_pin(self, pin_id: str, old: bytes, new: bytes) -> bool:
        """Re-pin ``pin_id`` from ``old`` to ``new`` (a pin policy's decision, issue #15).

        Compare-and-swap under the folder lock: nothing changes unless ``old`` is still the
        pin (another worker may have re-pinned already: True if ``new`` is the pin then).

        Returns:
            True when ``new`` is now the pin.
        """
        if len(new) != 32:
            raise ValueError("a Noise static public key is 32 bytes")
        with self._locked():
            current = self.pinned_key(pin_id)
            if current == new:
                return True
            if current != old:
                return False
            identity = self._read_identity()
            pins = dict(self._pins(identity))
            pins[pin_id] = bytes(new).hex()
            identity[_PINS] = pins
            self._write_json(self.identity_path, identity)
            return True

    def unpin(self, pin_id: str) -> bool:
        """Remove the pin for ``pin_id`` (explicit user action only); True if one existed."""
        with self._locked():
            identity = self._read_identity()
            pins = dict(self._pins(identity))
            if pin_id not in pins:
                return False
            del pins[pin_id]
            identity[_PINS] = pins
            self._write_json(self.identity_path, identity)
            return True

    # -- PSK cache ----------------------------------------------------------------------------

    def cached_psk(self, access_key: str, node_id: str, password: str) -> bytes | None:
        """The cached PSK for this access key and hub node, if it was derived from
        ``password`` (its verifier matches); else None."""
        slot = _psk_slot(access_key, node_id)
        psk = _hex32(self._read_psks().get(slot))
        if psk is None:
            return None
        stored = self._read_cache_file(self.verifier_path).get(slot)
        expected = _psk_verifier(psk, access_key, node_id, password)
        if not isinstance(stored, str) or not hmac.compare_digest(stored.strip(), expected):
            return None
        return psk

    def store_psk(self, access_key: str, node_id: str, psk: bytes, password: str) -> None:
        """Cache a PSK derived from ``password`` (newest last; the oldest beyond
        MAX_CACHED_PSKS are dropped)."""
        if len(psk) != 32:
            raise ValueError("a Noise PSK is 32 bytes")
        slot = _psk_slot(access_key, node_id)
        with self._locked():
            psks = self._read_psks()
            psks.pop(slot, None)
            psks[slot] = bytes(psk).hex()
            kept = dict(list(psks.items())[-MAX_CACHED_PSKS:])
            self._write_json(self.psk_path, kept)
            verifiers = self._read_cache_file(self.verifier_path)
            verifiers[slot] = _psk_verifier(bytes(psk), access_key, node_id, password)
            self._write_json(self.verifier_path, {k: v for k, v in verifiers.items() if k in kept})

    def forget_psk(self, access_key: str, node_id: str, psk: bytes | None = None) -> None:
        """Drop a cached PSK (after the hub refused it); with ``psk``, only if that is the
        value cached (a PSK cached for another password stays)."""
        slot = _psk_slot(access_key, node_id)
        with self._locked():
            psks = self._read_psks()
            if slot not in psks:
                return
            if psk is not None and _hex32(psks[slot]) != psk:
                return
            del psks[slot]
            self._write_json(self.psk_path, psks)
            verifiers = self._read_cache_file(self.verifier_path)
            if verifiers.pop(slot, None) is not None:
                self._write_json(self.verifier_path, verifiers)

    # -- migration ----------------------------------------------------------------------------

    def migrate_from(self, legacy: NoiseKeyStore, pin_id: str) -> bool:
        """Copy the static key and pins of ``legacy`` into this (still key-less) folder when
        the legacy key has already met ``pin_id``. True when something was copied."""
        if _same_folder(legacy.folder, self.folder):
            return False
        with self._locked():
            if self.key_path.exists():
                return False  # not a first use: never replace a key
            try:
                # Read-only access to the legacy folder: its files are replaced atomically.
                key = legacy._existing_key() if legacy.pinned_key(pin_id) is not None else None
                pins = legacy.pins()
            except ThalovantConnectionError:
                return False  # a broken legacy folder is not ours to fix; start fresh
            if key is None:
                return False
            self._create_key(self.folder / f"{self.name}_noise.key", key)
            identity = self._read_identity()
            merged = dict(self._pins(identity))
            for other, value in pins.items():
                merged.setdefault(other, value.hex())
            identity[_PINS] = merged
            self._write_json(self.identity_path, identity)
            self._key = key
        _log.info("copied the Noise key and pins from %s to %s", legacy.folder, self.folder)
        return True

    # -- files --------------------------------------------------------------------------------

    @staticmethod
    def _pins(identity: dict[str, Any]) -> dict[str, Any]:
        pins = identity.get(_PINS)
        if pins is None:
            return {}
        if not isinstance(pins, dict):
            raise ThalovantConnectionError(f"malformed '{_PINS}' in {_IDENTITY_FILE}")
        return pins

    def _read_identity(self) -> dict[str, Any]:
        path = self.identity_path
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeError) as exc:
            raise ThalovantConnectionError(f"cannot read {path}: {type(exc).__name__}") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise ThalovantConnectionError(f"{path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise ThalovantConnectionError(f"{path} is not a JSON object")
        return data

    def _read_psks(self) -> dict[str, Any]:
        return self._read_cache_file(self.psk_path)

    @staticmethod
    def _read_cache_file(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            _log.warning("ignoring unreadable PSK cache %s", path)
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:  # an existing folder keeps its mode: it may be shared with other tools
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ThalovantConnectionError(
                f"cannot create Noise state folder {self.folder}: {type(exc).__name__}"
            ) from None
        lock_path = os.path.realpath(self.folder / _LOCK_FILE)
        held: set[str] = _HELD.__dict__.setdefault("paths", set())
        with _THREAD_LOCK:
            if fcntl is None or lock_path in held:
                yield
                return
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                held.add(lock_path)
                try:
                    yield
                finally:
                    held.discard(lock_path)
            finally:
                os.close(fd)  # closing releases the flock

    def _write_json(self, path: Path, data: dict[str, Any]) -> None:
        # Caller holds the lock. Same-folder temp file so os.replace is atomic.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise ThalovantConnectionError(
                    f"cannot write {path}: {type(exc).__name__}"
                ) from exc
            raise
        _fsync_dir(path.parent)


def _same_folder(one: Path, other: Path) -> bool:
    try:
        return one.exists() and other.exists() and os.path.samefile(one, other)
    except OSError:
        return False


def _fsync_dir(folder: Path) -> None:
    # Makes the rename/creation itself durable; not possible (nor needed) everywhere.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""The Noise PSK: Argon2id of the client password, bounded and cached process-wide.

``PSK = Argon2id(password, salt=SHA-256(node_id), t=3, m=64 MiB, p=1, 32 bytes)`` (wire.md
§2.3). The parameters are part of the wire contract; changing one changes every PSK.

Each derivation takes ~0.25 s of CPU and 64 MiB of RAM. A process that opens a thousand links
at once (a fleet simulator, a test suite, a server with one client per user) must not ask for
64 GB, so :class:`PskDeriver` puts every derivation behind a process-wide
``threading.BoundedSemaphore`` (2 at a time by default), keeps a small LRU cache of results, and
lets concurrent callers that need the same PSK wait for one derivation instead of each running
their own.

Everything here blocks. Async callers run :meth:`PskDeriver.get` in a worker thread
(``anyio.to_thread.run_sync``), never on the event loop.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

__all__ = [
    "ARGON2_ITERATIONS",
    "ARGON2_LANES",
    "ARGON2_MEMORY_KIB",
    "PSK_LENGTH",
    "PskDeriver",
    "default_psk_deriver",
    "derive_psk",
    "psk_cache_key",
]

ARGON2_ITERATIONS = 3
"""Argon2id time cost."""
ARGON2_MEMORY_KIB = 65536
"""Argon2id memory cost in KiB (64 MiB)."""
ARGON2_LANES = 1
"""Argon2id parallelism."""
PSK_LENGTH = 32
"""Length of the derived PSK in bytes."""


def derive_psk(password: str, node_id: str) -> bytes:
    """Derive the 32-byte Noise PSK for ``password`` on the hub ``node_id`` (blocking, slow)."""
    kdf = Argon2id(
        salt=hashlib.sha256(node_id.encode("utf-8")).digest(),
        length=PSK_LENGTH,
        iterations=ARGON2_ITERATIONS,
        lanes=ARGON2_LANES,
        memory_cost=ARGON2_MEMORY_KIB,
    )
    return kdf.derive(password.encode("utf-8"))


def _access_key_tag(access_key: str) -> str:
    # Only a short hash of the access key is kept, in memory and on disk alike.
    return hashlib.sha256(access_key.encode("utf-8")).hexdigest()[:16]


def psk_cache_key(access_key: str, node_id: str) -> str:
    """The on-disk PSK cache key: ``"<first 16 hex of sha256(access_key)>@<node_id>"``."""
    return f"{_access_key_tag(access_key)}@{node_id}"


_CacheKey = tuple[str, str, bytes]


class _InFlight:
    """One running derivation that other callers for the same key can wait on."""

    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: bytes | None = None


class PskDeriver:
    """A thread-safe, bounded, caching front for :func:`derive_psk`.

    ``max_concurrent`` derivations run at once across all threads using this instance (the
    module-level :data:`default_psk_deriver` is the process-wide one); at most ``cache_size``
    results are kept, least recently used evicted first. ``derive`` replaces the KDF (tests).

    The cache key is (short hash of the access key, node id, SHA-256 of the password). Since
    the derivation is a pure function of that key, a cached PSK can never be stale; a changed
    password simply misses. :meth:`forget` exists to drop a PSK after a failed handshake, as
    the on-disk cache does, and to release memory.
    """

    def __init__(
        self,
        *,
        max_concurrent: int = 2,
        cache_size: int = 32,
        derive: Callable[[str, str], bytes] = derive_psk,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self._max_concurrent = max_concurrent
        self._cache_size = cache_size
        self._derive = derive
        self._limiter = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._cache: OrderedDict[_CacheKey, bytes] = OrderedDict()
        self._in_flight: dict[_CacheKey, _InFlight] = {}

    @property
    def max_concurrent(self) -> int:
        """How many derivations may run at the same time."""
        return self._max_concurrent

    def get(self, access_key: str, password: str, node_id: str) -> bytes:
        """The PSK for these credentials: cached, or derived under the limiter. Blocks."""
        key: _CacheKey = (
            _access_key_tag(access_key),
            node_id,
            hashlib.sha256(password.encode("utf-8")).digest(),
        )
        while True:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    return cached
                running = self._in_flight.get(key)
                if running is None:
                    mine = self._in_flight[key] = _InFlight()
                    break
            running.done.wait()
            if running.result is not None:
                return running.result
            # That derivation raised: loop, and this caller becomes the next owner.
        return self._derive_and_store(key, mine, password, node_id)

    def _derive_and_store(
        self, key: _CacheKey, mine: _InFlight, password: str, node_id: str
    ) -> bytes:
        try:
            with self._limiter:
                psk = self._derive(password, node_id)
            mine.result = psk
            with self._lock:
                if self._cache_size:
                    self._cache[key] = psk
                    self._cache.move_to_end(key)
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            return psk
        finally:
            with self._lock:
                del self._in_flight[key]
            mine.done.set()

    def forget(self, access_key: str, node_id: str) -> None:
        """Drop every cached PSK of this access key on this hub (any password)."""
        tag = _access_key_tag(access_key)
        with self._lock:
            for key in [k for k in self._cache if k[0] == tag and k[1] == node_id]:
                del self._cache[key]

    def clear(self) -> None:
        """Drop every cached PSK."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)


default_psk_deriver = PskDeriver()
"""The process-wide deriver the SDK uses: 2 concurrent Argon2id runs, 32 cached PSKs."""

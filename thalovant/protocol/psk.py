"""The Noise PSK: Argon2id of the client password, bounded and cached process-wide.

``PSK = Argon2id(password, salt=SHA-256(node_id), t=3, m=64 MiB, p=1, 32 bytes)`` (docs/protocol.md
§2.3). The parameters are part of the wire contract; changing one changes every PSK.

Each derivation takes ~0.25 s of CPU and 64 MiB of RAM. A process that opens a thousand links
at once (a fleet simulator, a test suite, a server with one client per user) must not ask for
64 GB, so :class:`PskDeriver` runs every derivation on its own small pool of threads
(``max_concurrent`` of them, 2 by default, shared by every event loop of the process), keeps a
small LRU cache of results, and lets concurrent callers that need the same PSK wait for one
derivation instead of each running their own.

Waiting for a derivation need not hold a thread: :meth:`PskDeriver.submit` returns a
:class:`PskRequest` whose ``future`` an event loop can wait on
(``thalovant.identity.psk_wait`` does, for the client and the hub), so a queue of a hundred
derivations never delays the ordinary ``anyio.to_thread`` work (key files, pins) of the same
process. A derivation nobody waits for any more (every request released before it started) is
dropped from the queue.
:meth:`PskDeriver.get` is the blocking form. This module does no I/O and knows no event loop.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

__all__ = [
    "ARGON2_ITERATIONS",
    "ARGON2_LANES",
    "ARGON2_MEMORY_KIB",
    "PSK_LENGTH",
    "PskDeriver",
    "PskRequest",
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
    """Derive the Noise PSK with Argon2id (docs/protocol.md §2.3); blocking and slow.

    Args:
        password: The identity's password.
        node_id: The hub's node id (its SHA-256 is the salt).

    Returns:
        The 32-byte PSK.
    """
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
    """The on-disk PSK cache key.

    Args:
        access_key: The identity's access key.
        node_id: The hub's node id.

    Returns:
        ``"<first 16 hex of sha256(access_key)>@<node_id>"``.
    """
    return f"{_access_key_tag(access_key)}@{node_id}"


_CacheKey = tuple[str, str, bytes]


class _InFlight:
    """One queued or running derivation and how many callers wait for it."""

    __slots__ = ("future", "waiters")

    def __init__(self, future: Future[bytes]) -> None:
        self.future = future
        self.waiters = 0


class PskDeriver:
    """A thread-safe, bounded, caching front for :func:`derive_psk`.

    ``max_concurrent`` derivations run at once across all threads and event loops using this
    instance (the module-level :data:`default_psk_deriver` is the process-wide one), each on
    one of this deriver's own threads; at most ``cache_size`` results are kept, least recently
    used evicted first.

    The cache key is (short hash of the access key, node id, SHA-256 of the password). Since
    the derivation is a pure function of that key, a cached PSK can never be stale; a changed
    password simply misses. :meth:`forget` exists to drop a PSK after a failed handshake, as
    the on-disk cache does, and to release memory.

    Args:
        max_concurrent: Derivations that may run at the same time.
        cache_size: Results kept.
        derive: Replaces the KDF (tests).

    Raises:
        ValueError: ``max_concurrent`` below 1 or a negative ``cache_size``.
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
        # Reentrant: cancelling a queued future runs its done-callbacks in the caller's thread.
        self._lock = threading.RLock()
        self._pool = _Pool(max_concurrent)
        self._cache: OrderedDict[_CacheKey, bytes] = OrderedDict()
        self._in_flight: dict[_CacheKey, _InFlight] = {}
        self._derivations = 0

    @property
    def max_concurrent(self) -> int:
        """How many derivations may run at the same time."""
        return self._max_concurrent

    @property
    def derivations(self) -> int:
        """How many times the KDF has run (diagnostics and tests)."""
        with self._lock:
            return self._derivations

    @property
    def pending(self) -> int:
        """Derivations queued or running right now."""
        with self._lock:
            return len(self._in_flight)

    def cached(self, access_key: str, password: str, node_id: str) -> bytes | None:
        """The cached PSK for these credentials; never blocks.

        Args:
            access_key: The identity's access key.
            password: The identity's password.
            node_id: The hub's node id (the salt).

        Returns:
            The PSK, or None when it is not cached.
        """
        key = _key(access_key, password, node_id)
        with self._lock:
            return self._hit(key)

    def get(self, access_key: str, password: str, node_id: str) -> bytes:
        """The PSK for these credentials: cached, or derived under the limiter. Blocks.

        Args:
            access_key: The identity's access key.
            password: The identity's password.
            node_id: The hub's node id (the salt).

        Returns:
            The 32-byte PSK.
        """
        request = self.submit(access_key, password, node_id)
        try:
            return request.future.result()
        finally:
            request.release()

    def submit(self, access_key: str, password: str, node_id: str) -> PskRequest:
        """A place in the queue for this PSK; never blocks.

        It joins a derivation under way for the same credentials, or is already done when cached.
        Call :meth:`PskRequest.release` exactly once, when done with it or giving up.

        Args:
            access_key: The identity's access key.
            password: The identity's password.
            node_id: The hub's node id (the salt).

        Returns:
            The request; its ``future`` completes with the PSK.
        """
        key = _key(access_key, password, node_id)
        with self._lock:
            cached = self._hit(key)
            if cached is not None:
                done: Future[bytes] = Future()
                done.set_result(cached)
                return PskRequest(self, key, None, done)
            flight = self._in_flight.get(key)
            if flight is None:
                future = self._pool.submit(self._run, password, node_id)
                flight = self._in_flight[key] = _InFlight(future)
                future.add_done_callback(partial(self._finished, key, flight))
            flight.waiters += 1
            return PskRequest(self, key, flight, flight.future)

    def _hit(self, key: _CacheKey) -> bytes | None:
        # Caller holds the lock.
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
        return cached

    def _leave(self, key: _CacheKey, flight: _InFlight) -> None:
        with self._lock:
            flight.waiters -= 1
            # Nobody waits any more and it has not started: drop it from the queue.
            if (
                flight.waiters == 0
                and flight.future.cancel()
                and self._in_flight.get(key) is flight
            ):
                del self._in_flight[key]

    def _run(self, password: str, node_id: str) -> bytes:
        with self._lock:
            self._derivations += 1
        return self._derive(password, node_id)

    def _finished(self, key: _CacheKey, flight: _InFlight, future: Future[bytes]) -> None:
        with self._lock:
            if self._in_flight.get(key) is flight:
                del self._in_flight[key]
            if future.cancelled() or future.exception() is not None or not self._cache_size:
                return
            self._cache[key] = future.result()
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def forget(self, access_key: str, node_id: str) -> None:
        """Drop every cached PSK of this access key on this hub (any password).

        Args:
            access_key: The identity's access key.
            node_id: The hub's node id.
        """
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

    def __bool__(self) -> bool:
        return True  # an empty cache is still a deriver (``deriver or default`` must not lie)


class PskRequest:
    """One caller's place in :class:`PskDeriver`'s queue.

    ``future`` completes with the PSK (or the KDF's exception); it is never cancelled while
    the request is held.

    Args:
        deriver: The deriver that queued it.
        key: The credentials' cache key.
        flight: The derivation it waits for (None when it was cached).
        future: Completes with the PSK.
    """

    __slots__ = ("_deriver", "_flight", "_key", "_released", "future")

    def __init__(
        self, deriver: PskDeriver, key: _CacheKey, flight: _InFlight | None, future: Future[bytes]
    ) -> None:
        self._deriver = deriver
        self._key = key
        self._flight = flight
        self._released = False
        self.future = future

    def release(self) -> None:
        """Done waiting (or giving up); idempotent."""
        if not self._released:
            self._released = True
            if self._flight is not None:
                self._deriver._leave(self._key, self._flight)


class _Pool:
    """``workers`` daemon threads (started on first use) running queued derivations in order.

    Daemon threads, unlike ``concurrent.futures``' ones, do not keep a process that is exiting
    busy with derivations nobody will use."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._started = 0
        self._queue: queue.SimpleQueue[tuple[Future[bytes], Callable[[], bytes]]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[str, str], bytes], password: str, node_id: str) -> Future[bytes]:
        future: Future[bytes] = Future()
        self._queue.put((future, lambda: fn(password, node_id)))
        with self._lock:
            if self._started < self._workers:
                self._started += 1
                threading.Thread(
                    target=self._work, name=f"thalovant-argon2-{self._started}", daemon=True
                ).start()
        return future

    def _work(self) -> None:
        while True:
            future, call = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue  # abandoned while queued
            try:
                result = call()
            except BaseException as exc:  # handed to the waiters
                future.set_exception(exc)
            else:
                future.set_result(result)
            del future, call


def _key(access_key: str, password: str, node_id: str) -> _CacheKey:
    return (
        _access_key_tag(access_key),
        node_id,
        hashlib.sha256(password.encode("utf-8")).digest(),
    )


default_psk_deriver = PskDeriver()
"""The process-wide deriver the SDK uses: 2 concurrent Argon2id runs, 32 cached PSKs."""

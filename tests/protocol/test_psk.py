"""PSK derivation: the contract value, the cache, the concurrency limiter, single flight."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Any

import pytest

from thalovant.protocol.psk import (
    PskDeriver,
    default_psk_deriver,
    derive_psk,
    psk_cache_key,
)

KNOWN = "a9fa4d987303ee8898c4a38f169f3bf984c6c5f90c5349754950f58b2d6ba6a7"


def test_known_value() -> None:
    assert derive_psk("pw", "node-1").hex() == KNOWN


def test_known_value_through_a_deriver() -> None:
    deriver = PskDeriver()
    assert deriver.get("AK", "pw", "node-1").hex() == KNOWN
    assert deriver.get("AK", "pw", "node-1").hex() == KNOWN  # from the cache
    assert len(deriver) == 1


def test_cache_key_format() -> None:
    expected = hashlib.sha256(b"my-access-key").hexdigest()[:16] + "@node-1"
    assert psk_cache_key("my-access-key", "node-1") == expected


def test_default_instance() -> None:
    assert isinstance(default_psk_deriver, PskDeriver)
    assert default_psk_deriver.max_concurrent == 2


class FakeKdf:
    """Counts calls; returns a value that depends on the inputs."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, password: str, node_id: str) -> bytes:
        with self.lock:
            self.calls[(password, node_id)] += 1
        return hashlib.sha256(f"{password}|{node_id}".encode()).digest()


def test_cache_hit_and_keys() -> None:
    kdf = FakeKdf()
    deriver = PskDeriver(derive=kdf)
    first = deriver.get("AK", "pw", "node-1")
    assert deriver.get("AK", "pw", "node-1") == first
    assert kdf.calls[("pw", "node-1")] == 1
    # A changed password, hub or access key is a different entry.
    assert deriver.get("AK", "other", "node-1") != first
    deriver.get("AK", "pw", "node-2")
    deriver.get("AK2", "pw", "node-1")
    assert kdf.calls[("pw", "node-1")] == 2
    assert len(deriver) == 4


def test_forget_drops_every_password_of_that_key_and_hub() -> None:
    kdf = FakeKdf()
    deriver = PskDeriver(derive=kdf)
    for password in ("a", "b"):
        deriver.get("AK", password, "node-1")
    deriver.get("AK", "a", "node-2")
    deriver.get("AK2", "a", "node-1")
    deriver.forget("AK", "node-1")
    assert len(deriver) == 2
    deriver.get("AK", "a", "node-1")
    assert kdf.calls[("a", "node-1")] == 3  # AK (twice: before and after forget) + AK2
    deriver.get("AK", "a", "node-2")
    assert kdf.calls[("a", "node-2")] == 1  # still cached
    deriver.clear()
    assert len(deriver) == 0


def test_lru_bound() -> None:
    kdf = FakeKdf()
    deriver = PskDeriver(derive=kdf, cache_size=2)
    deriver.get("AK", "1", "n")
    deriver.get("AK", "2", "n")
    deriver.get("AK", "1", "n")  # refreshes "1"
    deriver.get("AK", "3", "n")  # evicts "2"
    assert len(deriver) == 2
    deriver.get("AK", "1", "n")
    deriver.get("AK", "2", "n")
    assert kdf.calls[("1", "n")] == 1
    assert kdf.calls[("2", "n")] == 2


class GatedKdf:
    """A KDF that blocks each call until the test lets it go, tracking concurrency."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.entered = threading.Semaphore(0)
        self.go = threading.Semaphore(0)

    def __call__(self, password: str, node_id: str) -> bytes:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.entered.release()
        self.go.acquire()
        with self.lock:
            self.active -= 1
        return hashlib.sha256(password.encode()).digest()


def _start(deriver: PskDeriver, passwords: list[str]) -> tuple[list[threading.Thread], list[str]]:
    errors: list[str] = []

    def run(password: str) -> None:
        try:
            deriver.get("AK", password, "node")
        except Exception as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(p,)) for p in passwords]
    for thread in threads:
        thread.start()
    return threads, errors


@pytest.mark.timeout(30)
def test_limiter_bounds_concurrent_derivations() -> None:
    kdf = GatedKdf()
    deriver = PskDeriver(derive=kdf, max_concurrent=2)
    threads, errors = _start(deriver, [f"pw{i}" for i in range(8)])
    kdf.entered.acquire()
    kdf.entered.acquire()  # two derivations are inside together: the limit is reached
    for _ in range(6):
        kdf.go.release()  # one finishes ...
        kdf.entered.acquire()  # ... and only then does the next one start
    kdf.go.release()
    kdf.go.release()
    for thread in threads:
        thread.join()
    assert not errors
    assert kdf.max_active == 2
    assert len(deriver) == 8


@pytest.mark.timeout(30)
def test_without_a_tight_limit_the_gate_sees_real_concurrency() -> None:
    # Shows the measurement can detect concurrency: with a limit of 8, all 8 get in at once.
    kdf = GatedKdf()
    deriver = PskDeriver(derive=kdf, max_concurrent=8)
    threads, errors = _start(deriver, [f"pw{i}" for i in range(8)])
    for _ in range(8):
        kdf.entered.acquire()  # returns 8 times only if all 8 are inside together
    for _ in range(8):
        kdf.go.release()
    for thread in threads:
        thread.join()
    assert not errors
    assert kdf.max_active == 8


@pytest.mark.timeout(30)
def test_concurrent_callers_share_one_derivation() -> None:
    kdf = GatedKdf()
    deriver = PskDeriver(derive=kdf, max_concurrent=2)
    barrier = threading.Barrier(6)
    results: list[bytes] = []

    def run() -> None:
        barrier.wait()
        results.append(deriver.get("AK", "same", "node"))

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    barrier.wait()
    kdf.entered.acquire()  # the one owner is inside; the others wait or will hit the cache
    kdf.go.release()
    for thread in threads:
        thread.join()
    assert len(results) == 5
    assert len(set(results)) == 1
    assert kdf.max_active == 1
    assert kdf.entered.acquire(blocking=False) is False  # nobody else ever derived


def test_a_failed_derivation_is_retried_by_the_next_caller() -> None:
    calls = []

    def flaky(password: str, node_id: str) -> bytes:
        calls.append(password)
        if len(calls) == 1:
            raise MemoryError("simulated")
        return b"\1" * 32

    deriver = PskDeriver(derive=flaky)
    with pytest.raises(MemoryError):
        deriver.get("AK", "pw", "node")
    assert deriver.get("AK", "pw", "node") == b"\1" * 32
    assert len(calls) == 2


def test_cache_size_zero_disables_caching() -> None:
    kdf = FakeKdf()
    deriver = PskDeriver(derive=kdf, cache_size=0)
    deriver.get("AK", "pw", "n")
    deriver.get("AK", "pw", "n")
    assert kdf.calls[("pw", "n")] == 2
    assert len(deriver) == 0


@pytest.mark.parametrize("kwargs", [{"max_concurrent": 0}, {"cache_size": -1}])
def test_invalid_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PskDeriver(**kwargs)


@pytest.mark.timeout(30)
def test_a_derivation_nobody_waits_for_is_dropped_before_it_starts() -> None:
    kdf = GatedKdf()
    deriver = PskDeriver(derive=kdf, max_concurrent=1)
    running = deriver.submit("AK", "first", "node")
    kdf.entered.acquire()  # "first" holds the only slot
    queued = deriver.submit("AK", "second", "node")
    joined = deriver.submit("AK", "second", "node")  # same credentials: one derivation
    assert deriver.pending == 2
    queued.release()
    assert deriver.pending == 2  # still wanted by ``joined``
    joined.release()
    joined.release()  # idempotent
    assert deriver.pending == 1  # dropped from the queue
    kdf.go.release()
    assert running.future.result(timeout=10) == hashlib.sha256(b"first").digest()
    running.release()
    assert deriver.derivations == 1  # "second" never ran
    assert deriver.cached("AK", "first", "node") is not None
    assert deriver.cached("AK", "second", "node") is None


def test_an_empty_deriver_is_still_truthy() -> None:
    # ``LocalHub(psk_deriver=PskDeriver())`` must use that deriver, not the default one.
    assert PskDeriver()

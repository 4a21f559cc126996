"""The cost of the telemetry hook on ``ask`` when no tracer or meter provider is configured.

Run: ``python benchmarks/bench_telemetry.py``. Times ``Asker.ask``'s decorator
(:func:`thalovant.telemetry.otel.traced_ask`: request id settled, log scope set and reset,
the provider check) around an ask that does nothing, driven without an event loop, and
subtracts the undecorated call. Best of a few rounds; the budget is 2 µs per ask.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

from thalovant.client.correlation import new_request_id
from thalovant.telemetry import otel


class _Conn:
    protocol = "wss"
    pattern: str | None = "KKpsk0"
    phase = "ready"
    handshake_ms: float | None = 1.0


class _Asker:
    conn = _Conn()

    async def ask(self, utterance: str, **kwargs: Any) -> str:
        return utterance


_traced = otel.traced_ask(lambda asker: asker.conn, new_request_id)(_Asker.ask)
_ASKER = _Asker()
_KWARGS: dict[str, Any] = {"request_id": "rid-1", "context": None, "session_id": None}


def _drive(coro: Coroutine[Any, Any, Any]) -> None:
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the benchmark ask awaited something")


def _plain() -> None:
    _drive(_Asker.ask(_ASKER, "hi", **_KWARGS))


def _hooked() -> None:
    _drive(_traced(_ASKER, "hi", **_KWARGS))


def per_call(func: Callable[[], None], calls: int) -> float:
    """Seconds per call of ``func`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls


def hook_overhead(*, calls: int = 10_000, rounds: int = 9) -> float:
    """Seconds the hook adds to one ask with no provider configured (OTel API installed).

    The plain and the hooked call are timed in alternation, and each keeps its best round:
    a busy machine slows rounds down, never up, so the best rounds are the cost itself.
    """
    plain = hooked = float("inf")
    for _ in range(rounds):
        plain = min(plain, per_call(_plain, calls))
        hooked = min(hooked, per_call(_hooked, calls))
    return max(0.0, hooked - plain)


def hook_overhead_without_api() -> float:
    """The same, as if ``opentelemetry-api`` were not installed."""
    saved = otel._trace
    otel._trace = None
    try:
        return hook_overhead()
    finally:
        otel._trace = saved


def main() -> None:
    print(f"{'ask hook, opentelemetry-api installed, no provider':<58} ", end="")
    print(f"{hook_overhead() * 1e6:>8.2f} µs")
    print(f"{'ask hook, without opentelemetry-api':<58} ", end="")
    print(f"{hook_overhead_without_api() * 1e6:>8.2f} µs")
    print(f"{'budget':<58} {2.0:>8.2f} µs")


if __name__ == "__main__":
    main()

"""What the blocking facade adds per call.

    .venv/bin/python benchmarks/bench_facade.py [--asks 300] [--no-hub]

Prints microseconds per call (median of rounds):

* a no-I/O coroutine (``connection_info()``) awaited on the async client vs called through
  ``ThalovantClient`` (one loop hop), and through anyio's ``BlockingPortal.call`` for
  comparison (the hop :mod:`thalovant.sync.portal` does not use: it makes two round trips);
* an ``async def`` no-op awaited on a loop vs called through the facade's loop thread;
* the same no-I/O call from 8 threads at once (wall time per call);
* ``ask("hello")`` p50 against a local hub in a child process: blocking vs async client. The
  difference is the hop plus one wake-up of the blocked caller, whose OS cost is printed as a
  baseline (large on small VMs: tens of microseconds per wake-up).

Target: facade overhead <= 100 us per call.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anyio.from_thread import start_blocking_portal

from thalovant.client.client import AsyncThalovantClient
from thalovant.identity.model import ThalovantIdentity
from thalovant.sync.client import ThalovantClient
from thalovant.sync.portal import LoopThread

sys.path.insert(0, str(Path(__file__).parent))
import bench_client

ROUNDS = 5


def per_call_us(func: Callable[[], object], calls: int) -> float:
    """Median over ``ROUNDS`` rounds of the mean time per call, in microseconds."""
    func()
    results = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            func()
        results.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(results)


def offline_identity() -> ThalovantIdentity:
    return ThalovantIdentity.from_mapping(
        {
            "access_key": "ak-bench",
            "password": "pw-bench",
            "default_master": "wss://127.0.0.1:1",
            "site_id": "bench",
        }
    )


async def _noop() -> None:
    return None


def measure_calls(calls: int) -> dict[str, float]:
    client = ThalovantClient(offline_identity())
    results: dict[str, float] = {}
    try:
        probe = AsyncThalovantClient(offline_identity())

        async def awaited_info() -> float:
            started = time.perf_counter()
            for _ in range(calls):
                await probe.connection_info()
            return (time.perf_counter() - started) / calls * 1e6

        results["direct"] = statistics.median(asyncio.run(awaited_info()) for _ in range(ROUNDS))
        results["facade"] = per_call_us(client.connection_info, calls)
        with start_blocking_portal() as portal:
            results["anyio_portal"] = per_call_us(lambda: portal.call(probe.connection_info), calls)

        async def awaited() -> float:
            started = time.perf_counter()
            for _ in range(calls):
                await _noop()
            return (time.perf_counter() - started) / calls * 1e6

        results["await_noop"] = statistics.median(asyncio.run(awaited()) for _ in range(ROUNDS))
        loop = LoopThread("Bench")
        try:
            results["facade_noop"] = per_call_us(lambda: loop.call(_noop), calls)
        finally:
            loop.shutdown()
        results["threads8"] = threaded(client.connection_info, 8, calls // 4)
        results["wake"] = wake_latency_us()
    finally:
        client.close()
    return results


def wake_latency_us(samples: int = 300) -> float:
    """OS baseline: p50 from ``set_result`` to the waiter running, for a thread that has
    been blocked for 1 ms (what every blocking call on I/O pays once, on top of the hop)."""
    latencies = []
    for _ in range(samples):
        future: concurrent.futures.Future[float] = concurrent.futures.Future()

        def setter(future: concurrent.futures.Future[float] = future) -> None:
            time.sleep(0.001)
            future.set_result(time.perf_counter())

        thread = threading.Thread(target=setter)
        thread.start()
        set_at = future.result()
        latencies.append(time.perf_counter() - set_at)
        thread.join()
    return statistics.median(latencies) * 1e6


def threaded(func: Callable[[], object], count: int, calls: int) -> float:
    """Wall time per call with ``count`` threads calling ``calls`` times each."""
    barrier = threading.Barrier(count + 1)

    def worker() -> None:
        barrier.wait()
        for _ in range(calls):
            func()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) / (count * calls) * 1e6


def measure_asks(state: Path, context: Any, asks: int) -> dict[str, float]:
    identity = ThalovantIdentity.from_mapping(json.loads((state / "main.json").read_text()))
    noise = state / "noise"

    def p50(samples: list[float]) -> float:
        return statistics.median(samples) * 1e6

    async def async_asks() -> list[float]:
        async with AsyncThalovantClient(
            identity, ssl_context=context, noise_state_dir=noise
        ) as client:
            for _ in range(30):
                await client.ask("hello")
            samples = []
            for _ in range(asks):
                started = time.perf_counter()
                await client.ask("hello")
                samples.append(time.perf_counter() - started)
            return samples

    def sync_asks() -> list[float]:
        with ThalovantClient(identity, ssl_context=context, noise_state_dir=noise) as client:
            for _ in range(30):
                client.ask("hello")
            samples = []
            for _ in range(asks):
                started = time.perf_counter()
                client.ask("hello")
                samples.append(time.perf_counter() - started)
            return samples

    def split_asks() -> list[tuple[float, float, float]]:
        # Where a blocking ask's time goes: waking the loop, the ask itself, waking the caller.
        with ThalovantClient(identity, ssl_context=context, noise_state_dir=noise) as client:

            async def timed() -> tuple[float, float]:
                started = time.perf_counter()
                await client._async.ask("hello")
                return started, time.perf_counter()

            for _ in range(30):
                client._loop.call(timed)
            samples = []
            for _ in range(asks):
                submitted = time.perf_counter()
                started, done = client._loop.call(timed)
                samples.append((started - submitted, done - started, time.perf_counter() - done))
            return samples

    # interleave so drift (CPU frequency, the hub warming up) hits both alike
    async_samples: list[float] = []
    sync_samples: list[float] = []
    for _ in range(2):
        async_samples += asyncio.run(async_asks())
        sync_samples += sync_asks()
    split = split_asks()
    return {
        "ask_async": p50(async_samples),
        "ask_sync": p50(sync_samples),
        "ask_in": p50([s[0] for s in split]),
        "ask_inner": p50([s[1] for s in split]),
        "ask_out": p50([s[2] for s in split]),
    }


def run(asks: int, hub: bool) -> None:
    results = measure_calls(20_000)
    if hub:
        with tempfile.TemporaryDirectory(prefix="thalovant-bench-") as tmp:
            state = Path(tmp)
            context = bench_client.make_tls(state)
            process = subprocess.Popen(
                [sys.executable, bench_client.__file__, "--serve-hub", str(state), "main"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert process.stdout is not None
                if not process.stdout.readline().startswith("READY"):
                    raise SystemExit("the hub process did not start")
                results |= measure_asks(state, context, asks)
            finally:
                assert process.stdin is not None
                process.stdin.close()
                process.wait(timeout=15)
    overhead = results["facade"] - results["direct"]
    rows = [
        ("measurement", "us/call", "target"),
        ("await connection_info(), direct on the async client", f"{results['direct']:.1f}", ""),
        ("connection_info() through ThalovantClient", f"{results['facade']:.1f}", ""),
        ("  facade overhead", f"{overhead:.1f}", "<= 100"),
        (
            "connection_info() through anyio BlockingPortal.call",
            f"{results['anyio_portal']:.1f}",
            "",
        ),
        ("async no-op, awaited on the loop", f"{results['await_noop']:.2f}", ""),
        ("async no-op through the facade's loop thread", f"{results['facade_noop']:.1f}", ""),
        ("connection_info(), 8 threads at once (wall/call)", f"{results['threads8']:.1f}", ""),
        ("OS baseline: wake a thread blocked for 1 ms (p50)", f"{results['wake']:.0f}", ""),
    ]
    if hub:
        delta = results["ask_sync"] - results["ask_async"]
        rows += [
            (f"ask('hello') p50, async client ({2 * asks})", f"{results['ask_async']:.0f}", ""),
            (f"ask('hello') p50, ThalovantClient ({2 * asks})", f"{results['ask_sync']:.0f}", ""),
            ("  facade overhead on ask", f"{delta:.0f}", "<= 100"),
            ("  split: caller -> ask task running (p50)", f"{results['ask_in']:.0f}", ""),
            ("  split: the ask on the loop thread (p50)", f"{results['ask_inner']:.0f}", ""),
            ("  split: reply -> caller running (p50)", f"{results['ask_out']:.0f}", ""),
        ]
    print(bench_client.table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=300)
    parser.add_argument("--no-hub", action="store_true", help="skip the ask comparison")
    args = parser.parse_args()
    run(args.asks, not args.no_hub)


if __name__ == "__main__":
    main()

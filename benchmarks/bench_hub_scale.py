"""Hub scale: many clients connected to one hub process, each asking once a second.

    .venv/bin/python benchmarks/bench_hub_scale.py [--clients 1000] [--seconds 20]

The hub runs in a child process (``bench_client.py --serve-hub``); every client runs in this
process on one event loop, over WSS with TLS and Noise (``--protocol`` picks another carrier).
A hub caps the sessions of one identity (16), so the clients share identities 16 by 16; the
first client of each identity makes its first contact (XXpsk2) and the rest connect pinned.
Each client asks "hello" once a second, phases spread over the second. Prints one table:

* the hub's RSS growth per connected client (idle, all connected);
* ask latency p50/p99 over every ask of the run (target: p99 <= 20 ms), and the ask rate;
* asks that failed, and the CPU time per ask of the hub and of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_client

PER_IDENTITY = 16


def hub_rss(hub: subprocess.Popen[str]) -> tuple[int, float]:
    """The hub process's RSS in bytes and CPU time in seconds."""
    assert hub.stdin is not None
    assert hub.stdout is not None
    hub.stdin.write("rss\n")
    hub.stdin.flush()
    _, rss, cpu = hub.stdout.readline().split()
    return int(rss), float(cpu)


async def connect_all(
    state: Path, context: ssl.SSLContext, names: list[str], count: int, protocol: str
) -> list[Any]:
    def client(index: int) -> Any:
        name = names[index // PER_IDENTITY]
        return bench_client.client_for(state, name, state / f"noise-{name}", context, protocol)

    clients = [client(index) for index in range(count)]
    firsts = clients[::PER_IDENTITY]
    for start in range(0, len(firsts), 6):  # first contacts: Argon2id each, 6 at a time
        async with anyio.create_task_group() as tg:
            for first in firsts[start : start + 6]:
                tg.start_soon(first.connect)
    rest = [c for index, c in enumerate(clients) if index % PER_IDENTITY]
    for start in range(0, len(rest), 50):
        async with anyio.create_task_group() as tg:
            for other in rest[start : start + 50]:
                tg.start_soon(other.connect)
    return clients


async def ask_every_second(clients: list[Any], seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    started = anyio.current_time() + 0.5

    async def asker(client: Any) -> None:
        nonlocal failures
        tick = started + random.random()
        while tick < started + seconds:
            await anyio.sleep(max(0.0, tick - anyio.current_time()))
            begun = time.perf_counter()
            try:
                await client.ask("hello", timeout=10)
            except Exception:
                failures += 1
            else:
                latencies.append(time.perf_counter() - begun)
            tick += 1.0

    async with anyio.create_task_group() as tg:
        for client in clients:
            tg.start_soon(asker, client)
    return latencies, failures


async def measure(
    state: Path,
    context: ssl.SSLContext,
    hub: subprocess.Popen[str],
    names: list[str],
    count: int,
    seconds: float,
    protocol: str,
) -> dict[str, float]:
    rss_before, _ = await anyio.to_thread.run_sync(hub_rss, hub)
    clients = await connect_all(state, context, names, count, protocol)
    try:
        await anyio.sleep(2.0)  # let every connection go idle
        rss_after, hub_cpu = await anyio.to_thread.run_sync(hub_rss, hub)
        cpu = time.process_time()
        latencies, failures = await ask_every_second(clients, seconds)
        cpu = time.process_time() - cpu
        hub_cpu = (await anyio.to_thread.run_sync(hub_rss, hub))[1] - hub_cpu
    finally:
        async with anyio.create_task_group() as tg:
            for client in clients:
                tg.start_soon(client.close)
    latencies.sort()
    return {
        "rss_kib": (rss_after - rss_before) / count / 1024,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "rate": len(latencies) / seconds,
        "failures": failures,
        "hub_cpu_us": hub_cpu / max(1, len(latencies)) * 1e6,
        "client_cpu_us": cpu / max(1, len(latencies)) * 1e6,
    }


def run(count: int, seconds: float, protocol: str) -> None:
    names = [f"scale-{index}" for index in range(-(-count // PER_IDENTITY))]
    with tempfile.TemporaryDirectory(prefix="thalovant-scale-") as tmp:
        state = Path(tmp)
        context = bench_client.make_tls(state)
        hub = subprocess.Popen(
            [sys.executable, bench_client.__file__, "--serve-hub", str(state), *names],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "THALOVANT_BENCH_CONNECTIONS": str(count + 64)},
        )
        try:
            assert hub.stdout is not None
            if not hub.stdout.readline().startswith("READY"):
                raise SystemExit("the hub process did not start")
            figures = asyncio.run(measure(state, context, hub, names, count, seconds, protocol))
        finally:
            assert hub.stdin is not None
            hub.stdin.close()
            hub.wait(timeout=30)
    print(
        f"Hub scale ({protocol}): {count} clients on one hub process, each asking once a "
        f"second for {seconds:g} s; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
    )
    rows = [
        ("measurement", "result", "target"),
        ("hub RSS growth per connected client", f"{figures['rss_kib']:.0f} KiB", ""),
        ("ask latency p50", f"{figures['p50_ms']:.1f} ms", ""),
        ("ask latency p99", f"{figures['p99_ms']:.1f} ms", "<= 20 ms"),
        ("asks/s served", f"{figures['rate']:.0f}", f"{count}"),
        ("asks failed", f"{figures['failures']:.0f}", "0"),
        ("hub CPU per ask", f"{figures['hub_cpu_us']:.0f} us", ""),
        (
            "client CPU per ask (all clients in this process)",
            f"{figures['client_cpu_us']:.0f} us",
            "",
        ),
    ]
    print(bench_client.table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--protocol", choices=("wss", "https", "mqtt"), default="wss")
    args = parser.parse_args()
    run(args.clients, args.seconds, args.protocol)


if __name__ == "__main__":
    main()

"""Client benchmarks against a local hub on loopback, with real TLS and Noise.

    .venv/bin/python benchmarks/bench_client.py [--asks 500] [--clients 50] [--protocol https]

The hub runs in a child process (this script with ``--serve-hub``), so client timings and
memory are not mixed with the hub's. TLS material comes from ``trustme`` (the ``test``
extra), generated inline. Prints one table:

* connect, first contact: ``XXpsk2`` with the client's Argon2id (the hub's PSK is derived in
  advance), including the refusal window an XX connect waits before reporting ready;
* connect, pinned: ``KKpsk0`` with the PSK from the disk cache;
* ask latency p50/p99 over sequential asks of the "hello" skill;
* asks/s with 1 and with 64 asks in flight on one connection (also with 64 conversations);
* memory per idle connected client (tracemalloc delta over ``--clients`` clients);
* HTTPS only: HTTP requests per minute of an idle connected client, counted by the hub over
  ``--idle-seconds`` after the poll back-off has settled (the official carrier's fixed 10 Hz
  double poll makes 1200).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import anyio

XX_SAMPLES = 3
#: The carrier every client uses (``--protocol``); MQTT goes through the hub's embedded broker.
PROTOCOL = "wss"


# -- the hub process ------------------------------------------------------------------------


async def serve_hub(state: Path, names: list[str]) -> None:
    from thalovant.hub import LocalHub
    from thalovant.protocol.psk import default_psk_deriver

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(state / "server.pem")
    async with LocalHub(state / "hub", ssl_context=context) as hub:
        for name in names:
            identity = hub.register_client(name)
            # Derive the hub's PSK now: connect timings should show the client's Argon2id only.
            await anyio.to_thread.run_sync(
                default_psk_deriver.get, identity.access_key, identity.password, hub.node_id
            )
            (state / f"{name}.json").write_text(json.dumps(identity.as_dict(include_secrets=True)))
        print("READY", flush=True)
        # One command per line: "count" prints the HTTP requests served; EOF stops the hub.
        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            if line.strip() == "count":
                served = hub.http_server.requests if hub.http_server is not None else 0
                print(f"COUNT {served}", flush=True)


# -- measurements ---------------------------------------------------------------------------


def client_for(state: Path, name: str, noise: Path, context: ssl.SSLContext) -> Any:
    from thalovant.client.client import AsyncThalovantClient
    from thalovant.identity.model import ThalovantIdentity

    identity = ThalovantIdentity.from_mapping(json.loads((state / f"{name}.json").read_text()))
    return AsyncThalovantClient(
        identity, ssl_context=context, noise_state_dir=noise, protocol=PROTOCOL
    )


async def measure_idle(
    state: Path, context: ssl.SSLContext, hub: subprocess.Popen[str], seconds: float
) -> float:
    """HTTP requests per minute the hub serves to one idle, connected client."""

    def count() -> int:
        assert hub.stdin is not None
        assert hub.stdout is not None
        hub.stdin.write("count\n")
        hub.stdin.flush()
        return int(hub.stdout.readline().split()[1])

    client = client_for(state, "main", state / "noise-main", context)
    async with client:
        await client.ask("hello")
        await anyio.sleep(5.0)  # let the poll back-off settle
        before = await anyio.to_thread.run_sync(count)
        await anyio.sleep(seconds)
        after = await anyio.to_thread.run_sync(count)
    return (after - before) * 60.0 / seconds


async def measure_connects(state: Path, context: ssl.SSLContext) -> dict[str, float]:
    from thalovant.protocol.psk import default_psk_deriver

    first, handshakes, pinned = [], [], []
    for index in range(XX_SAMPLES):
        noise = state / f"noise-xx-{index}"
        default_psk_deriver.clear()
        client = client_for(state, f"xx-{index}", noise, context)
        started = time.perf_counter()
        await client.connect()
        first.append(time.perf_counter() - started)
        handshakes.append(client.connection_info().handshake_ms or 0.0)
        await client.close()
        default_psk_deriver.clear()  # the pinned connect must read the PSK from disk
        client = client_for(state, f"xx-{index}", noise, context)
        started = time.perf_counter()
        info = await client.connect_with_info()
        pinned.append(time.perf_counter() - started)
        assert info.pattern == "KKpsk0", info
        await client.close()
    return {
        "xx_ms": statistics.median(first) * 1000,
        "xx_handshake_ms": statistics.median(handshakes),
        "kk_ms": statistics.median(pinned) * 1000,
    }


async def measure_asks(state: Path, context: ssl.SSLContext, asks: int) -> dict[str, float]:
    client = client_for(state, "main", state / "noise-main", context)
    results: dict[str, float] = {}
    async with client:
        for _ in range(50):  # warm up
            await client.ask("hello")
        latencies = []
        for _ in range(asks):
            started = time.perf_counter()
            await client.ask("hello")
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        results["p50_ms"] = latencies[len(latencies) // 2] * 1000
        results["p99_ms"] = latencies[int(len(latencies) * 0.99) - 1] * 1000
        results["rate_1"] = len(latencies) / sum(latencies)
        for label, conversations in (("rate_64", False), ("rate_64_sessions", True)):
            results[label] = await concurrent_rate(client, 64, asks * 8, conversations)
    return results


async def concurrent_rate(client: Any, in_flight: int, total: int, conversations: bool) -> float:
    per_worker = total // in_flight

    async def worker() -> None:
        session = client.conversation() if conversations else client
        for _ in range(per_worker):
            await session.ask("hello")

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(in_flight):
            tg.start_soon(worker)
    return per_worker * in_flight / (time.perf_counter() - started)


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_names(count: int) -> list[str]:
    """One identity per idle client: a hub caps the sessions of one identity (16), and MQTT
    has one connection per identity (its topic prefix)."""
    return [f"mem-{index}" for index in range(count)]


async def measure_memory(state: Path, context: ssl.SSLContext, count: int) -> dict[str, float]:
    names = memory_names(count)

    async def first_contact(name: str) -> None:  # pins the hub key, caches the PSK on disk
        async with client_for(state, name, state / f"noise-{name}", context):
            pass

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(first_contact, name)
    # One connect first, so lazily imported modules and caches are not counted.
    warm = client_for(state, "main", state / "noise-main", context)
    await warm.connect()
    gc.collect()
    rss_before = rss_bytes()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    clients = [client_for(state, name, state / f"noise-{name}", context) for name in names]
    for client in clients:
        await client.connect()
    await anyio.sleep(0.5)  # let every connection go idle
    gc.collect()
    after = tracemalloc.take_snapshot()
    rss_after = rss_bytes()
    tracemalloc.stop()
    stats = after.compare_to(before, "filename")
    grown = sum(stat.size_diff for stat in stats)
    # asyncio's SSLProtocol allocates a 256 KiB read buffer per TLS connection, which the
    # carrier trims to thalovant.carriers.tls.TLS_READ_BUFFER_BYTES.
    tls_files = (os.path.join("asyncio", "sslproto.py"), os.path.join("carriers", "tls.py"))
    tls_buffer = sum(
        stat.size_diff for stat in stats if stat.traceback[0].filename.endswith(tls_files)
    )
    for client in [*clients, warm]:
        await client.close()
    return {
        "traced_kib": grown / count / 1024,
        "tls_kib": tls_buffer / count / 1024,
        "rss_kib": (rss_after - rss_before) / count / 1024,
    }


# -- driver ---------------------------------------------------------------------------------


def make_tls(folder: Path) -> ssl.SSLContext:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(context)
    return context


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


async def measure(
    state: Path,
    context: ssl.SSLContext,
    asks: int,
    count: int,
    hub: subprocess.Popen[str],
    idle_seconds: float,
) -> tuple[dict[str, float], dict[str, float], dict[str, float], float | None]:
    connects = await measure_connects(state, context)
    rates = await measure_asks(state, context, asks)
    memory = await measure_memory(state, context, count)
    idle = await measure_idle(state, context, hub, idle_seconds) if PROTOCOL == "https" else None
    return connects, rates, memory, idle


def run(asks: int, count: int, idle_seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="thalovant-bench-") as tmp:
        state = Path(tmp)
        context = make_tls(state)
        names = ["main", *(f"xx-{i}" for i in range(XX_SAMPLES)), *memory_names(count)]
        hub = subprocess.Popen(
            [sys.executable, __file__, "--serve-hub", str(state), *names],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert hub.stdout is not None
            if not hub.stdout.readline().startswith("READY"):
                raise SystemExit("the hub process did not start")
            connects, rates, memory, idle = asyncio.run(
                measure(state, context, asks, count, hub, idle_seconds)
            )
        finally:
            assert hub.stdin is not None
            hub.stdin.close()
            hub.wait(timeout=15)
    rows = [
        (f"measurement ({PROTOCOL})", "result", "target"),
        ("connect, first contact (XXpsk2 + Argon2id)", f"{connects['xx_ms']:.0f} ms", ""),
        ("  of which the Noise handshake", f"{connects['xx_handshake_ms']:.0f} ms", ""),
        ("connect, pinned (KKpsk0, PSK cached)", f"{connects['kk_ms']:.1f} ms", ""),
        (f"ask latency p50 ({asks} sequential)", f"{rates['p50_ms']:.2f} ms", "<= 2 ms"),
        ("ask latency p99", f"{rates['p99_ms']:.2f} ms", ""),
        ("asks/s, 1 in flight", f"{rates['rate_1']:.0f}", ""),
        ("asks/s, 64 in flight (one connection)", f"{rates['rate_64']:.0f}", ">= 2000"),
        ("asks/s, 64 in flight, 64 conversations", f"{rates['rate_64_sessions']:.0f}", ""),
        (f"idle client, traced ({count} clients)", f"{memory['traced_kib']:.1f} KiB", "<= 100 KiB"),
        ("  of which the TLS read buffer", f"{memory['tls_kib']:.1f} KiB", ""),
        (
            "  the rest (SDK, websockets, anyio)",
            f"{memory['traced_kib'] - memory['tls_kib']:.1f} KiB",
            "",
        ),
        ("idle client, RSS growth", f"{memory['rss_kib']:.1f} KiB", ""),
    ]
    if idle is not None:
        rows.append(("idle client, HTTP requests per minute", f"{idle:.0f}", "< 1200"))
    print(table(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=500)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--protocol", choices=("wss", "https", "mqtt"), default="wss")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--serve-hub", nargs="+", metavar=("STATE", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hub:
        state, *names = args.serve_hub
        asyncio.run(serve_hub(Path(state), names))
        return
    global PROTOCOL
    PROTOCOL = args.protocol
    run(args.asks, args.clients, args.idle_seconds)


if __name__ == "__main__":
    main()

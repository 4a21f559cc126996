"""Client benchmarks against a local hub on loopback, with real TLS and Noise, per carrier.

    .venv/bin/python benchmarks/bench_client.py [--asks 500] [--clients 20] [--protocol all]

The hub runs in a child process (this script with ``--serve-hub``), so client timings and
memory are not mixed with the hub's. TLS material comes from ``trustme`` (the ``test``
extra), generated inline. Prints one table per carrier (``wss``, ``https``, ``mqtt``), each
figure beside its target (issue 19) and its ratio to the WSS figure:

* connect, first contact: ``XXpsk2`` with the client's Argon2id (the hub's PSK is derived in
  advance), including the refusal window an XX connect waits before reporting ready;
* connect, pinned: ``KKpsk0`` with the PSK from the disk cache;
* ask latency p50/p99 over sequential asks of the "hello" skill;
* asks/s with 64 asks in flight on one connection (also with 64 conversations) and the
  client's CPU time per ask, the carriers interleaved over ``--rounds`` rounds (median);
* memory per idle connected client (tracemalloc delta over ``--clients`` clients, one
  identity each);
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
    from thalovant.hub.limits import HubLimits
    from thalovant.protocol.psk import default_psk_deriver

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(state / "server.pem")
    # The scale benchmark connects more clients from loopback than the default caps allow.
    connections = int(os.environ.get("THALOVANT_BENCH_CONNECTIONS", "0"))
    limits = (
        HubLimits(max_connections=connections, max_connections_per_peer=connections)
        if connections
        else None
    )
    async with LocalHub(state / "hub", ssl_context=context, limits=limits) as hub:
        for name in names:
            identity = hub.register_client(name)
            # Derive the hub's PSK now: connect timings should show the client's Argon2id only.
            await anyio.to_thread.run_sync(
                default_psk_deriver.get, identity.access_key, identity.password, hub.node_id
            )
            (state / f"{name}.json").write_text(json.dumps(identity.as_dict(include_secrets=True)))
        print("READY", flush=True)
        # One command per line: "count" prints the HTTP requests served, "rss" the hub's
        # resident memory and CPU seconds; EOF stops the hub.
        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            if line.strip() == "count":
                served = hub.http_server.requests if hub.http_server is not None else 0
                print(f"COUNT {served}", flush=True)
            elif line.strip() == "rss":
                print(f"RSS {rss_bytes()} {time.process_time()}", flush=True)


# -- measurements ---------------------------------------------------------------------------


def client_for(
    state: Path, name: str, noise: Path, context: ssl.SSLContext, protocol: str | None = None
) -> Any:
    from thalovant.client.client import AsyncThalovantClient
    from thalovant.identity.model import ThalovantIdentity

    identity = ThalovantIdentity.from_mapping(json.loads((state / f"{name}.json").read_text()))
    return AsyncThalovantClient(
        identity, ssl_context=context, noise_state_dir=noise, protocol=protocol or PROTOCOL
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
    for name in xx_names(PROTOCOL):
        noise = state / f"noise-{name}"
        default_psk_deriver.clear()
        client = client_for(state, name, noise, context)
        started = time.perf_counter()
        await client.connect()
        first.append(time.perf_counter() - started)
        handshakes.append((await client.connection_info()).handshake_ms or 0.0)
        await client.close()
        default_psk_deriver.clear()  # the pinned connect must read the PSK from disk
        client = client_for(state, name, noise, context)
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
    return results


async def measure_rates(
    state: Path, context: ssl.SSLContext, protocols: list[str], asks: int, rounds: int
) -> dict[str, dict[str, float]]:
    """asks/s with 64 in flight, the carriers interleaved round by round (this machine's load
    moves between minutes; the median of the rounds is kept), plus client CPU per ask."""
    samples: dict[str, dict[str, list[float]]] = {
        protocol: {"rate_64": [], "rate_64_sessions": [], "cpu_us": []} for protocol in protocols
    }
    clients = {
        protocol: client_for(state, "main", state / "noise-main", context, protocol)
        for protocol in protocols
    }
    for client in clients.values():
        await client.connect()
        for _ in range(50):  # warm up
            await client.ask("hello")
    try:
        for _ in range(rounds):
            for protocol, client in clients.items():
                cpu = time.process_time()
                samples[protocol]["rate_64"].append(await concurrent_rate(client, 64, asks * 4))
                samples[protocol]["cpu_us"].append((time.process_time() - cpu) / (asks * 4) * 1e6)
                samples[protocol]["rate_64_sessions"].append(
                    await concurrent_rate(client, 64, asks * 2, conversations=True)
                )
    finally:
        for client in clients.values():
            await client.close()
    return {
        protocol: {label: statistics.median(values) for label, values in figures.items()}
        for protocol, figures in samples.items()
    }


async def concurrent_rate(
    client: Any, in_flight: int, total: int, conversations: bool = False
) -> float:
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


def memory_names(count: int, protocol: str = "") -> list[str]:
    """One identity per idle client: a hub caps the sessions of one identity (16), and MQTT
    has one connection per identity (its topic prefix)."""
    return [f"mem-{protocol}{index}" for index in range(count)]


def xx_names(protocol: str) -> list[str]:
    """Identities that make their first contact in the connect measurement."""
    return [f"xx-{protocol}{index}" for index in range(XX_SAMPLES)]


async def measure_memory(state: Path, context: ssl.SSLContext, count: int) -> dict[str, float]:
    names = memory_names(count, PROTOCOL)

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


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


#: (key, label, unit format, target text, target test) of each row of a carrier's table.
ROWS: list[tuple[str, str, str, str, Any]] = [
    ("xx_ms", "connect, first contact (XXpsk2 + Argon2id)", "{:.0f} ms", "<= 400 ms", 400),
    ("xx_handshake_ms", "  of which the Noise handshake", "{:.0f} ms", "", None),
    ("kk_ms", "connect, pinned (KKpsk0, PSK cached)", "{:.1f} ms", "<= 30 ms", 30),
    ("p50_ms", "ask latency p50 (sequential)", "{:.2f} ms", "<= 2 ms", 2),
    ("p99_ms", "ask latency p99", "{:.2f} ms", "", None),
    ("rate_1", "asks/s, 1 in flight", "{:.0f}", "", None),
    ("rate_64", "asks/s, 64 in flight (one connection)", "{:.0f}", ">= 2000", -2000),
    ("cpu_us", "  client CPU per ask at 64 in flight", "{:.0f} us", "", None),
    ("rate_64_sessions", "asks/s, 64 in flight, 64 conversations", "{:.0f}", "", None),
    ("traced_kib", "idle client, traced", "{:.1f} KiB", "<= 100 KiB", 100),
    ("tls_kib", "  of which TLS read buffers", "{:.1f} KiB", "", None),
    ("rss_kib", "idle client, RSS growth", "{:.1f} KiB", "", None),
    ("idle_rpm", "idle client, HTTP requests per minute", "{:.0f}", "< 1200", 1199),
]


def carrier_table(protocol: str, figures: dict[str, float], wss: dict[str, float]) -> str:
    """One carrier's figures, each beside its target and its ratio to the WSS figure."""
    rows: list[tuple[str, ...]] = [(f"{protocol}", "result", "target", "met", "vs wss")]
    for key, label, fmt, target, bound in ROWS:
        if key not in figures:
            continue
        value = figures[key]
        met = ""
        if bound is not None and value == value:  # not nan
            met = "yes" if (value >= -bound if bound < 0 else value <= bound) else "NO"
        ratio = ""
        if protocol != "wss" and wss.get(key) and value == value:
            ratio = f"{value / wss[key]:.2f}x"
        shown = fmt.format(value) if value == value else "not measured"
        rows.append((label, shown, target, met, ratio))
    return table(rows)


async def measure(
    state: Path,
    context: ssl.SSLContext,
    protocols: list[str],
    asks: int,
    count: int,
    hub: subprocess.Popen[str],
    idle_seconds: float,
    rounds: int,
) -> dict[str, dict[str, float]]:
    global PROTOCOL
    figures: dict[str, dict[str, float]] = {}
    for protocol in protocols:
        PROTOCOL = protocol
        figures[protocol] = {
            **await measure_connects(state, context),
            **await measure_asks(state, context, asks),
            **await measure_memory(state, context, count),
        }
        if protocol == "https":
            figures[protocol]["idle_rpm"] = await measure_idle(state, context, hub, idle_seconds)
    for protocol, rates in (await measure_rates(state, context, protocols, asks, rounds)).items():
        figures[protocol].update(rates)
    return figures


def run(protocols: list[str], asks: int, count: int, idle_seconds: float, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="thalovant-bench-") as tmp:
        state = Path(tmp)
        context = make_tls(state)
        names = ["main"]
        for protocol in protocols:
            names += [*xx_names(protocol), *memory_names(count, protocol)]
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
            figures = asyncio.run(
                measure(state, context, protocols, asks, count, hub, idle_seconds, rounds)
            )
        finally:
            assert hub.stdin is not None
            hub.stdin.close()
            hub.wait(timeout=15)
    print(
        f"Client against the local hub (hub in a child process, TLS on every carrier), "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{count} idle clients, {rounds} interleaved throughput rounds (median)\n"
    )
    for protocol in protocols:
        print(carrier_table(protocol, figures[protocol], figures.get("wss", {})))
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--protocol", choices=("all", "wss", "https", "mqtt"), default="all")
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-hub", nargs="+", metavar=("STATE", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hub:
        state, *names = args.serve_hub
        asyncio.run(serve_hub(Path(state), names))
        return
    protocols = ["wss", "https", "mqtt"] if args.protocol == "all" else [args.protocol]
    run(protocols, args.asks, args.clients, args.idle_seconds, args.rounds)


if __name__ == "__main__":
    main()

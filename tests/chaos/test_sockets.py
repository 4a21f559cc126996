"""Chaos: sockets that hold the hub's listeners, floods, and stalled chunk reassembly.

- silent sockets on every listener (plain TCP, TLS without a request, half-sent TLS
  handshakes, slowloris headers/``CONNECT``, generated garbage): each is closed within the
  first-request deadline; figure: time to close per listener;
- a connection flood from several addresses against a hub in a child process: the caps hold,
  the hub's RSS stays bounded (figure: memory per idle connection), a real client still
  connects and is answered during the flood (figure: accepted / refused / evicted);
- stalled chunked messages from several clients: the hub's memory stays within its
  reassembly budget and every stalled session is closed (figure: hub RSS under N stalls).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from tests.chaos.conftest import SCALE, scaled
from tests.hub.raw_client import RawClient, RawClosed
from thalovant.hub import HubLimits, LocalHub
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.servers.gate import ConnectionGate
from thalovant.protocol.framing import MARKER_FIRST_JSON, MARKER_MIDDLE
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

MARGIN = 8.0  # two shared cores: generous
_TORN_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"  # a ClientHello cut short
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ hostile sockets


async def _aclose(stream: ByteStream) -> None:
    with contextlib.suppress(ssl.SSLError, OSError, anyio.BrokenResourceError):
        await stream.aclose()


async def _closed_by_peer(stream: ByteStream) -> None:
    try:
        while await stream.receive():
            pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError, OSError):
        pass


async def _drip(stream: ByteStream, first: bytes, more: bytes) -> None:
    try:
        await stream.send(first)
        for byte in more * 1000:
            await anyio.sleep(0.1)  # the attack's pace, not a wait for a condition
            await stream.send(bytes([byte]))
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, ssl.SSLError, OSError):
        pass


def _garbage(rng: random.Random) -> bytes:
    """A hostile opening: random bytes, a torn TLS record, a torn HTTP line or MQTT header."""
    choice = rng.randrange(4)
    if choice == 0:
        return rng.randbytes(rng.randrange(1, 64))
    if choice == 1:
        return bytes([0x16, 0x03, rng.randrange(4), 0x40, 0x00]) + rng.randbytes(rng.randrange(40))
    if choice == 2:
        return b"GET /" + b"a" * rng.randrange(200) + b" HTTP/1.1\r\nHost: x\r\nX: "
    return bytes([0x10, 0xFF, 0xFF, 0x7F]) + rng.randbytes(rng.randrange(32))


async def _one_silent_socket(
    port: int, mode: str, tls: ssl.SSLContext | None, mqtt: bool, rng: random.Random
) -> float:
    """Seconds until the hub closes a socket that never completes a request."""
    started = time.monotonic()
    raw = await anyio.connect_tcp("127.0.0.1", port)
    stream: ByteStream = raw
    try:
        async with anyio.create_task_group() as tg:
            if mode == "tls" and tls is not None:
                stream = await TLSStream.wrap(stream, hostname="127.0.0.1", ssl_context=tls)
            elif mode == "half-tls":
                await stream.send(
                    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + rng.randbytes(8)
                )
            elif mode == "garbage":
                await stream.send(_garbage(rng))
            elif mode == "slowloris":
                if tls is not None:
                    stream = await TLSStream.wrap(stream, hostname="127.0.0.1", ssl_context=tls)
                if mqtt:
                    tg.start_soon(_drip, stream, b"\x10\x7f\x00\x04MQTT\x04\xc2", b"\x00" * 64)
                else:
                    tg.start_soon(_drip, stream, b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-A: b\r\n")
            await _closed_by_peer(stream)
            tg.cancel_scope.cancel()
    except (ssl.SSLError, OSError, anyio.BrokenResourceError):
        pass  # the hub hung up during our TLS handshake: closed
    finally:
        await _aclose(stream)
        await anyio.aclose_forcefully(raw)  # the TCP socket under a TLS stream, whatever happened
    return time.monotonic() - started


# The probes' own client sockets (anyio, one per silent connection) have been seen reported as
# unclosed at garbage collection in about one full run in four, although every probe closes its
# stream and its raw socket; the hub's side is asserted by the gate's open-connection counts.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_silent_sockets_on_every_listener(
    hub_tls: HubTLS, tmp_path: Path, chaos_figure: Callable[[str], None]
) -> None:
    deadline = 10.0 if SCALE == "full" else 1.0  # full: the default request_timeout
    limits = HubLimits(request_timeout=deadline)
    per_mode = scaled(2, 10)
    rng = random.Random(1107)
    account = LocalAccount.create("dev@example.com", "correct horse battery")
    async with (
        LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context, limits=limits) as hub,
        LocalControlPlane(hub, account, ssl_context=hub_tls.server_context, limits=limits) as cp,
    ):
        broker, http = hub.embedded_broker, hub.http_server
        assert broker is not None
        assert http is not None
        listeners: dict[str, tuple[int, bool, bool, ConnectionGate]] = {
            "wss": (hub.wss_port, True, False, hub.wss_server.gate),
            "https": (http.port, True, False, http.gate),
            "control": (cp.port, True, False, cp.gate),
            "mqtt": (broker.client_port, True, True, broker.client_gate),
            "mqtt-hub": (broker.hub_port, False, True, broker.hub_gate),
        }
        times: dict[str, list[float]] = {name: [] for name in listeners}

        async def probe(name: str, mode: str, seed: int) -> None:
            port, tls, mqtt, _ = listeners[name]
            context = hub_tls.client_context if tls else None
            took = await _one_silent_socket(port, mode, context, mqtt, random.Random(seed))
            times[name].append(took)

        modes = ["tcp", "tls", "half-tls", "slowloris", "garbage"]
        with anyio.fail_after(deadline + 3 * MARGIN):
            async with anyio.create_task_group() as tg:
                for name, (_, tls, _, _) in listeners.items():
                    for mode in modes:
                        if mode in ("tls", "half-tls") and not tls:
                            continue
                        for _ in range(per_mode):
                            tg.start_soon(probe, name, mode, rng.randrange(2**32))
        baselines = {"mqtt-hub": 1}  # the hub's own MQTT client
        with anyio.fail_after(MARGIN):
            for name, (_, _, _, gate) in listeners.items():
                left = baselines.get(name, 0)
                await gate.wait_until(lambda g, left=left: g.open_connections == left)
    shown = ", ".join(f"{name} {max(values):.1f} s" for name, values in times.items())
    chaos_figure(
        f"time to close a socket without a request (request_timeout={deadline:g} s, "
        f"{sum(map(len, times.values()))} sockets, 5 kinds): {shown}"
    )
    for name, values in times.items():
        assert max(values) < deadline + MARGIN, (name, values)


# ------------------------------------------------------------------ hub in a child process


class ChildHub:
    def __init__(self, folder: Path, options: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos._hub_child", str(folder), json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the child hub did not start")
        self.info: dict[str, Any] = json.loads(line)
        self.client_tls = ssl.create_default_context(cafile=self.info["ca_file"])

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return result

    async def astats(self) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self.stats)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    async def client(self, index: int, **kwargs: Any) -> RawClient:
        return await RawClient.connect(
            f"wss://127.0.0.1:{self.info['wss']}",
            access_key=f"ak-c{index}",
            password=f"pw-c{index}",
            ssl=self.client_tls,
            **kwargs,
        )


FLOOD = scaled(200, 1000)
FLOOD_ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
FLOOD_PER_PEER = FLOOD // 5
FLOOD_TOTAL = FLOOD // 2
STALLS = scaled(4, 8)
STALL_BYTES = scaled(6, 31) * 1024 * 1024
STALL_TIMEOUT = scaled(3, 15)
BUDGET_TOTAL = scaled(12, 64) * 1024 * 1024
BUDGET_CLIENT = scaled(8, 32) * 1024 * 1024


@pytest.fixture(scope="module")
def child_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildHub]:
    limits = {
        "request_timeout": 60.0,  # the flood stays put for the whole measurement
        "max_connections": FLOOD_TOTAL,
        "max_connections_per_peer": FLOOD_PER_PEER,
        "max_reassembly_total": BUDGET_TOTAL,
        "max_reassembly_per_client": BUDGET_CLIENT,
        "chunk_stall_timeout": STALL_TIMEOUT,
    }
    hub = ChildHub(tmp_path_factory.mktemp("child-hub"), {"limits": limits})
    try:
        yield hub
    finally:
        hub.close()


async def test_connection_flood_keeps_caps_and_memory(
    child_hub: ChildHub, chaos_figure: Callable[[str], None]
) -> None:
    port = child_hub.info["wss"]
    before = (await child_hub.astats())["rss_kib"]
    held: list[ByteStream] = []
    refused = 0
    slots = anyio.Semaphore(32)

    heavy = FLOOD // 4  # the first address alone tries more than its per-peer cap

    async def one(index: int) -> None:
        nonlocal refused
        if index < heavy:
            address = FLOOD_ADDRESSES[0]
        else:
            address = FLOOD_ADDRESSES[1 + index % (len(FLOOD_ADDRESSES) - 1)]
        async with slots:
            raw: ByteStream | None = None
            try:
                raw = await anyio.connect_tcp("127.0.0.1", port, local_host=address)
                stream = raw
                if index % 2:  # half of them finish TLS, then say nothing
                    stream = await TLSStream.wrap(
                        raw, hostname="127.0.0.1", ssl_context=child_hub.client_tls
                    )
                held.append(stream)
            except (ssl.SSLError, OSError, anyio.BrokenResourceError, anyio.EndOfStream):
                refused += 1
                if raw is not None:
                    await _aclose(raw)

    try:
        with anyio.fail_after(FLOOD / 10 + 3 * MARGIN):
            async with anyio.create_task_group() as tg:
                for index in range(heavy):
                    tg.start_soon(one, index)
            async with anyio.create_task_group() as tg:
                for index in range(heavy, FLOOD):
                    tg.start_soon(one, index)
        stats = await child_hub.astats()
        gate = stats["gates"]["wss"]
        per_idle = (stats["rss_kib"] - before) / max(1, gate["open"])
        # A real client during the flood: gets in (an idler makes room) and is answered.
        with anyio.fail_after(3 * MARGIN):
            client = await child_hub.client(0)
            try:
                assert await client.ask("hello")
            finally:
                await client.aclose()
        after = (await child_hub.astats())["gates"]["wss"]
    finally:
        for stream in held:
            await _aclose(stream)
    chaos_figure(
        f"flood of {FLOOD} idle connections (half TLS) from {len(FLOOD_ADDRESSES)} addresses, "
        f"caps {FLOOD_PER_PEER}/peer {FLOOD_TOTAL} total: accepted {gate['accepted']}, "
        f"refused {gate['refused']}, evicted {gate['evicted']}, open {gate['open']}; "
        f"a real client connected and was answered (evicted {after['evicted']})"
    )
    chaos_figure(
        f"hub memory per idle connection: {per_idle:.0f} KiB (RSS {before // 1024} -> "
        f"{stats['rss_kib'] // 1024} MB with {gate['open']} open; before the fix ~302 KiB)"
    )
    assert gate["open"] <= FLOOD_TOTAL
    assert gate["busiest_peer"] <= FLOOD_PER_PEER
    assert gate["refused"] >= heavy - FLOOD_PER_PEER  # the per-peer cap bit
    assert gate["evicted"] >= 1  # and the total cap made idlers room for newcomers
    assert gate["accepted"] + gate["refused"] >= FLOOD
    assert after["open"] <= FLOOD_TOTAL
    assert per_idle < 120, f"{per_idle:.0f} KiB per idle connection"


async def test_stalled_reassemblies_stay_within_the_budget(
    child_hub: ChildHub, chaos_figure: Callable[[str], None]
) -> None:
    before = (await child_hub.astats())["rss_kib"]
    clients = [await child_hub.client(i) for i in range(1, 1 + STALLS)]
    chunk = os.urandom(65000)
    cut_off = 0
    try:
        for client in clients:
            encrypt = client.result.send_cipher.encrypt
            try:
                await client.ws.send(encrypt(bytes([MARKER_FIRST_JSON]) + chunk))
                for _ in range(STALL_BYTES // len(chunk)):
                    await client.ws.send(encrypt(bytes([MARKER_MIDDLE]) + chunk))
            except Exception:  # the hub closed it: over the budget
                cut_off += 1
        peak = await child_hub.astats()
        held_mb = (peak["rss_kib"] - before) / 1024
        with anyio.fail_after(STALL_TIMEOUT + 3 * MARGIN):
            for client in clients:
                with contextlib.suppress(RawClosed):
                    while True:
                        await client.recv()
        stats = await child_hub.astats()
    finally:
        for client in clients:
            await client.aclose()
    chaos_figure(
        f"{STALLS} stalled {STALL_BYTES >> 20} MiB reassemblies (budget "
        f"{BUDGET_TOTAL >> 20} MiB, {BUDGET_CLIENT >> 20} MiB/client): hub RSS "
        f"{before // 1024} -> {peak['rss_kib'] // 1024} MB, holding "
        f"{peak['reassembly_used'] >> 20} MiB, {cut_off} cut off at once, the rest closed "
        f"after the {STALL_TIMEOUT} s stall timeout (before the fix 8 x 31 MiB: 63 -> 315 MB)"
    )
    assert peak["reassembly_used"] <= BUDGET_TOTAL
    assert held_mb < BUDGET_TOTAL / 2**20 + 48
    assert stats["reassembly_used"] == 0

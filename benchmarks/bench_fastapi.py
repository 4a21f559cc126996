"""The SDK's added cost inside a FastAPI route, under real uvicorn, 64 concurrent HTTP clients.

    .venv/bin/python benchmarks/bench_fastapi.py [--protocols wss,https,mqtt] [--seconds 4]

Three processes on loopback, placed as in production, where the hub is another machine: one
uvicorn worker serving this module's ``app`` (one ``AsyncThalovantClient`` opened in the
lifespan, as docs/architecture.md "Several workers" describes) pinned to a core of its own;
the local hub (this script with ``--serve-hub``, trustme TLS, demo skills) and the load
generator (``wrk -c64`` when Debian's ``wrk`` is installed, else 64 aiohttp clients in this
process) on the other cores. Per carrier and per route weight, in one run, the same route is
measured twice, alternating after a warm-up:

* ``GET /noask``: the route's own work (FastAPI, JSON) without the ask;
* ``GET /ask``: the same route with ``await client.ask("hello")`` (the demo "hello" skill, the
  cheapest answer the hub has: one ``speak``, then ``handled``).

Figures per route: requests/s, p50/p99 latency, and the uvicorn process's CPU per request
(``/proc``; the ask's CPU in the service is the difference). Per pair: the **throughput
ratio** = ``/ask`` requests/s ÷ ``/noask`` requests/s and the added p50. The route weight
``--work-ms`` (default ``0,20,50``) is a simulated backend call both routes await first:

* ``0``: an empty route, FastAPI's floor. The service core is saturated by both routes, so
  the ratio is FastAPI's CPU per request against FastAPI's plus the SDK's: the worst case;
* ``20`` / ``50``: a route that awaits a database or another service, as real routes do. Once
  the service core is no longer saturated the ratio is what the ask adds to a request's time
  (about a millisecond), which is the SDK's cost a service sees (target ≥ 0.9 on wss).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

CONCURRENCY = 64
CPUS = sorted(os.sched_getaffinity(0))
SERVICE_CPUS = CPUS[:1] if len(CPUS) > 1 else CPUS
"""The uvicorn worker's own core: the hub and the load generator share the others."""
OTHER_CPUS = CPUS[1:] if len(CPUS) > 1 else CPUS


def _pin(cpus: list[int]) -> Any:
    def apply() -> None:
        os.sched_setaffinity(0, cpus)

    return apply


HERE = Path(__file__).resolve().parent

# -- the app (imported by uvicorn as bench_fastapi:app) ---------------------------------------

try:
    from fastapi import FastAPI
except ImportError:  # pragma: no cover - the bench needs the test extra
    FastAPI = None  # type: ignore[assignment,misc]

if FastAPI is not None:

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        from thalovant import AsyncThalovantClient

        client = AsyncThalovantClient.from_identity_file(
            os.environ["BENCH_IDENTITY"], protocol=os.environ["BENCH_PROTOCOL"]
        )
        await client.connect(timeout=60)
        app.state.client = client
        try:
            yield
        finally:
            await client.close(timeout=5)

    app = FastAPI(lifespan=lifespan)

    @app.get("/ask")
    async def ask(work_ms: float = 0.0) -> dict[str, Any]:
        if work_ms:
            await asyncio.sleep(work_ms / 1000)  # the route's own backend call, simulated
        reply = await app.state.client.ask("hello", timeout=30)
        return {"text": reply.text}

    @app.get("/noask")
    async def noask(work_ms: float = 0.0) -> dict[str, Any]:
        if work_ms:
            await asyncio.sleep(work_ms / 1000)
        return {"text": "hello"}

    @app.get("/ready")
    async def ready() -> dict[str, Any]:
        return {"ok": True}


# -- the hub process -------------------------------------------------------------------------


async def serve_hub(state: Path) -> None:
    import anyio

    from thalovant.hub import LocalHub, write_identity_file

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(state / "server.pem")
    async with LocalHub(state / "hub", ssl_context=context) as hub:
        write_identity_file(hub.register_client("bench"), state / "app" / "_identity.json")
        print("READY", flush=True)
        while await anyio.to_thread.run_sync(sys.stdin.readline):
            pass  # EOF stops the hub


# -- the load generator ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(url: str, proc: subprocess.Popen[bytes], within: float = 90.0) -> None:
    import aiohttp

    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("uvicorn exited before it was ready")
            try:
                async with http.get(f"{url}/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # polling an HTTP endpoint until ready, within the bound
    raise SystemExit("uvicorn was not ready in time")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(url: str, seconds: float) -> tuple[float, float, float, int]:
    """``CONCURRENCY`` clients for ``seconds``: requests/s, p50 and p99 (ms), errors.

    wrk (Debian ``wrk``) when installed, pinned beside the hub, so that the load generator
    costs the service's core nothing; otherwise 64 aiohttp clients in this process.
    """
    if shutil.which("wrk"):
        return await _wrk(url, seconds)
    return await _aiohttp_load(url, seconds)


async def _wrk(url: str, seconds: float) -> tuple[float, float, float, int]:
    argv = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{max(1, round(seconds))}s", "--latency", url]
    proc = await asyncio.create_subprocess_exec(
        "taskset", "-c", ",".join(map(str, OTHER_CPUS)), *argv, stdout=subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), seconds + 60)
    text = out.decode()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|timeout):? (\d+)", text))
    return rps, _wrk_latency(text, "50%"), _wrk_latency(text, "99%"), errors


def _wrk_latency(text: str, quantile: str) -> float:
    match = re.search(rf"^\s+{quantile}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no {quantile} latency:\n{text}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


async def _aiohttp_load(url: str, seconds: float) -> tuple[float, float, float, int]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as http:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                start = time.perf_counter()
                async with http.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append((time.perf_counter() - start) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, _p(latencies, 50), _p(latencies, 99), errors


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def bench_protocol(
    state: Path, ca_file: Path, protocol: str, seconds: float, works: list[float]
) -> list[dict[str, Any]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THALOVANT_")}
    env.update(SSL_CERT_FILE=str(ca_file), REQUESTS_CA_BUNDLE=str(ca_file))
    env.update(BENCH_IDENTITY=str(state / "app" / "_identity.json"), BENCH_PROTOCOL=protocol)
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "bench_fastapi:app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    argv += ["--log-level", "warning"]
    proc = subprocess.Popen(argv, env=env, preexec_fn=_pin(SERVICE_CPUS))  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc)
        await _load(f"{url}/ask", 1.0)  # warm-up: connections, caches
        await _load(f"{url}/noask", 1.0)
        rows = []
        for work in works:
            rows.append(await _measure(url, proc.pid, protocol, work, seconds))
    finally:
        proc.terminate()
        proc.wait(20)
    return rows


async def _measure(
    url: str, pid: int, protocol: str, work_ms: float, seconds: float
) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float, float, int]]] = {"noask": [], "ask": []}
    cpu: dict[str, float] = {"noask": 0.0, "ask": 0.0}
    served: dict[str, float] = {"noask": 0.0, "ask": 0.0}
    for _ in range(2):  # alternate, so drift hits both routes alike
        for route in ("noask", "ask"):
            before = _cpu_seconds(pid)
            began = time.perf_counter()
            sample = await _load(f"{url}/{route}?work_ms={work_ms:g}", seconds / 2)
            served[route] += sample[0] * (time.perf_counter() - began)
            cpu[route] += _cpu_seconds(pid) - before
            runs[route].append(sample)
    out: dict[str, Any] = {"protocol": protocol, "work_ms": work_ms}
    for route, samples in runs.items():
        out[route] = {
            "rps": statistics.fmean(s[0] for s in samples),
            "p50": statistics.fmean(s[1] for s in samples),
            "p99": statistics.fmean(s[2] for s in samples),
            "errors": sum(s[3] for s in samples),
            "cpu_us": cpu[route] / max(served[route], 1.0) * 1e6,
        }
    out["ratio"] = out["ask"]["rps"] / out["noask"]["rps"]
    return out


async def run(protocols: list[str], seconds: float, works: list[float]) -> list[dict[str, Any]]:
    import trustme

    with tempfile.TemporaryDirectory(prefix="thalovant-bench-fastapi-") as tmp:
        state = Path(tmp)
        ca = trustme.CA()
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(
            str(state / "server.pem")
        )
        ca_file = state / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        hub = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load
            [sys.executable, __file__, "--serve-hub", str(state)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_pin(OTHER_CPUS),
        )
        try:
            assert hub.stdout is not None
            if hub.stdout.readline().strip() != "READY":
                raise SystemExit("the hub did not start")
            rows = []
            for protocol in protocols:
                rows += await bench_protocol(state, ca_file, protocol, seconds, works)
            return rows
        finally:
            assert hub.stdin is not None
            hub.stdin.close()
            hub.wait(20)


def _installed(module: str, otherwise: str) -> str:
    """What uvicorn picks by default: ``module`` when it is installed (uvicorn[standard])."""
    import importlib.util

    return module if importlib.util.find_spec(module) is not None else otherwise


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"FastAPI route, {CONCURRENCY} concurrent HTTP clients, one uvicorn worker"
        f" (loop {_installed('uvloop', 'asyncio')}, http {_installed('httptools', 'h11')},"
        f" load {'wrk' if shutil.which('wrk') else 'aiohttp'})",
        "carrier  work  route   req/s    p50 ms   p99 ms  errors  service CPU µs/req",
    ]
    for row in rows:
        for route in ("noask", "ask"):
            r = row[route]
            head = f"{row['protocol']:<8} {row['work_ms']:4g}  {route:<6}"
            lines.append(
                f"{head} {r['rps']:7.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:6d}"
                f"  {r['cpu_us']:8.0f}"
            )
        added = row["ask"]["p50"] - row["noask"]["p50"]
        lines.append(
            f"{row['protocol']:<8} {row['work_ms']:4g}  ratio (ask/noask req/s) "
            f"{row['ratio']:.2f}, added p50 {added:.1f} ms"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve-hub", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--protocols", default="wss,https,mqtt")
    parser.add_argument("--seconds", type=float, default=4.0, help="per route, per carrier")
    parser.add_argument(
        "--work-ms",
        default="0,20,50",
        help="the route's own simulated backend call(s), milliseconds, comma-separated",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if args.serve_hub is not None:
        asyncio.run(serve_hub(args.serve_hub))
        return
    works = [float(w) for w in args.work_ms.split(",")]
    rows = asyncio.run(run(args.protocols.split(","), args.seconds, works))
    print(json.dumps(rows) if args.json else table(rows))


if __name__ == "__main__":
    main()

"""Our latency against HiveMind-core 5.x beside the peer's own floor, per carrier.

    .venv/bin/python benchmarks/bench_interop.py [--samples 30]

Starts the interop peer (tests/interop/peer.py: hub, OVOS bus, responder, broker; venv built
on first use) with trustme TLS, then measures, from sending an utterance:

* ours/<carrier> first speak: ``send_utterance`` to the first ``speak`` event (``listen``);
* ours/<carrier> ask: a whole ``ask`` (ends on ``ovos.utterance.handled``);
* floor bus: the responder straight on the OVOS bus (no hub);
* floor hm-wss / hm-https: hivemind-bus-client through the same hub (the hub's own floor).

Carriers missing from this build are listed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.interop.peer import PeerHub, peer_venv  # noqa: E402
from thalovant.carriers import AVAILABLE_CARRIERS  # noqa: E402
from thalovant.client.client import AsyncThalovantClient  # noqa: E402
from thalovant.testing import make_hub_tls  # noqa: E402


def row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{name:<26} {statistics.median(ordered):8.1f} {p95:8.1f} {len(ordered):5d}"


async def ours(
    peer: PeerHub, carrier: str, tls_context: ssl.SSLContext, state: Path, n: int
) -> list[str]:
    identity = peer.identity(peer.take())
    client = AsyncThalovantClient(
        identity, protocol=carrier, ssl_context=tls_context, noise_state_dir=state / carrier
    )
    first: list[float] = []
    asks: list[float] = []
    async with client:
        await client.ask("warm up", timeout=20)
        for i in range(n):
            async with client.listen("speak", max_events=1, timeout=20) as events:
                start = anyio.current_time()
                await client.send_utterance(f"first speak {i}")
                async for _ in events:
                    first.append((anyio.current_time() - start) * 1000)
        for i in range(n):
            start = anyio.current_time()
            await client.ask(f"ask {i}", timeout=20)
            asks.append((anyio.current_time() - start) * 1000)
    return [row(f"ours/{carrier} first speak", first), row(f"ours/{carrier} ask", asks)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tls = make_hub_tls(work / "tls")
        with PeerHub(peer_venv(), work / "peer", tls.ca, tls.ca_file) as peer:
            peer.register([f"bench-{n}" for n in range(8)])
            lines = ["what                        p50 ms   p95 ms     n"]
            for carrier in ("wss", "https", "mqtt"):
                if carrier not in AVAILABLE_CARRIERS:
                    lines.append(f"ours/{carrier:<21} carrier not in this build")
                    continue
                lines += anyio.run(ours, peer, carrier, tls.client_context, work, args.samples)
            floor_clients = [peer.take(), peer.take()]
            run = subprocess.run(
                [
                    peer.python,
                    str(ROOT / "benchmarks" / "interop_floor.py"),
                    str(peer.ports["bus"]),
                    str(peer.ports["wss"]),
                    str(peer.ports["https"]),
                    str(tls.ca_file),
                    str(args.samples),
                    floor_clients[0].access_key,
                    floor_clients[0].password,
                    floor_clients[1].access_key,
                    floor_clients[1].password,
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
                env={**os.environ, "XDG_CONFIG_HOME": str(work / "floor-xdg")},
            )
            result = next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))
            floor = json.loads(result[7:])
            for name, samples in floor.items():
                lines.append(row(f"floor {name}", samples))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

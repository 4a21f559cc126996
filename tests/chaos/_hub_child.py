"""A local hub in a child process, so the chaos suite can measure its memory from outside.

``python -m tests.chaos._hub_child <folder> [<json: LocalHub options, "limits": {...}>]``
starts a :class:`~thalovant.hub.LocalHub` with trustme TLS (CA written to ``<folder>``) and a
standalone control plane, registers clients ``c0``...``c9`` (``ak-cN``/``pw-cN``), prints
one JSON line (pid, ports, CA file) and then answers each ``stats`` line on stdin with a JSON
line (RSS, gate counters, reassembly memory); it stops when stdin closes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main(folder: Path, options: dict[str, Any]) -> None:
    from thalovant.hub import HubLimits, LocalHub
    from thalovant.hub.control.account import LocalAccount
    from thalovant.hub.control_plane import LocalControlPlane
    from thalovant.testing import make_hub_tls

    tls = make_hub_tls(folder)
    account = LocalAccount.create("dev@example.com", "correct horse battery")
    limits = HubLimits(**options.pop("limits", {}))
    async with (
        LocalHub(folder / "hub", ssl_context=tls.server_context, limits=limits, **options) as hub,
        LocalControlPlane(hub, account, ssl_context=tls.server_context, limits=limits) as control,
    ):
        for i in range(10):
            hub.register_client(f"c{i}", access_key=f"ak-c{i}", password=f"pw-c{i}")
        broker = hub.embedded_broker
        http = hub.http_server
        assert broker is not None
        assert http is not None
        gates = {
            "wss": hub.wss_server.gate,
            "https": http.gate,
            "control": control.gate,
            "mqtt": broker.client_gate,
            "mqtt_hub": broker.hub_gate,
        }
        info = {
            "pid": __import__("os").getpid(),
            "wss": hub.wss_port,
            "https": hub.https_port,
            "mqtt": broker.client_port,
            "mqtt_hub": broker.hub_port,
            "control": control.port,
            "ca_file": str(tls.ca_file),
        }
        print(json.dumps(info), flush=True)
        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            if line.strip() != "stats":
                continue
            stats = {
                "rss_kib": _rss_kib(),
                "sessions": hub.connections,
                "reassembly_used": hub.services.reassembly.used,
                "reassembly_refusals": hub.services.reassembly.refusals,
                "gates": {
                    name: {
                        "open": gate.open_connections,
                        "busiest_peer": gate.busiest_peer,
                        "accepted": gate.accepted,
                        "refused": gate.refused,
                        "evicted": gate.evicted,
                        "timed_out": gate.timed_out,
                    }
                    for name, gate in gates.items()
                },
            }
            print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    extra = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    anyio.run(main, Path(sys.argv[1]), extra)

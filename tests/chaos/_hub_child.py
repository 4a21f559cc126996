"""A local hub in a child process, for measuring its memory from outside (chaos suite).

``python -m tests.chaos._hub_child <folder> [<json options for LocalHub>]`` starts a
:class:`~thalovant.hub.LocalHub` with trustme TLS (the CA is written to ``<folder>``), a
standalone control plane on its own port, registers clients ``c0``...``c7``, prints one JSON
line (ports, pid, identities) and serves until its stdin closes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio


async def main(folder: Path, options: dict[str, Any]) -> None:
    from thalovant.hub import LocalHub
    from thalovant.hub.account import LocalAccount
    from thalovant.hub.control_server import LocalControlPlane
    from thalovant.testing import make_hub_tls

    tls = make_hub_tls(folder)
    account = LocalAccount.create("dev@example.com", "correct horse")
    async with (
        LocalHub(folder / "hub", ssl_context=tls.server_context, **options) as hub,
        LocalControlPlane(hub, account, ssl_context=tls.server_context) as control,
    ):
        identities = [
            hub.register_client(f"c{i}", access_key=f"ak-c{i}", password=f"pw-c{i}").as_dict(
                include_secrets=True
            )
            for i in range(8)
        ]
        broker = hub.embedded_broker
        info = {
            "wss": hub.wss_port,
            "https": hub.https_port,
            "mqtt": hub.mqtt_port,
            "mqtt_hub": broker.hub_port if broker is not None else 0,
            "control": control.port,
            "ca_file": str(tls.ca_file),
            "identities": identities,
        }
        print(json.dumps(info), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)


if __name__ == "__main__":
    extra = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    anyio.run(main, Path(sys.argv[1]), extra)

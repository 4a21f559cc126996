"""The harness itself: the peer hub's HTTPS plugin serves an independent client.

Proves the peer's HTTPS plugin (TLS from our test CA, clients registered by the harness) is
usable before our own HTTPS carrier is involved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio
import pytest

from .peer import HERE, PeerHub

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


async def test_peer_https_plugin_serves_hivemind_bus_client(peer: PeerHub, tmp_path: Path) -> None:
    client = peer.take()
    argv = [
        peer.python,
        str(HERE / "reverse_client.py"),
        "https",
        "https://127.0.0.1",
        str(peer.ports["https"]),
        client.access_key,
        client.password,
        str(peer.ca_file),
        "harness check",
    ]
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}
    with anyio.fail_after(90):
        run = await anyio.run_process(argv, check=False, env=env)
    out = run.stdout.decode(errors="replace")
    assert run.returncode == 0, out + run.stderr.decode(errors="replace")[-3000:]
    result = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[7:])
    assert result == {"handshake": True, "noise": True, "speak": "you said harness check, turn 1"}

"""The other direction: hivemind-bus-client (independent v3 client) against our local hub."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest

from thalovant.hub import LocalHub
from thalovant.testing import HubTLS

from .peer import HERE

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


def hub_url(hub: LocalHub, carrier: str) -> str:
    """Our hub's URL for ``carrier``."""
    url = getattr(hub, f"{carrier}_url", None)
    assert isinstance(url, str), f"the local hub serves no {carrier}"
    return url


@pytest.mark.parametrize("carrier", ["wss", "https"])
async def test_hivemind_bus_client_gets_our_speak(
    carrier: str, peer_python: str, hub_tls: HubTLS, tmp_path: Path
) -> None:
    async with LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context) as hub:
        url = urlsplit(hub_url(hub, carrier))
        identity = hub.register_client("bus-client", password="reverse-interop-Pa55-" + "x7q")
        argv = [
            peer_python,
            str(HERE / "reverse_client.py"),
            carrier,
            f"{url.scheme}://{url.hostname}",
            str(url.port),
            identity.access_key,
            identity.password,
            str(hub_tls.ca_file),
            "hello from hivemind",
        ]
        env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_DATA_HOME": str(tmp_path)}
        with anyio.fail_after(90):
            run = await anyio.run_process(argv, check=False, env={**os.environ, **env})
    out = run.stdout.decode(errors="replace")
    assert run.returncode == 0, out + run.stderr.decode(errors="replace")[-3000:]
    result = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[7:])
    assert result["handshake"] is True
    assert result["noise"] is True
    assert result["speak"]

"""Two uvicorn workers sharing one identity and its Noise key folder against HiveMind-core
over WSS (docs/architecture.md, "Several workers"): both connect, each answers an ask."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.workers.server import Service
from thalovant.hub import write_identity_file
from thalovant.testing import HubTLS

from .peer import PeerHub

pytestmark = [pytest.mark.interop, pytest.mark.anyio, pytest.mark.timeout(240)]


async def test_two_uvicorn_workers_share_one_identity(
    peer: PeerHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    identity_file = write_identity_file(
        peer.identity(peer.take()), tmp_path / "app" / "_identity.json"
    )
    service = Service("uvicorn", identity_file, hub_tls.ca_file, tmp_path / "run")
    try:
        records = await service.wait_for_workers()
        assert len({r["pid"] for r in records}) == 2
        for record in records:
            assert record.get("error") is None, record
            assert record["text"].startswith("you said tell me a joke"), record
        assert len(list((identity_file.parent / "hivemind").glob("*_noise.key"))) == 1
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for _ in range(4):
                async with http.get(f"{service.url}/ask?text=hello") as resp:
                    assert resp.status == 200, await resp.text()
                    assert (await resp.json())["text"].startswith("you said hello")
    finally:
        await service.stop()

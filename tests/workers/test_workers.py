"""Several worker processes sharing one identity and its Noise key folder, under real uvicorn
and gunicorn (subprocesses) against a local hub (docs/architecture.md, "Several workers").

Both workers make first contact at the same moment: the key file is created once under the
key store's fcntl lock, the hub pins that one client key for the access key, and both workers
answer asks; a restart reconnects pinned (KKpsk0).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import anyio
import pytest

from tests.workers.server import Service
from thalovant.hub import LocalHub
from thalovant.protocol.noise_cipher import PATTERN_KK, PATTERN_XX
from thalovant.testing import HubTLS

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]


async def _ask_many(url: str, count: int) -> set[int]:
    """``count`` concurrent asks over HTTP; every one must answer; returns the pids seen."""
    pids: set[int] = set()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def one() -> None:
            async with http.get(f"{url}/ask") as resp:
                assert resp.status == 200, await resp.text()
                body = await resp.json()
                assert body["text"]
                pids.add(body["pid"])

        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(one)
    return pids


def _check_one_key(hub: LocalHub, identity_file: Path) -> None:
    keys = list((identity_file.parent / "hivemind").glob("*_noise.key"))
    assert len(keys) == 1, keys
    records = hub.registry.records()
    assert len(records) == 1
    assert records[0].client_key is not None  # the one pinned client key


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
async def test_two_workers_share_one_identity(
    hub: LocalHub, hub_tls: HubTLS, identity_file: Path, tmp_path: Path, server: str
) -> None:
    first = Service(server, identity_file, hub_tls.ca_file, tmp_path / "run1")
    try:
        records = await first.wait_for_workers()
        assert len({r["pid"] for r in records}) == 2
        assert all(r.get("error") is None and r["text"] for r in records), records
        assert {r["pattern"] for r in records} <= {PATTERN_XX, PATTERN_KK}
        _check_one_key(hub, identity_file)
        await _ask_many(first.url, 32)
    finally:
        await first.stop()
    pinned = hub.registry.records()[0].client_key

    second = Service(server, identity_file, hub_tls.ca_file, tmp_path / "run2")
    try:
        records = await second.wait_for_workers()
        assert [r["pattern"] for r in records] == [PATTERN_KK, PATTERN_KK], records
        _check_one_key(hub, identity_file)
        assert hub.registry.records()[0].client_key == pinned
        await _ask_many(second.url, 16)
    finally:
        await second.stop()


async def test_gunicorn_preload_gives_a_clear_error(
    hub: LocalHub, hub_tls: HubTLS, identity_file: Path, tmp_path: Path
) -> None:
    """A client opened at import time in the gunicorn master fails at once in each worker."""
    service = Service("gunicorn", identity_file, hub_tls.ca_file, tmp_path / "run", preload=True)
    try:
        with anyio.fail_after(60):  # the whole answer, far below any ask or connect timeout
            records = await service.wait_for_workers()
    finally:
        await service.stop()
    for record in records:
        assert record["error"] == "ThalovantRuntimeError", record
        assert "opened in the parent process" in record["message"]
        assert "lifespan" in record["message"]

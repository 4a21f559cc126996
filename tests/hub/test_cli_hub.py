"""``thalovant hub`` as a real process: it serves, hands out an identity, stops on Ctrl-C."""

from __future__ import annotations

import signal
import stat
import sys
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from thalovant.client.client import AsyncThalovantClient
from thalovant.hub.servers.tls import DevCertificates
from thalovant.identity.keystore import NoiseKeyStore
from thalovant.identity.model import ThalovantIdentity

from .raw_client import RawClient, spoken

pytestmark = pytest.mark.anyio


async def read_banner(process: Process) -> dict[str, str]:
    assert process.stdout is not None
    fields: dict[str, str] = {}
    buffer = ""
    with anyio.fail_after(20):
        async for chunk in TextReceiveStream(process.stdout):
            buffer += chunk
            if "Press Ctrl-C to stop." in buffer:
                break
    for line in buffer.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep:
            fields[key] = value.strip().split()[0]
    return fields


async def test_hub_command_serves_until_ctrl_c(tmp_path: Path) -> None:
    state, identity_path = tmp_path / "state", tmp_path / "me.identity.json"
    command = [sys.executable, "-m", "thalovant.cli", "hub", "--port", "0"]
    command += ["--state-dir", str(state), "--identity-out", str(identity_path)]
    command += ["--tls-self-signed", "--name", "kitchen"]
    async with await anyio.open_process(command) as process:
        try:
            banner = await read_banner(process)
            url = banner["WSS URL"]
            assert url.startswith("wss://127.0.0.1:")
            assert banner["identity"] == str(identity_path)
            assert stat.S_IMODE(identity_path.stat().st_mode) == 0o600
            identity = ThalovantIdentity.from_file(identity_path)
            assert (identity.default_master, identity.site_id) == (url, "kitchen")
            # TLS verified against the development CA the hub printed.
            certs = DevCertificates(state / "tls")
            assert banner["TLS CA"] == str(certs.ca_file)
            https_url = banner["HTTPS URL"]
            assert https_url.startswith("https://127.0.0.1:")
            assert identity.data_plane_endpoints.https == https_url
            # The same identity over HTTPS (SDK client), then over WSS with the same key.
            async with AsyncThalovantClient(
                identity,
                protocol="https",
                ssl_context=certs.client_context(),
                noise_state_dir=tmp_path / "noise",
            ) as over_https:
                with anyio.fail_after(10):
                    reply = await over_https.ask("hello")
            assert reply.text == "Hello! I am your local Thalovant hub."
            client = await RawClient.connect(
                url,
                access_key=identity.access_key,
                password=identity.password,
                ssl=certs.client_context(),
                site_id=identity.site_id,
                static_private=NoiseKeyStore(tmp_path / "noise").static_private_key(),
            )
            try:
                assert spoken(await client.ask("hello")) == [
                    "Hello! I am your local Thalovant hub."
                ]
                # The fallback skill is on: an unmatched utterance gets a helpful answer.
                (fallback,) = spoken(await client.ask("reticulate the splines"))
                assert fallback.startswith("I heard 'reticulate the splines', but no skill")
            finally:
                await client.aclose()
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(10):
                assert await process.wait() == 130
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_hub_command_no_fallback(tmp_path: Path) -> None:
    state, identity_path = tmp_path / "state", tmp_path / "me.identity.json"
    command = [sys.executable, "-m", "thalovant.cli", "hub", "--state-dir", str(state)]
    command += ["--identity-out", str(identity_path), "--no-fallback", "--broker", "none"]
    async with await anyio.open_process(command) as process:
        try:
            banner = await read_banner(process)
            identity = ThalovantIdentity.from_file(identity_path)
            client = await RawClient.connect(
                banner["WSS URL"],
                access_key=identity.access_key,
                password=identity.password,
                site_id=identity.site_id,
            )
            try:
                messages = await client.ask("reticulate the splines")
            finally:
                await client.aclose()
            assert [m.type for m in messages] == ["ovos.intent.unmatched", "ovos.utterance.handled"]
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(10):
                assert await process.wait() == 130
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

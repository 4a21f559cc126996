"""``thalovant hub`` serves the local control plane; ``thalovant demo`` runs the quickstart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.hub.control.account import DEMO_ACCOUNT_FILE, DEMO_EMAIL
from thalovant.hub.servers.tls import DevCertificates

SCRIPT = Path(sys.executable).with_name("thalovant")


async def read_banner(process: Process) -> dict[str, str]:
    """The ``key: value`` lines ``thalovant hub`` prints at start (first word of each)."""
    assert process.stdout is not None
    buffer = ""
    with anyio.fail_after(20):
        async for chunk in TextReceiveStream(process.stdout):
            buffer += chunk
            if "Press Ctrl-C to stop." in buffer:
                break
    fields: dict[str, str] = {}
    for line in buffer.splitlines():
        key, sep, value = line.strip().partition(": ")
        if sep:
            fields[key] = value.strip().split()[0]
    return fields


def test_demo_console_script_runs_the_quickstart(tmp_path: Path) -> None:
    assert SCRIPT.exists(), "the thalovant console script is installed in the venv"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    began = time.monotonic()
    done = subprocess.run(
        [str(SCRIPT), "demo"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in (
        "list public hubs",
        "sign in as demo@thalovant.local",
        "create a client identity",
        "Data plane over wss",
        "ask 'Tell me a short clean joke.'",
        "You mentioned blue: your favourite colour is blue.",
        "Replying over wss: your request came in over wss.",
        "Replying over mqtt: your request came in over mqtt.",
        "Hello! I am your local Thalovant hub.",
        "You chose Coffee.",
        "Got barcode: 4006381333931",
        "Done: ",
    ):
        assert line in out, line
    assert "FAILED" not in out
    assert took < 10, f"the demo took {took:.1f} s"
    assert not list(tmp_path.glob("config/**/*")), "the demo leaves no state behind"


@pytest.mark.anyio
async def test_hub_command_serves_the_control_plane(tmp_path: Path) -> None:
    state = tmp_path / "state"
    command = [sys.executable, "-m", "thalovant.cli", "hub", "--state-dir", str(state)]
    command += ["--tls-self-signed", "--account-email", "me@example.test"]
    command += ["--account-password", "s3cret-pass"]
    async with await anyio.open_process(command) as process:
        try:
            banner = await read_banner(process)
            assert banner["account"] == "me@example.test"
            certs = DevCertificates(state / "tls")
            async with AsyncThalovantControlPlane(
                banner["API URL"], ssl_context=certs.client_context()
            ) as api:
                hub = (await api.list_public_hubs())["data"][0]
                assert hub["data_plane_endpoints"]["wss"] == banner["WSS URL"]
                await api.login("me@example.test", "s3cret-pass")
                result = await api.create_client_identity(hub["id"], name="cli")
                assert result.identity.endpoint_for("wss") == banner["WSS URL"]
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(10):
                assert await process.wait() == 130
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


@pytest.mark.anyio
async def test_hub_command_prints_the_demo_account(tmp_path: Path) -> None:
    state = tmp_path / "state"
    command = [sys.executable, "-m", "thalovant.cli", "hub", "--state-dir", str(state)]
    async with await anyio.open_process(command) as process:
        try:
            banner = await read_banner(process)
            assert banner["account"] == DEMO_EMAIL
            assert (state / DEMO_ACCOUNT_FILE).stat().st_mode & 0o077 == 0
            assert banner["API URL"].startswith("http://127.0.0.1:")  # loopback, no TLS asked
            process.send_signal(signal.SIGINT)
            with anyio.fail_after(10):
                assert await process.wait() == 130
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

"""The CLI as a subprocess against a real local hub (real TLS from trustme)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.testing import HubTLS

CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@dataclass
class Done:
    """A finished CLI run."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli_env(tmp_path: Path, ca_file: Path | None) -> dict[str, str]:
    """The environment of a CLI run: a private HOME/XDG, trusting ``ca_file`` only."""
    env = {
        k: v for k, v in os.environ.items() if k not in CA_VARS and not k.startswith("THALOVANT_")
    }
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    env.update(XDG_STATE_HOME=str(home / ".state"), XDG_CACHE_HOME=str(home / ".cache"))
    if ca_file is not None:
        env["SSL_CERT_FILE"] = str(ca_file)
    return env


def write_identity(path: Path, identity: ThalovantIdentity, **changes: Any) -> Path:
    """An identity file (0600) with ``changes`` applied to its fields."""
    data = identity.as_dict(include_secrets=True)
    data.update(changes)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_cli(
    args: Sequence[str], env: dict[str, str], *, stdin: str = "", limit: float = 90
) -> Done:
    """Run ``python -m thalovant.cli ARGS`` without blocking the hub's loop."""
    with anyio.fail_after(limit):
        done = await anyio.run_process(
            [sys.executable, "-m", "thalovant.cli", *args],
            input=stdin.encode(),
            env=env,
            check=False,
        )
    return Done(done.returncode, done.stdout.decode(), done.stderr.decode())


def run_cli_sync(args: Sequence[str], env: dict[str, str]) -> Done:
    """``run_cli`` for tests with no hub in the process."""
    done = subprocess.run(
        [sys.executable, "-m", "thalovant.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


@dataclass
class CliHub:
    """A running local hub, an identity file of one of its clients, and a CLI environment."""

    hub: LocalHub
    identity: ThalovantIdentity
    identity_file: Path
    env: dict[str, str]
    tmp: Path

    async def run(self, *args: str, stdin: str = "") -> Done:
        return await run_cli(["-i", str(self.identity_file), *args], self.env, stdin=stdin)


@pytest.fixture
async def cli_hub(anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path) -> AsyncIterator[CliHub]:
    async with LocalHub(
        tmp_path / "hub", ssl_context=hub_tls.server_context, fallback=False
    ) as hub:
        identity = hub.register_client("kiosk")
        path = write_identity(tmp_path / "kiosk.identity.json", identity)
        yield CliHub(hub, identity, path, cli_env(tmp_path, hub_tls.ca_file), tmp_path)
